//! RFC 3339 / ISO 8601 timestamps as milliseconds since the Unix epoch.
//!
//! A small hand-written codec instead of chrono: the SDK ships this code to
//! every browser, and only the UTC subset of the format is needed on the wire.

use alloc::string::String;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// Earliest and latest instants accepted on the wire (years 1000 to 9999):
/// anything outside is a client bug, not a real event time.
pub const MIN: Millis = -30_610_224_000_000;
pub const MAX: Millis = 253_402_300_799_999;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; `t` may be a space
/// or lower case. Fractions beyond milliseconds are truncated. Returns `None`
/// for anything else, including dates that do not exist (Feb 30).
pub fn parse(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(d - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') => {
            let h = num(i + 1, 2)?;
            let (m, end) = if b.get(i + 3) == Some(&b':') { (num(i + 4, 2)?, i + 6) } else { (num(i + 3, 2)?, i + 5) };
            if end != b.len() || h > 23 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    // A leap second is folded into the next second, as most systems do.
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1_000 + millis)
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`, clamping to [`MIN`, `MAX`].
pub fn format(t: Millis) -> String {
    let t = t.clamp(MIN, MAX);
    let days = t.div_euclid(86_400_000);
    let ms_of_day = t.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    // Digits by hand rather than `write!`: this runs in the browser SDK,
    // where core::fmt would cost kilobytes of wasm. Years are 1000-9999.
    let mut out = String::with_capacity(24);
    for (n, width, sep) in [
        (y, 4, '-'),
        (m, 2, '-'),
        (d, 2, 'T'),
        (ms_of_day / 3_600_000, 2, ':'),
        (ms_of_day / 60_000 % 60, 2, ':'),
        (ms_of_day / 1_000 % 60, 2, '.'),
        (ms_of_day % 1_000, 3, 'Z'),
    ] {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10_i64.pow(place) % 10) as u8));
        }
        out.push(sep);
    }
    out
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms (chrono-compatible civil calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;
    use expect_test::expect;

    fn check(inputs: &[&str], expect: expect_test::Expect) {
        let lines: Vec<String> = inputs
            .iter()
            .map(|s| match parse(s) {
                Some(t) => format!("{s:<32} {t} {}", format(t)),
                None => format!("{s:<32} invalid"),
            })
            .collect();
        expect.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn parses_the_formats_clients_send() {
        check(
            &[
                "1970-01-01T00:00:00Z",
                "2024-02-29T12:34:56.789Z",
                "2024-02-29T12:34:56.7Z",
                "2024-02-29T12:34:56.123456789Z",
                "2024-02-29 12:34:56+02:00",
                "2024-02-29T12:34:56-0530",
                "1969-12-31T23:59:59.999Z",
                "2016-12-31T23:59:60Z",
                "9999-12-31T23:59:59.999Z",
            ],
            expect![[r#"
                1970-01-01T00:00:00Z             0 1970-01-01T00:00:00.000Z
                2024-02-29T12:34:56.789Z         1709210096789 2024-02-29T12:34:56.789Z
                2024-02-29T12:34:56.7Z           1709210096700 2024-02-29T12:34:56.700Z
                2024-02-29T12:34:56.123456789Z   1709210096123 2024-02-29T12:34:56.123Z
                2024-02-29 12:34:56+02:00        1709202896000 2024-02-29T10:34:56.000Z
                2024-02-29T12:34:56-0530         1709229896000 2024-02-29T18:04:56.000Z
                1969-12-31T23:59:59.999Z         -1 1969-12-31T23:59:59.999Z
                2016-12-31T23:59:60Z             1483228800000 2017-01-01T00:00:00.000Z
                9999-12-31T23:59:59.999Z         253402300799999 9999-12-31T23:59:59.999Z"#]],
        );
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        check(
            &[
                "",
                "2023-02-29T00:00:00Z",
                "2024-13-01T00:00:00Z",
                "2024-01-01",
                "2024-01-01T00:00:00",
                "2024-01-01T00:00:00.Z",
                "2024-01-01T24:00:00Z",
                "2024-01-01T00:00:00Zjunk",
                "2024-01-01T00:00:00+2:00",
                "+2024-01-01T00:00:00Z",
                "2024-01-01T00:00:00\u{e9}Z",
                "1710000000",
            ],
            expect![[r#"
                                                 invalid
                2023-02-29T00:00:00Z             invalid
                2024-13-01T00:00:00Z             invalid
                2024-01-01                       invalid
                2024-01-01T00:00:00              invalid
                2024-01-01T00:00:00.Z            invalid
                2024-01-01T24:00:00Z             invalid
                2024-01-01T00:00:00Zjunk         invalid
                2024-01-01T00:00:00+2:00         invalid
                +2024-01-01T00:00:00Z            invalid
                2024-01-01T00:00:00éZ            invalid
                1710000000                       invalid"#]],
        );
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(t in MIN..=MAX) {
            proptest::prop_assert_eq!(parse(&format(t)), Some(t));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }
    }
}
