//! How plain scalars resolve (null, bool, int, float, string) — YAML 1.1's rules, as
//! kubectl's YAML library has them — and the tags that override it.

use super::*;

/// A plain scalar's value: its text under `!!str`, else what its text means.
pub(super) fn plain_value(text: String, tag: Option<&str>) -> Value {
    if tag == Some("!!str") {
        Value::String(text)
    } else {
        resolve(&text)
    }
}

pub(super) fn int(s: &str) -> Option<Number> {
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
        // YAML 1.1 (and Go's `ParseInt` with base 0): a leading zero is octal.
        (8, &unsigned[1..])
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

pub(super) fn float(s: &str) -> Option<f64> {
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
pub(super) fn apply_tag(tag: Option<&str>, value: Value) -> Result<Value, String> {
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
