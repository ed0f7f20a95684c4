//! The reader: a recursive descent over the text, one node at a time. Block collections are
//! told apart by the column their entries start at; a node on its own line belongs to the
//! collection whose column it is deeper than. This file holds the cursor, documents, nodes
//! and block collections; `scalar.rs`, `flow.rs` and `resolve.rs` the rest.

use serde_json::{Map, Number, Value};

use super::Error;

mod flow;
mod resolve;
mod scalar;

use resolve::{apply_tag, float, int, plain_value};

/// Where a node starts: on a line of its own, or after `key: ` or `- ` on the same line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Line,
    AfterKey,
    AfterDash,
}

pub struct Parser {
    b: Vec<u8>,
    pos: usize,
    line: usize,
    line_start: usize,
    /// This document's anchors, with how many nodes each stands for (a later one of the
    /// same name wins). A list: documents have few.
    anchors: Vec<(String, Value, usize)>,
    /// Collections open around the current node.
    depth: usize,
    /// Nodes copied by aliases so far, against [`Parser::alias_budget`].
    expanded: usize,
}

/// Deeper nesting is refused rather than risking the stack (serde_yaml's limit too).
const MAX_DEPTH: usize = 128;

#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    line: usize,
    line_start: usize,
}

fn blank(c: Option<u8>) -> bool {
    matches!(c, None | Some(b' ' | b'\t' | b'\n'))
}

impl Parser {
    pub fn new(text: &str) -> Parser {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Parser {
            b: text.replace("\r\n", "\n").into_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            anchors: Vec::new(),
            depth: 0,
            expanded: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
            self.line_start = self.pos + 1;
        }
        self.pos += 1;
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
        }
    }

    fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.line = m.line;
        self.line_start = m.line_start;
    }

    fn err(&self, problem: impl Into<String>) -> Error {
        let column = String::from_utf8_lossy(&self.b[self.line_start..self.pos.min(self.b.len())])
            .chars()
            .count()
            + 1;
        Error {
            line: self.line,
            column,
            problem: problem.into(),
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.b[from..to]).into_owned()
    }

    fn skip_inline_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    /// Past spaces, a comment, and the end of the line (not past the next line's content).
    fn at_line_end(&mut self) -> bool {
        self.skip_inline_space();
        if self.peek() == Some(b'#') {
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.bump();
            }
        }
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Moves to the next content: past blank lines and comment lines. False at the end.
    fn skip_to_content(&mut self) -> bool {
        loop {
            if !self.at_line_end() {
                return true;
            }
            if self.peek().is_none() {
                return false;
            }
            self.bump();
        }
    }

    /// `---` or `...` at the start of a line.
    fn at_document_marker(&self) -> bool {
        self.col() == 0
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && blank(self.at(3))
    }

    /// The next document of the stream; `None` at its end.
    pub fn next_document(&mut self) -> Option<Result<Value, Error>> {
        // Anchors name nodes of their own document only.
        self.anchors.clear();
        loop {
            if !self.skip_to_content() {
                return None;
            }
            while self.col() == 0 && self.peek() == Some(b'%') {
                while !matches!(self.peek(), None | Some(b'\n')) {
                    self.bump();
                }
                self.skip_to_content();
            }
            if !self.at_document_marker() || self.b[self.pos] == b'-' {
                break;
            }
            // A lone `...`: the end of a document already read.
            self.pos += 3;
        }
        if self.at_document_marker() {
            self.pos += 3;
        }
        let value = if self.at_line_end() {
            if !self.skip_to_content() || self.at_document_marker() {
                Ok(Value::Null)
            } else {
                self.node(-1, Place::Line)
            }
        } else {
            self.node(-1, Place::AfterDash)
        };
        let value = value.and_then(|v| {
            if self.skip_to_content() && !self.at_document_marker() {
                Err(self.err("did not find expected <document start>"))
            } else {
                Ok(v)
            }
        });
        if value.is_err() {
            // Nothing after a syntax error can be trusted.
            self.pos = self.b.len();
        }
        Some(value)
    }

    /// A node deeper than `parent` (the column of the collection it belongs to).
    fn node(&mut self, parent: i64, place: Place) -> Result<Value, Error> {
        self.enter()?;
        let node = self.node_at(parent, place);
        self.depth -= 1;
        node
    }

    /// One level deeper, or an error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("exceeded the maximum nesting depth of {MAX_DEPTH}")));
        }
        self.depth += 1;
        Ok(())
    }

    /// How many nodes aliases may copy: a hundred times the text's length (as serde_yaml
    /// allows), so a few lines of aliases of aliases cannot build billions of nodes.
    fn alias_budget(&self) -> usize {
        self.b.len().max(1000) * 100
    }

    /// The value an alias (`*name`) stands for.
    fn alias(&mut self, name: &str) -> Result<Value, Error> {
        let Some((_, value, size)) = self.anchors.iter().rev().find(|(n, ..)| n == name) else {
            return Err(self.err(format!("found undefined alias {name:?}")));
        };
        let (value, size) = (value.clone(), *size);
        self.expanded += size;
        if self.expanded > self.alias_budget() {
            return Err(self.err("repetition limit exceeded: aliases copy too many nodes"));
        }
        Ok(value)
    }

    fn node_at(&mut self, parent: i64, place: Place) -> Result<Value, Error> {
        let (anchor, tag) = self.properties()?;
        if (anchor.is_some() || tag.is_some()) && self.at_line_end() {
            // `key: &anchor` with the node on the following lines.
            let deeper = self.skip_to_content()
                && !self.at_document_marker()
                && (self.col() as i64 > parent
                    || (place == Place::AfterKey
                        && self.col() as i64 == parent
                        && self.peek() == Some(b'-')
                        && blank(self.at(1))));
            if !deeper {
                return self.finish(anchor, tag, Value::Null);
            }
            if self.col() as i64 == parent {
                let v = self.sequence(parent as usize)?;
                return self.finish(anchor, tag, v);
            }
            return self.node_body(parent, Place::Line, anchor, tag);
        }
        self.node_body(parent, place, anchor, tag)
    }

    /// The anchor and tag before a node (`&base`, `!!str`), in either order.
    fn properties(&mut self) -> Result<(Option<String>, Option<String>), Error> {
        let (mut anchor, mut tag) = (None, None);
        loop {
            match self.peek() {
                Some(b'&') => anchor = Some(self.name()?),
                Some(b'!') => tag = Some(self.tag()?),
                _ => return Ok((anchor, tag)),
            }
        }
    }

    /// A node's value with its tag applied, remembered under its anchor.
    fn finish(
        &mut self,
        anchor: Option<String>,
        tag: Option<String>,
        value: Value,
    ) -> Result<Value, Error> {
        let value = apply_tag(tag.as_deref(), value).map_err(|p| self.err(p))?;
        if let Some(a) = anchor {
            let size = nodes(&value);
            self.anchors.push((a, value.clone(), size));
        }
        Ok(value)
    }

    fn node_body(
        &mut self,
        parent: i64,
        place: Place,
        anchor: Option<String>,
        tag: Option<String>,
    ) -> Result<Value, Error> {
        let c = self.peek();
        let value = match c {
            Some(b'*') => {
                self.bump();
                let start = self.pos;
                while !blank(self.peek()) && !matches!(self.peek(), Some(b',' | b']' | b'}')) {
                    self.bump();
                }
                let name = self.text(start, self.pos);
                let v = self.alias(&name)?;
                self.skip_inline_space();
                if self.peek() == Some(b':') && blank(self.at(1)) {
                    return Err(self.err("an alias as a mapping key is not supported"));
                }
                v
            }
            Some(b'-') if blank(self.at(1)) => {
                if place == Place::AfterKey {
                    return Err(self.err("block sequence entries are not allowed in this context"));
                }
                self.sequence(self.col())?
            }
            Some(b'[' | b'{') => {
                let v = self.flow()?;
                self.skip_inline_space();
                if self.peek() == Some(b':') && blank(self.at(1)) {
                    return Err(self.err("a collection as a mapping key is not supported"));
                }
                v
            }
            Some(b'|' | b'>') => Value::String(self.block_scalar(parent)?),
            Some(b'?') if blank(self.at(1)) => {
                return Err(self.err("complex mapping keys (?) are not supported"))
            }
            _ => {
                if self.key_here()? {
                    if place == Place::AfterKey {
                        return Err(self.err("mapping values are not allowed in this context"));
                    }
                    self.mapping(self.col())?
                } else {
                    match c {
                        Some(b'\'' | b'"') => Value::String(self.quoted()?),
                        _ => plain_value(self.plain(parent)?, tag.as_deref()),
                    }
                }
            }
        };
        self.finish(anchor, tag, value)
    }

    /// `&name` or `*name`: the name after the indicator.
    fn name(&mut self) -> Result<String, Error> {
        self.bump();
        let start = self.pos;
        while !blank(self.peek()) && !matches!(self.peek(), Some(b',' | b']' | b'}' | b'[' | b'{'))
        {
            self.bump();
        }
        if self.pos == start {
            return Err(self.err("did not find expected alphabetic or numeric character"));
        }
        let name = self.text(start, self.pos);
        self.skip_inline_space();
        Ok(name)
    }

    fn tag(&mut self) -> Result<String, Error> {
        let start = self.pos;
        while !blank(self.peek()) {
            self.bump();
        }
        let tag = self.text(start, self.pos);
        self.skip_inline_space();
        Ok(tag)
    }

    /// Whether a mapping key (`name:`, `"a b":`) starts here. Reads nothing.
    fn key_here(&mut self) -> Result<bool, Error> {
        let m = self.mark();
        let found = self.key().is_ok_and(|_| {
            self.skip_inline_space();
            self.peek() == Some(b':') && blank(self.at(1))
        });
        self.reset(m);
        Ok(found)
    }

    /// A key: quoted, or plain up to `: `, ` #` or the end of the line.
    fn key(&mut self) -> Result<String, Error> {
        match self.peek() {
            Some(b'\'' | b'"') => self.quoted(),
            _ => {
                let start = self.pos;
                let mut end = self.pos;
                loop {
                    match self.peek() {
                        None | Some(b'\n') => break,
                        Some(b':') if blank(self.at(1)) => break,
                        Some(b'#') if self.pos > start && blank(Some(self.b[self.pos - 1])) => {
                            break
                        }
                        Some(b' ' | b'\t') => self.bump(),
                        _ => {
                            self.bump();
                            end = self.pos;
                        }
                    }
                }
                self.pos = end;
                Ok(self.text(start, end))
            }
        }
    }

    /// A block mapping whose keys start at `col`.
    fn mapping(&mut self, col: usize) -> Result<Value, Error> {
        let mut map = Map::new();
        loop {
            let key_at = self.mark();
            let key = self.key()?;
            self.skip_inline_space();
            if !(self.peek() == Some(b':') && blank(self.at(1))) {
                return Err(self.err("could not find expected ':'"));
            }
            self.bump();
            let value = if self.at_line_end() {
                if !self.skip_to_content() || self.at_document_marker() {
                    Value::Null
                } else if self.col() > col {
                    self.node(col as i64, Place::Line)?
                } else if self.col() == col && self.peek() == Some(b'-') && blank(self.at(1)) {
                    self.sequence(col)?
                } else {
                    Value::Null
                }
            } else {
                self.node(col as i64, Place::AfterKey)?
            };
            if map.contains_key(&key) {
                let here = self.mark();
                self.reset(key_at);
                let e = self.err(format!("mapping key {key:?} already defined"));
                self.reset(here);
                return Err(e);
            }
            map.insert(key, value);
            if !self.skip_to_content() || self.at_document_marker() || self.col() < col {
                break;
            }
            if self.col() > col {
                return Err(self.err("did not find expected key"));
            }
            if self.peek() == Some(b'-') && blank(self.at(1)) {
                // An indentless sequence belongs to a key; here it follows a complete entry.
                return Err(self.err("did not find expected key"));
            }
        }
        Ok(Value::Object(map))
    }

    /// A block sequence whose `-` indicators are at `col`.
    fn sequence(&mut self, col: usize) -> Result<Value, Error> {
        let mut items = Vec::new();
        loop {
            self.bump();
            let item = if self.at_line_end() {
                if !self.skip_to_content() || self.at_document_marker() || self.col() <= col {
                    Value::Null
                } else {
                    self.node(col as i64, Place::Line)?
                }
            } else {
                self.node(col as i64, Place::AfterDash)?
            };
            items.push(item);
            if !self.skip_to_content() || self.at_document_marker() || self.col() < col {
                break;
            }
            if self.col() > col {
                return Err(self.err("did not find expected '-' indicator"));
            }
            if !(self.peek() == Some(b'-') && blank(self.at(1))) {
                break;
            }
        }
        Ok(Value::Array(items))
    }
}

/// How many nodes a value holds (what an alias of it copies).
fn nodes(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(nodes).sum::<usize>(),
        _ => 1,
    }
}

/// What a plain scalar means, as kubectl and kube-apiserver read it (sigs.k8s.io/yaml over
/// go-yaml v2: YAML 1.1's resolution): `yes`, `on`, `y` are true and `no`, `off`, `n` false;
/// `012` is octal; `1_000` is a thousand.
pub(super) fn resolve(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    // Digit separators, in numbers only.
    let numeric = s
        .trim_start_matches(['-', '+'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let plain = if numeric && s.contains('_') {
        std::borrow::Cow::Owned(s.replace('_', ""))
    } else {
        std::borrow::Cow::Borrowed(s)
    };
    if let Some(n) = int(&plain) {
        return Value::Number(n);
    }
    if let Some(f) = float(&plain) {
        return Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
    Value::String(s.to_string())
}

/// `012`: digits with a leading zero are a string in YAML 1.2, not octal.
pub(super) fn leading_zero_digits(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}
