//! The virtual clock. Core never reads a wall clock: whoever drives it (a test, the page's
//! animation loop, the bridge's timer) moves this clock, and everything time-based reads it.

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Time(pub i64);

/// The instant a fresh simulated cluster starts at: 2026-01-01T00:00:00Z.
pub const EPOCH: Time = Time(1_767_225_600_000);

impl Time {
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Saturating: durations come from clients (grace periods, toleration seconds).
    pub fn plus_millis(self, ms: i64) -> Time {
        Time(self.0.saturating_add(ms))
    }

    pub fn plus_secs(self, s: i64) -> Time {
        Time(self.0.saturating_add(s.saturating_mul(1000)))
    }

    /// RFC 3339 in UTC with second precision, as `metav1.Time` serializes
    /// (`2026-01-01T00:00:00Z`).
    pub fn rfc3339(self) -> String {
        format_rfc3339(self.0.div_euclid(1000), None)
    }

    /// Parses the RFC 3339 forms Kubernetes writes (`Z` or numeric offset, optional
    /// fraction).
    pub fn parse_rfc3339(s: &str) -> Option<Time> {
        parse_rfc3339_micros(s).map(|us| Time(us.div_euclid(1000)))
    }
}

/// Milliseconds as seconds with three decimals (`1.234`), without float formatting (which
/// would add its tables to the page).
pub fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!("{sign}{}.{:03}", ms / 1000, ms % 1000)
}

/// Microseconds since the epoch as RFC 3339 in UTC: whole seconds (`metav1.Time`) or with six
/// fractional digits (`metav1.MicroTime`, `2026-01-01T00:00:00.000000Z`).
pub fn rfc3339(micros: i64, with_micros: bool) -> String {
    let fraction = with_micros.then(|| micros.rem_euclid(1_000_000));
    format_rfc3339(micros.div_euclid(1_000_000), fraction)
}

/// Seconds since the epoch (and a fraction in microseconds) as RFC 3339 in UTC. Works in
/// seconds so that any `Time`, saturated ones included, formats without overflow.
fn format_rfc3339(secs: i64, micros: Option<i64>) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, se) = (rem / 3600, (rem / 60) % 60, rem % 60);
    match micros {
        Some(frac) => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{frac:06}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{se:02}Z"),
    }
}

/// Parses RFC 3339 (`Z` or a numeric offset, any fraction, truncated to microseconds) to
/// microseconds since the epoch; `None` for anything else, out-of-range fields included.
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse::<i64>().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&mo) || !(1..=month_days).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let f = &frac[..digits];
        micros = format!("{:0<6}", &f[..f.len().min(6)])
            .parse::<i64>()
            .ok()?;
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let v = |a: &u8, b: &u8| i64::from(a - b'0') * 10 + i64::from(b - b'0');
            if v(h1, h2) > 23 || v(m1, m2) > 59 {
                return None;
            }
            let o = v(h1, h2) * 3600 + v(m1, m2) * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) - offset) * 1_000_000 + micros)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `10s` → 10 000 ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" | "" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(format!("bad duration unit in {s:?}")),
    };
    ms.ok_or_else(|| format!("duration {s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        assert_eq!(EPOCH.rfc3339(), "2026-01-01T00:00:00Z");
        assert_eq!(Time(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Time(951_782_400_000).rfc3339(), "2000-02-29T00:00:00Z");
        for t in [
            EPOCH,
            Time(0),
            Time(951_782_400_000),
            EPOCH.plus_secs(86_399 * 400),
        ] {
            assert_eq!(Time::parse_rfc3339(&t.rfc3339()), Some(t));
        }
        assert_eq!(
            Time::parse_rfc3339("2026-01-01T01:00:00.5+01:00"),
            Some(EPOCH.plus_millis(500))
        );
        assert_eq!(Time::parse_rfc3339("yesterday"), None);
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00+24:00",
        ] {
            assert_eq!(Time::parse_rfc3339(bad), None, "{bad}");
        }
        assert!(Time::parse_rfc3339("2024-02-29T00:00:00Z").is_some());
        // Saturated times (a grace period of ten trillion seconds) still format.
        assert!(Time(i64::MAX).rfc3339().ends_with('Z'));
        assert!(Time(i64::MIN).rfc3339().ends_with('Z'));
        assert_eq!(Time::parse_rfc3339("2026-01-01T00:00:00+1:00"), None);
        let us = parse_rfc3339_micros("2026-01-01T00:00:00.1234567Z");
        assert_eq!(us, Some(EPOCH.0 * 1000 + 123_456));
        assert_eq!(
            rfc3339(us.unwrap_or_default(), true),
            "2026-01-01T00:00:00.123456Z"
        );
    }
}
