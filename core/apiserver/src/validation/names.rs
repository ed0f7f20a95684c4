//! Name and label rules (`k8s.io/apimachinery/pkg/util/validation`), with their messages.

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

fn alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && alnum_lower(b[0])
        && alnum_lower(b[b.len() - 1])
        && b.iter().all(|&c| alnum_lower(c) || c == b'-')
}

pub fn is_dns1123_label(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!label_shape(s)).then(|| format!(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL_FMT}')"
    ))
}

pub fn is_dns1123_subdomain(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    (!s.split('.').all(label_shape)).then(|| format!(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
    ))
}

pub fn is_dns1035_label(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    let ok = label_shape(s) && s.as_bytes()[0].is_ascii_lowercase();
    (!ok).then(|| format!(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL_FMT}')"
    ))
}

/// RBAC names only need to be a valid path segment.
pub fn is_path_segment_name(s: &str) -> Option<String> {
    if s == "." || s == ".." {
        return Some(format!("may not be '{s}'"));
    }
    s.contains(['/', '%']).then(|| {
        format!(
            "may not contain '{}'",
            if s.contains('/') { "/" } else { "%" }
        )
    })
}

fn qualified_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && ok(b[0])
        && ok(b[b.len() - 1])
        && b.iter()
            .all(|&c| ok(c) || c == b'-' || c == b'_' || c == b'.')
}

/// `IsQualifiedName`: an optional DNS subdomain prefix and `/`, then a name of ≤ 63 chars.
pub fn validate_label_key(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some("prefix part must be non-empty".into());
        }
        if let Some(m) = is_dns1123_subdomain(p) {
            return Some(format!("prefix part {m}"));
        }
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    (!qualified_shape(name)).then(|| format!(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')"
    ))
}

pub fn validate_label_value(v: &str) -> Option<String> {
    if v.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!v.is_empty() && !qualified_shape(v)).then(|| format!(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_FMT}')"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for ok in ["a", "web-1", "0abc", "a.b.c"] {
            assert_eq!(is_dns1123_subdomain(ok), None, "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a_b", "a..b"] {
            assert!(is_dns1123_subdomain(bad).is_some(), "{bad}");
        }
        assert!(is_dns1123_label("a.b").is_some());
        assert!(is_dns1035_label("1abc").is_some());
        assert_eq!(is_dns1035_label("abc-1"), None);
        assert_eq!(is_path_segment_name("system:basic-user"), None);
        assert_eq!(validate_label_key("app.kubernetes.io/name"), None);
        assert!(validate_label_key("bad key").is_some());
        assert!(validate_label_key("/x").is_some());
        assert_eq!(validate_label_value(""), None);
        assert!(validate_label_value("-x").is_some());
    }
}
