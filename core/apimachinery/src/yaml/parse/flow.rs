//! Flow collections (`[a, b]`, `{k: v}`), their nodes and plain scalars.

use super::*;

impl Parser {
    /// A flow collection: `[a, b]`, `{a: 1, b: [x]}`, across lines if need be.
    pub(super) fn flow(&mut self) -> Result<Value, Error> {
        self.enter()?;
        let flow = self.flow_at();
        self.depth -= 1;
        flow
    }

    pub(super) fn flow_at(&mut self) -> Result<Value, Error> {
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

    pub(super) fn skip_flow_space(&mut self) {
        while self.at_line_end() && self.peek() == Some(b'\n') {
            self.bump();
        }
    }

    /// A node inside a flow collection, and its text when it is a plain scalar (for keys).
    pub(super) fn flow_node(&mut self) -> Result<(Value, Option<String>), Error> {
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
    pub(super) fn flow_plain(&mut self) -> Result<String, Error> {
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
