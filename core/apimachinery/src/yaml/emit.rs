//! The writer: block style, two-space indentation, sequences under a key not indented (as
//! kubectl prints them), scalars in libyaml's choice of style.

use serde_json::{Map, Value};

/// `value` as a YAML document.
pub fn to_string(value: &Value) -> String {
    let mut w = Writer { out: String::new() };
    match value {
        Value::Object(m) if !m.is_empty() => w.mapping(m, 0, false),
        Value::Array(s) if !s.is_empty() => w.sequence(s, 0, false),
        other => w.inline(other, 2, true),
    }
    w.out
}

struct Writer {
    out: String,
}

impl Writer {
    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// Entries at column `indent`; the first one on the current line when `compact` (after
    /// `- `).
    fn mapping(&mut self, m: &Map<String, Value>, indent: usize, compact: bool) {
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 || !compact {
                self.indent(indent);
            }
            self.scalar(k, indent + 2, true);
            self.out.push(':');
            match v {
                Value::Object(child) if !child.is_empty() => {
                    self.out.push('\n');
                    self.mapping(child, indent + 2, false);
                }
                Value::Array(items) if !items.is_empty() => {
                    self.out.push('\n');
                    self.sequence(items, indent, false);
                }
                other => {
                    self.out.push(' ');
                    self.inline(other, indent + 2, true);
                }
            }
        }
    }

    fn sequence(&mut self, items: &[Value], indent: usize, compact: bool) {
        for (i, v) in items.iter().enumerate() {
            if i > 0 || !compact {
                self.indent(indent);
            }
            self.out.push_str("- ");
            match v {
                Value::Object(child) if !child.is_empty() => self.mapping(child, indent + 2, true),
                Value::Array(inner) if !inner.is_empty() => self.sequence(inner, indent + 2, true),
                other => self.inline(other, indent + 2, true),
            }
        }
    }

    /// A scalar or an empty collection, ending its line (unless `eol` is false).
    fn inline(&mut self, v: &Value, indent: usize, eol: bool) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.out.push_str(&n.to_string()),
            Value::String(s) => {
                if self.scalar(s, indent, false) {
                    return;
                }
            }
            Value::Array(_) => self.out.push_str("[]"),
            Value::Object(_) => self.out.push_str("{}"),
        }
        if eol {
            self.out.push('\n');
        }
    }

    /// Writes a string in the style libyaml would pick; true when it wrote a block scalar
    /// (which ends its own lines).
    fn scalar(&mut self, s: &str, indent: usize, key: bool) -> bool {
        let a = Analysis::of(s);
        let style = if s.contains('\n') {
            if a.block_allowed && !key {
                Style::Literal
            } else {
                Style::Double
            }
        } else if reads_as_other_type(s) {
            if a.single_quoted_allowed {
                Style::Single
            } else {
                Style::Double
            }
        } else if a.block_plain_allowed && !s.is_empty() {
            Style::Plain
        } else if a.single_quoted_allowed {
            Style::Single
        } else {
            Style::Double
        };
        match style {
            Style::Plain => self.out.push_str(s),
            Style::Single => {
                self.out.push('\'');
                self.out.push_str(&s.replace('\'', "''"));
                self.out.push('\'');
            }
            Style::Double => self.double_quoted(s),
            Style::Literal => {
                self.literal(s, indent);
                return true;
            }
        }
        false
    }

    fn double_quoted(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let escape = match c {
                '\0' => Some('0'),
                '\u{7}' => Some('a'),
                '\u{8}' => Some('b'),
                '\t' => Some('t'),
                '\n' => Some('n'),
                '\u{b}' => Some('v'),
                '\u{c}' => Some('f'),
                '\r' => Some('r'),
                '\u{1b}' => Some('e'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                '\u{85}' => Some('N'),
                '\u{2028}' => Some('L'),
                '\u{2029}' => Some('P'),
                _ => None,
            };
            match escape {
                Some(e) => {
                    self.out.push('\\');
                    self.out.push(e);
                }
                None if !printable(c) || c == '\u{feff}' => {
                    let n = u32::from(c);
                    let hex = if n <= 0xff {
                        format!("\\x{n:02X}")
                    } else if n <= 0xffff {
                        format!("\\u{n:04X}")
                    } else {
                        format!("\\U{n:08X}")
                    };
                    self.out.push_str(&hex);
                }
                None => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    /// `|`, with an indentation hint when the text starts with a space or a break, and `-`
    /// or `+` when it does not end with exactly one line break.
    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with([' ', '\n']) {
            self.out.push('2');
        }
        if !s.ends_with('\n') {
            self.out.push('-');
        } else if s == "\n" || s.ends_with("\n\n") {
            self.out.push('+');
        }
        self.out.push('\n');
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            if !line.is_empty() {
                self.indent(indent);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }
}

enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Whether a plain `s` would read back as something other than this string (`true`, `12`,
/// `~`, `012`): such strings are quoted.
fn reads_as_other_type(s: &str) -> bool {
    !matches!(super::parse::resolve(s), Value::String(_)) || super::parse::leading_zero_digits(s)
}

/// libyaml's notion of printable: no control characters but the line feed.
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds in a scalar (block context only).
struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    fn of(s: &str) -> Analysis {
        if s.is_empty() {
            return Analysis {
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let chars: Vec<char> = s.chars().collect();
        let space = |c: char| c == ' ';
        let brk = |c: char| matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        let blankz = |c: Option<&char>| c.is_none_or(|&c| c == ' ' || c == '\t' || brk(c));
        let mut block_indicators = s.starts_with("---") || s.starts_with("...");
        let (mut special, mut line_breaks) = (false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = blankz(chars.get(i + 1));
            if i == 0 {
                if "#,[]{}&*!|>'\"%@`".contains(c)
                    || (matches!(c, '?' | ':' | '-') && followed_by_whitespace)
                {
                    block_indicators = true;
                }
            } else if (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace) {
                block_indicators = true;
            }
            if !printable(c) || c == '\u{feff}' {
                special = true;
            }
            let last = i + 1 == chars.len();
            if brk(c) {
                line_breaks = true;
            }
            if space(c) {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if brk(c) {
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = blankz(Some(&c));
        }
        let mut a = Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special {
            a = Analysis {
                block_plain_allowed: false,
                single_quoted_allowed: false,
                block_allowed: false,
            };
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}
