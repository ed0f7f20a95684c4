//! Shell words: spaces separate, quotes group, `\` escapes — how the page's terminal splits a
//! kubectl command line and how a simulated container's `sh -c` splits its script.

/// Splits `line` into words. With `env`, `$NAME` outside single quotes becomes the
/// variable's value (empty when unset), as a shell expands it; without, `$` is a character.
pub fn split(line: &str, env: Option<&[(String, String)]>) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (q, '$') if q != Some('\'') && env.is_some() => {
                let mut name = String::new();
                while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                    name.push(n);
                    chars.next();
                }
                let vars = env.unwrap_or_default();
                let value = vars
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.as_str());
                word.push_str(value.unwrap_or_default());
                in_word = true;
            }
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                word.extend(chars.next());
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_and_expand_as_a_shell_does() {
        assert_eq!(
            split(
                r#"kubectl label pod x 'note=hello world' a=b\ c "$HOME""#,
                None
            )
            .unwrap(),
            [
                "kubectl",
                "label",
                "pod",
                "x",
                "note=hello world",
                "a=b c",
                "$HOME"
            ]
        );
        let env = [("HOME".to_string(), "/root".to_string())];
        assert_eq!(
            split(r#"echo $HOME "$HOME/x" '$HOME' $UNSET."#, Some(&env)).unwrap(),
            ["echo", "/root", "/root/x", "$HOME", "."]
        );
        assert_eq!(split("echo 'open", None), Err("unterminated quote".into()));
    }
}
