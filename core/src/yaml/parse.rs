//! The reader: a recursive descent over the text, one node at a time. Block collections are
//! told apart by the column their entries start at; a node on its own line belongs to the
//! collection whose column it is deeper than.

use serde_json::{Map, Number, Value};

use super::Error;

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

    /// A plain scalar in block context, continued on deeper lines (folded with spaces).
    fn plain(&mut self, parent: i64) -> Result<String, Error> {
        if matches!(
            self.peek(),
            Some(b',' | b']' | b'}' | b'#' | b'%' | b'@' | b'`' | b'|' | b'>')
        ) {
            return Err(self.err("found character that cannot start any token"));
        }
        let mut out = self.plain_line()?;
        loop {
            let end = self.mark();
            let mut breaks = 0;
            let mut continued = false;
            while self.peek() == Some(b'\n') {
                self.bump();
                self.skip_inline_space();
                match self.peek() {
                    Some(b'\n') => breaks += 1,
                    None | Some(b'#') => break,
                    _ => {
                        continued = self.col() as i64 > parent && !self.at_document_marker();
                        break;
                    }
                }
            }
            if !continued {
                self.reset(end);
                return Ok(out);
            }
            if breaks == 0 {
                out.push(' ');
            } else {
                out.push_str(&"\n".repeat(breaks));
            }
            out.push_str(&self.plain_line()?);
        }
    }

    /// One line's worth of a plain scalar: up to ` #` or the end of the line.
    fn plain_line(&mut self) -> Result<String, Error> {
        let start = self.pos;
        let mut end = self.pos;
        loop {
            match self.peek() {
                None | Some(b'\n') => break,
                Some(b':') if blank(self.at(1)) => {
                    return Err(self.err("mapping values are not allowed in this context"))
                }
                Some(b'#') if self.pos > start && blank(Some(self.b[self.pos - 1])) => break,
                Some(b' ' | b'\t') => self.bump(),
                _ => {
                    self.bump();
                    end = self.pos;
                }
            }
        }
        let text = self.text(start, end);
        self.at_line_end();
        Ok(text)
    }

    /// A single- or double-quoted scalar; line breaks inside fold to spaces.
    fn quoted(&mut self) -> Result<String, Error> {
        let double = self.peek() == Some(b'"');
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        self.err("found unexpected end of stream while scanning a quoted scalar")
                    )
                }
                Some(b'\'') if !double => {
                    if self.at(1) == Some(b'\'') {
                        out.push(b'\'');
                        self.pos += 2;
                    } else {
                        self.bump();
                        break;
                    }
                }
                Some(b'"') if double => {
                    self.bump();
                    break;
                }
                Some(b'\\') if double => {
                    self.bump();
                    self.escape(&mut out)?;
                }
                Some(b'\n') => {
                    while matches!(out.last(), Some(b' ' | b'\t')) {
                        out.pop();
                    }
                    let mut breaks = 0;
                    while self.peek() == Some(b'\n') {
                        self.bump();
                        self.skip_inline_space();
                        breaks += 1;
                    }
                    if breaks == 1 {
                        out.push(b' ');
                    } else {
                        out.extend(std::iter::repeat_n(b'\n', breaks - 1));
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8 in a quoted scalar"))
    }

    /// One escape of a double-quoted scalar, after the backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let c = self
            .peek()
            .ok_or_else(|| self.err("found unexpected end of stream"))?;
        self.bump();
        let simple = match c {
            b'0' => Some('\0'),
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b't' | b'\t' => Some('\t'),
            b'n' => Some('\n'),
            b'v' => Some('\u{b}'),
            b'f' => Some('\u{c}'),
            b'r' => Some('\r'),
            b'e' => Some('\u{1b}'),
            b' ' => Some(' '),
            b'"' => Some('"'),
            b'/' => Some('/'),
            b'\\' => Some('\\'),
            b'N' => Some('\u{85}'),
            b'_' => Some('\u{a0}'),
            b'L' => Some('\u{2028}'),
            b'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(ch) = simple {
            let mut buf = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            return Ok(());
        }
        let digits = match c {
            b'\n' => {
                // An escaped line break joins the lines.
                self.skip_inline_space();
                return Ok(());
            }
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => {
                return Err(self.err("found unknown escape character while parsing a quoted scalar"))
            }
        };
        let hex = self.b.get(self.pos..self.pos + digits).unwrap_or_default();
        let code = std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| self.err("did not find expected hexdecimal number"))?;
        self.pos += digits;
        let mut buf = [0; 4];
        out.extend_from_slice(code.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// `|` (literal) or `>` (folded), with optional indentation and chomping indicators.
    fn block_scalar(&mut self, parent: i64) -> Result<String, Error> {
        let literal = self.peek() == Some(b'|');
        self.bump();
        let mut chomp = b' ';
        let mut explicit = None;
        for _ in 0..2 {
            match self.peek() {
                Some(c @ (b'-' | b'+')) => chomp = c,
                Some(c @ b'1'..=b'9') => explicit = Some(usize::from(c - b'0')),
                _ => break,
            }
            self.bump();
        }
        if !self.at_line_end() {
            return Err(self.err("did not find expected comment or line break"));
        }
        let base = parent.max(0) as usize;
        let mut indent = explicit.map(|n| if parent < 0 { n } else { base + n });
        let mut lines: Vec<String> = Vec::new();
        let mut last_broken = false;
        while self.peek() == Some(b'\n') {
            let m = self.mark();
            self.bump();
            let start = self.pos;
            while self.peek() == Some(b' ') && indent.is_none_or(|i| self.pos - start < i) {
                self.bump();
            }
            let spaces = self.pos - start;
            if self.peek().is_none() && spaces == 0 {
                // The text's final line break, not an empty line.
                break;
            }
            let empty = matches!(self.peek(), None | Some(b'\n'));
            if indent.is_none() && !empty {
                if spaces as i64 <= parent || (parent < 0 && self.at_document_marker()) {
                    self.reset(m);
                    break;
                }
                indent = Some(spaces);
            }
            if empty {
                while self.peek() == Some(b' ') {
                    self.bump();
                }
                if self.peek() == Some(b'\n') || self.peek().is_none() {
                    lines.push(String::new());
                    continue;
                }
            }
            if indent.is_some_and(|i| spaces < i) || (spaces == 0 && self.at_document_marker()) {
                self.reset(m);
                break;
            }
            let from = self.pos;
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.bump();
            }
            lines.push(self.text(from, self.pos));
            last_broken = self.peek() == Some(b'\n');
        }
        // Trailing empty lines belong to chomping, not to the content.
        let kept = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        let trailing = lines.len() - kept;
        lines.truncate(kept);
        // The last line's own break, which the text may end without.
        let broken = usize::from(!lines.is_empty() && (trailing > 0 || last_broken));
        let mut out = if literal {
            lines.join("\n")
        } else {
            fold(&lines)
        };
        match chomp {
            b'-' => {}
            b'+' => out.push_str(&"\n".repeat(trailing + broken)),
            _ => out.push_str(&"\n".repeat(broken)),
        }
        Ok(out)
    }

    /// A flow collection: `[a, b]`, `{a: 1, b: [x]}`, across lines if need be.
    fn flow(&mut self) -> Result<Value, Error> {
        self.enter()?;
        let flow = self.flow_at();
        self.depth -= 1;
        flow
    }

    fn flow_at(&mut self) -> Result<Value, Error> {
        let seq = self.peek() == Some(b'[');
        let close = if seq { b']' } else { b'}' };
        self.bump();
        let mut items = Vec::new();
        let mut map = Map::new();
        loop {
            self.skip_flow_space();
            if self.peek() == Some(close) {
                self.bump();
                break;
            }
            let key_at = self.mark();
            let (first, raw) = self.flow_node()?;
            self.skip_flow_space();
            let pair = self.peek() == Some(b':');
            let value = if pair {
                self.bump();
                self.skip_flow_space();
                if matches!(self.peek(), Some(b',') | Some(b']') | Some(b'}')) {
                    Value::Null
                } else {
                    self.flow_node()?.0
                }
            } else {
                Value::Null
            };
            if seq && !pair {
                items.push(first);
            } else {
                // A plain key is its text, as in a block mapping (`{0x10: a}` has key "0x10").
                let key = match (raw, first) {
                    (Some(text), _) => text,
                    (None, Value::String(s)) => s,
                    (None, Value::Null) => String::new(),
                    (None, v @ (Value::Bool(_) | Value::Number(_))) => v.to_string(),
                    _ => return Err(self.err("a collection as a mapping key is not supported")),
                };
                if seq {
                    let mut single = Map::new();
                    single.insert(key, value);
                    items.push(Value::Object(single));
                } else {
                    if map.contains_key(&key) {
                        self.reset(key_at);
                        return Err(self.err(format!("mapping key {key:?} already defined")));
                    }
                    map.insert(key, value);
                }
            }
            self.skip_flow_space();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(c) if c == close => {
                    self.bump();
                    break;
                }
                _ => {
                    let want = if seq {
                        "did not find expected ',' or ']'"
                    } else {
                        "did not find expected ',' or '}'"
                    };
                    return Err(self.err(want));
                }
            }
        }
        Ok(if seq {
            Value::Array(items)
        } else {
            Value::Object(map)
        })
    }

    fn skip_flow_space(&mut self) {
        while self.at_line_end() && self.peek() == Some(b'\n') {
            self.bump();
        }
    }

    /// A node inside a flow collection, and its text when it is a plain scalar (for keys).
    fn flow_node(&mut self) -> Result<(Value, Option<String>), Error> {
        let (anchor, tag) = self.properties()?;
        let mut raw = None;
        let value = match self.peek() {
            None => return Err(self.err("found unexpected end of stream in a flow collection")),
            Some(b'[' | b'{') => self.flow()?,
            Some(b'\'' | b'"') => Value::String(self.quoted()?),
            Some(b'*') => {
                let name = self.name()?;
                self.alias(&name)?
            }
            _ => {
                let text = self.flow_plain()?;
                raw = Some(text.clone());
                plain_value(text, tag.as_deref())
            }
        };
        Ok((self.finish(anchor, tag, value)?, raw))
    }

    /// A plain scalar in a flow collection: up to `,`, a bracket, `: ` or ` #`, folded
    /// across lines.
    fn flow_plain(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        loop {
            let start = self.pos;
            let mut end = self.pos;
            loop {
                match self.peek() {
                    None | Some(b'\n' | b',' | b'[' | b']' | b'{' | b'}') => break,
                    Some(b':')
                        if blank(self.at(1)) || matches!(self.at(1), Some(b',' | b']' | b'}')) =>
                    {
                        break
                    }
                    Some(b'#') if self.pos > 0 && blank(Some(self.b[self.pos - 1])) => break,
                    Some(b' ' | b'\t') => self.bump(),
                    _ => {
                        self.bump();
                        end = self.pos;
                    }
                }
            }
            if end == start && out.is_empty() {
                return Err(self.err("found character that cannot start any token"));
            }
            out.push_str(&self.text(start, end));
            self.pos = end;
            // Continued on the next line unless that line goes on with the collection.
            let here = self.mark();
            let mut breaks = 0;
            while self.at_line_end() && self.peek() == Some(b'\n') {
                self.bump();
                breaks += 1;
            }
            let continues = breaks > 0
                && !matches!(
                    self.peek(),
                    None | Some(b',' | b'[' | b']' | b'{' | b'}' | b'#')
                )
                && !(self.peek() == Some(b':')
                    && (blank(self.at(1)) || matches!(self.at(1), Some(b',' | b']' | b'}'))));
            if !continues {
                self.reset(here);
                return Ok(out);
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                out.push_str(&"\n".repeat(breaks - 1));
            }
        }
    }
}

/// Folded block content: single line breaks between lines become spaces, except around
/// more-indented lines; each empty line is a line break.
fn fold(lines: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    let mut empties = 0;
    for line in lines {
        if line.is_empty() {
            empties += 1;
            continue;
        }
        match prev {
            None => out.push_str(&"\n".repeat(empties)),
            Some(p) => {
                let indented = |l: &str| l.starts_with([' ', '\t']);
                if indented(p) || indented(line) {
                    out.push_str(&"\n".repeat(empties + 1));
                } else if empties == 0 {
                    out.push(' ');
                } else {
                    out.push_str(&"\n".repeat(empties));
                }
            }
        }
        out.push_str(line);
        prev = Some(line);
        empties = 0;
    }
    out
}

/// A plain scalar's value: its text under `!!str`, else what its text means.
fn plain_value(text: String, tag: Option<&str>) -> Value {
    if tag == Some("!!str") {
        Value::String(text)
    } else {
        resolve(&text)
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

/// YAML 1.2 core schema: what a plain scalar means.
pub(super) fn resolve(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = int(s) {
        return Value::Number(n);
    }
    if !leading_zero_digits(s) {
        if let Some(f) = float(s) {
            return Number::from_f64(f).map_or(Value::Null, Value::Number);
        }
    }
    Value::String(s.to_string())
}

/// `012`: digits with a leading zero are a string in YAML 1.2, not octal.
pub(super) fn leading_zero_digits(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn int(s: &str) -> Option<Number> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if unsigned.starts_with(['+', '-']) || unsigned.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = unsigned.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = unsigned.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = unsigned.strip_prefix("0b") {
        (2, d)
    } else if leading_zero_digits(unsigned) {
        return None;
    } else {
        (10, unsigned)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(magnitude.into());
    }
    if magnitude <= i64::MAX as u64 + 1 {
        return Some((magnitude as i64).wrapping_neg().into());
    }
    None
}

fn float(s: &str) -> Option<f64> {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => s,
    };
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // Read by serde_json's number parser (the page has it anyway; std's float parser would
    // bring its tables), once the text is in JSON's grammar: `.5` → `0.5`, `5.` → `5`.
    let (sign, body) = match unsigned.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unsigned),
    };
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    let mut json = format!("{sign}{}", int.trim_start_matches('0'));
    if json.len() == sign.len() {
        json.push('0');
    }
    if !frac.is_empty() {
        json = format!("{json}.{frac}");
    }
    if let Some(e) = exponent {
        let e_digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e_digits.is_empty() || !digits(e_digits) {
            return None;
        }
        json = format!("{json}e{e}");
    }
    serde_json::from_slice::<Value>(json.as_bytes())
        .ok()?
        .as_f64()
        .filter(|f| f.is_finite())
}

/// The core tags (`!!str 12` is the string "12"); other tags are refused.
fn apply_tag(tag: Option<&str>, value: Value) -> Result<Value, String> {
    let Some(tag) = tag else {
        return Ok(value);
    };
    Ok(match (tag, value) {
        ("!!str", Value::Number(n)) => Value::String(n.to_string()),
        ("!!str", Value::Bool(b)) => Value::String(b.to_string()),
        ("!!str", Value::Null) => Value::String(String::new()),
        ("!!int" | "!!float" | "!!bool" | "!!null", Value::String(s)) => resolve(&s),
        (
            "!!str" | "!!int" | "!!float" | "!!bool" | "!!null" | "!!map" | "!!seq" | "!!binary"
            | "!!timestamp",
            v,
        ) => v,
        (other, _) => return Err(format!("the tag {other} is not supported")),
    })
}
