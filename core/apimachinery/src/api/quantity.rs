//! `resource.Quantity` (`k8s.io/apimachinery/pkg/api/resource`): `500m`, `2`, `1.5Gi`, `1e3`.
//!
//! Parsed to an exact count of milli-units in an `i128`, which holds every quantity a cluster
//! uses (up to exabytes) without floating point, so comparisons and sums are exact.

/// Parses a quantity to milli-units (`"250m"` → 250, `"1Gi"` → 1024³·1000).
pub fn parse_milli(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let (mult_num, mult_den): (i128, i128) = match suffix {
        "" => (1000, 1),
        "m" => (1, 1),
        "u" => (1, 1000),
        "n" => (1, 1_000_000),
        "k" => (1000 * 1000, 1),
        "M" => (1000 * 1_000_000, 1),
        "G" => (1000 * 1_000_000_000, 1),
        "T" => (1000 * 1_000_000_000_000, 1),
        "P" => (1000 * 1_000_000_000_000_000, 1),
        "E" => (1000 * 1_000_000_000_000_000_000, 1),
        "Ki" => (1000 << 10, 1),
        "Mi" => (1000 << 20, 1),
        "Gi" => (1000 << 30, 1),
        "Ti" => (1000 << 40, 1),
        "Pi" => (1000 << 50, 1),
        "Ei" => (1000 << 60, 1),
        e if e.starts_with(['e', 'E']) => {
            let exp: u32 = e[1..].parse().ok()?;
            (10i128.checked_pow(exp)?.checked_mul(1000)?, 1)
        }
        _ => return None,
    };
    let (neg, num) = match num.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = format!("{int}{frac}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let scale = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    // Round up, as Kubernetes does for sub-milli precision (`0.1m` cpu is 1m).
    let total = mantissa.checked_mul(mult_num)?;
    let den = scale.checked_mul(mult_den)?;
    let v = total.checked_add(den - 1)? / den;
    Some(if neg { -v } else { v })
}

/// Formats milli-units of CPU as kubectl shows them: `250m`, `2`.
pub fn format_cpu(milli: i128) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Formats milli-units of bytes in the largest binary suffix that is exact: `128Mi`, `1Gi`.
pub fn format_bytes(milli: i128) -> String {
    let bytes = milli / 1000;
    for (suffix, shift) in [
        ("Ei", 60),
        ("Pi", 50),
        ("Ti", 40),
        ("Gi", 30),
        ("Mi", 20),
        ("Ki", 10),
    ] {
        if bytes != 0 && bytes % (1i128 << shift) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_quantities() {
        let cases = [
            ("1", Some(1000)),
            ("250m", Some(250)),
            ("0.5", Some(500)),
            ("1.5Gi", Some(1_610_612_736_000)),
            ("128Mi", Some(134_217_728_000)),
            ("1k", Some(1_000_000)),
            ("1e3", Some(1_000_000)),
            ("-1", Some(-1000)),
            ("0.1m", Some(1)),
            ("1x", None),
            ("", None),
            ("abc", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_milli(s), want, "{s}");
        }
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_bytes(134_217_728_000), "128Mi");
    }
}
