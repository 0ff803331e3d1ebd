//! The daemon's RFC 3339 times, read without a clock of our own: the dashboard tells them
//! relative to the daemon's "now" (its start time plus the uptime it reports every second),
//! so a countdown is right even when the two clocks disagree and the state stays testable.

/// Seconds since the Unix epoch of an RFC 3339 time such as `2025-03-04T12:02:47.250Z` or
/// `2025-03-04T14:02:47+02:00`; the fraction is dropped. None for anything else.
pub fn unix_secs(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    // Digits only: `str::parse` would also take a sign.
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // A leap second reads as the second before the next minute.
    let second = second.min(59);
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let secs = (digit(h1)? * 10 + digit(h2)?) * 3600 + (digit(m1)? * 10 + digit(m2)?) * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A span short enough to read at a glance: `42s`, `3m 04s`, `1h 02m`, `2d 1h`.
pub fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `t` against the daemon's `now`: `in 42s`, `3m 04s ago`, or `now` within the second.
pub fn relative(t: i64, now: i64) -> String {
    match t - now {
        0 => "now".to_string(),
        d if d > 0 => format!("in {}", span(d.unsigned_abs())),
        d => format!("{} ago", span(d.unsigned_abs())),
    }
}

/// The clock time `HH:MM:SS` of an RFC 3339 time, as the activity feed shows it; the whole
/// string when it is not one.
pub fn clock(s: &str) -> &str {
    s.get(11..19).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc3339_in_utc_and_with_offsets() {
        assert_eq!(unix_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_secs("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_secs("2025-03-04T11:00:00Z"), Some(1_741_086_000));
        assert_eq!(unix_secs("2025-03-04T11:00:00.987Z"), Some(1_741_086_000));
        assert_eq!(unix_secs("2025-03-04T13:00:00+02:00"), Some(1_741_086_000));
        assert_eq!(unix_secs("2025-03-04T10:30:00-00:30"), Some(1_741_086_000));
        assert_eq!(
            unix_secs("2024-02-29T23:59:60Z"),
            unix_secs("2024-02-29T23:59:59Z")
        );
        for bad in [
            "",
            "2025-03-04",
            "2025-03-04T11:00:00",
            "2025-03-04T11:00:00.Z",
            "2025-13-04T11:00:00Z",
            "2025-03-04T11:00:00+2:00",
            "+025-03-04T11:00:00Z",
            "2025-03-04T11:00:00Zjunk",
        ] {
            assert_eq!(unix_secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn spans_and_relative_times() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(42), "42s");
        assert_eq!(span(184), "3m 04s");
        assert_eq!(span(3720), "1h 02m");
        assert_eq!(span(2 * 86_400 + 3600), "2d 1h");
        assert_eq!(relative(142, 100), "in 42s");
        assert_eq!(relative(100, 100), "now");
        assert_eq!(relative(100, 284), "3m 04s ago");
        assert_eq!(clock("2025-03-04T12:02:47.250Z"), "12:02:47");
        assert_eq!(clock("soon"), "soon");
    }
}
