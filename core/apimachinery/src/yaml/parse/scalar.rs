//! Scalars: plain (multi-line, folded), single- and double-quoted with escapes, and block
//! scalars (`|`, `>`, chomping and indentation indicators).

use super::*;

impl Parser {
    /// A plain scalar in block context, continued on deeper lines (folded with spaces).
    pub(super) fn plain(&mut self, parent: i64) -> Result<String, Error> {
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
    pub(super) fn plain_line(&mut self) -> Result<String, Error> {
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
    pub(super) fn quoted(&mut self) -> Result<String, Error> {
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
    pub(super) fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
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
    pub(super) fn block_scalar(&mut self, parent: i64) -> Result<String, Error> {
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
}

/// Folded block content: single line breaks between lines become spaces, except around
/// more-indented lines; each empty line is a line break.
pub(super) fn fold(lines: &[String]) -> String {
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
