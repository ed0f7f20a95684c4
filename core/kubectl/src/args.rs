//! Command lines: shell-like words, then kubectl's flags (`-n ns`, `--namespace=ns`,
//! `-o wide`, `-l app=web`, `-A`, `--replicas=3`, …) apart from positional words.

use std::collections::BTreeMap;

/// Splits a line into words as a shell would: spaces separate, quotes group, `\` escapes.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    apimachinery::shell::split(line, None)
}

/// A parsed command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub positional: Vec<String>,
    /// Where `--` stood among the positional words: what follows is a command's, not
    /// kubectl's (`exec POD -- ls -l`).
    pub dashes: Option<usize>,
    /// Every flag as given, repeated ones included (`--from-literal=a=1 --from-literal=b=2`).
    pub all: Vec<(String, String)>,
    /// Flags by long name (`namespace`, `output`, `selector`, `replicas`, …).
    pub flags: BTreeMap<String, String>,
}

impl Parsed {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    /// Every value of a flag that may repeat, in order.
    pub fn flag_all(&self, name: &str) -> Vec<&str> {
        self.all
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }

    pub fn namespace(&self) -> &str {
        self.flag("namespace").unwrap_or("default")
    }

    pub fn all_namespaces(&self) -> bool {
        self.flag("all-namespaces").is_some_and(|v| v != "false")
    }
}

/// Short flags and what they stand for; the bool ones take no value.
const SHORT: &[(&str, &str, bool)] = &[
    ("n", "namespace", false),
    ("o", "output", false),
    ("l", "selector", false),
    ("A", "all-namespaces", true),
    ("c", "container", false),
    ("f", "filename", false),
    ("w", "watch", true),
    ("p", "patch", false),
    ("i", "stdin", true),
    ("t", "tty", true),
];

/// Long flags that take no value (`--force`, `--ignore-daemonsets`).
const BOOL_LONG: &[&str] = &[
    "all-namespaces",
    "ignore-daemonsets",
    "delete-emptydir-data",
    "force",
    "overwrite",
    "show-labels",
    "show-managed-fields",
    "server-side",
    "command",
    "force-conflicts",
    "no-headers",
    "all",
    "watch",
    "previous",
];

pub fn parse(words: &[&str]) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        if w == "--" {
            p.dashes = Some(p.positional.len());
            p.positional
                .extend(words[i..].iter().map(|w| w.to_string()));
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (long.to_string(), None),
            };
            let value = match value {
                Some(v) => v,
                None if BOOL_LONG.contains(&name.as_str()) => "true".into(),
                None => {
                    let v = words
                        .get(i)
                        .ok_or_else(|| format!("flag needs an argument: --{name}"))?;
                    i += 1;
                    v.to_string()
                }
            };
            p.all.push((name.clone(), value.clone()));
            p.flags.insert(name, value);
        } else if let Some(short) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            // The first character is the flag (not the first byte: `-é` must not split a char).
            let first = short.chars().next().map_or(0, char::len_utf8);
            let (key, inline) = short.split_at(first);
            // `-p` is `--previous` to `logs`, `--patch` to `patch`.
            let logs = p.positional.first().is_some_and(|v| v == "logs");
            let found = if logs && key == "p" {
                Some(&("p", "previous", true))
            } else {
                SHORT.iter().find(|(k, _, _)| *k == key)
            };
            let Some((_, name, boolean)) = found else {
                return Err(format!("unknown shorthand flag: '{key}' in {w}"));
            };
            let value = if *boolean {
                "true".to_string()
            } else if !inline.is_empty() {
                inline.trim_start_matches('=').to_string()
            } else {
                let v = words
                    .get(i)
                    .ok_or_else(|| format!("flag needs an argument: '{key}' in -{key}"))?;
                i += 1;
                v.to_string()
            };
            p.all.push((name.to_string(), value.clone()));
            p.flags.insert(name.to_string(), value);
        } else {
            p.positional.push(w.to_string());
        }
    }
    Ok(p)
}
