//! YAML as Kubernetes manifests use it, to and from `serde_json::Value`: block and flow
//! collections, plain, quoted and block scalars, comments, anchors and aliases, several
//! documents in one stream.
//!
//! Written here rather than taken from `serde_yaml` (a libyaml port) because the page ships
//! this code: the YAML a manifest needs costs a tenth of the bytes. What it reads and writes is
//! checked against `serde_yaml` on every manifest, scenario and stored object in the repository
//! (`tests/integration/yaml.rs`).
//!
//! Plain scalars resolve as kubectl reads them — sigs.k8s.io/yaml over go-yaml v2, YAML 1.1's
//! rules: `yes`/`no`, `on`/`off`, `y`/`n` are booleans, `012` is octal (10), `1_000` a
//! thousand, besides `true`, `null`, `~`, `12`, `0x1F`, `1.5e3` (serde_yaml, the check, reads
//! YAML 1.2, where those stay strings: the check knows the difference). Emitting follows libyaml's choices (plain when it
//! reads back the same, else single- or double-quoted, `|` for multi-line text, lines folded
//! past 80 columns), so output is what `kubectl get -o yaml` users know.

mod emit;
mod parse;

use serde_json::Value;

pub use emit::to_string;

/// A syntax error, with the 1-based line and column where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub column: usize,
    pub problem: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As Go's YAML library words it: `line 3: mapping values are not allowed …`.
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for Error {}

/// The documents of a stream (`---` between them), one at a time; an empty document is
/// `Null`. After an error, nothing more.
pub fn documents(text: &str) -> impl Iterator<Item = Result<Value, Error>> {
    let mut parser = parse::Parser::new(text);
    std::iter::from_fn(move || parser.next_document())
}

/// Every document of a stream.
pub fn from_str_multi(text: &str) -> Result<Vec<Value>, Error> {
    documents(text).collect()
}

/// The one document of `text` (`Null` when there is none).
pub fn from_str(text: &str) -> Result<Value, Error> {
    let mut docs = from_str_multi(text)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        _ => Err(Error {
            line: 1,
            column: 1,
            problem: "expected one document, found several (separated by ---)".into(),
        }),
    }
}

#[cfg(test)]
mod tests;
