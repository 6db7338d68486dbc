//! RFC 3339 timestamps without a date crate: formatting in UTC (the audit
//! lines' `ts`) and parsing with any offset (`--since`, and the `ts` of lines
//! written by other tools), compared as instants, never as text.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-11-25T08:30:00.123Z` for `time` (UTC, millisecond precision; sorts as text).
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Nanoseconds since 1970-01-01T00:00:00Z of an RFC 3339 `date-time`
/// (`2026-11-25T08:00:00Z`, `2026-11-25T10:00:00.5+02:00`; `t`/`z` in lower
/// case and a space for `T` are accepted, as RFC 3339 §5.6 allows). A leap
/// second (`:60`) counts as the next second's start. The error says what is
/// wrong.
pub fn parse_rfc3339(text: &str) -> Result<i128, String> {
    let bad =
        |why: &str| format!("`{text}` is not an RFC 3339 time like 2026-11-25T08:00:00Z ({why})");
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Result<i64, String> {
        let part = b.get(from..from + len).ok_or_else(|| bad("too short"))?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad("digits expected"));
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let expect = |at: usize, allowed: &[u8], what: &str| -> Result<(), String> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad(what)),
        }
    };
    let year = digits(0, 4)?;
    expect(4, b"-", "`-` after the year")?;
    let month = digits(5, 2)?;
    expect(7, b"-", "`-` after the month")?;
    let day = digits(8, 2)?;
    expect(10, b"Tt ", "`T` between date and time")?;
    let hour = digits(11, 2)?;
    expect(13, b":", "`:` after the hour")?;
    let minute = digits(14, 2)?;
    expect(16, b":", "`:` after the minutes")?;
    let second = digits(17, 2)?;
    let mut at = 19;
    let mut nanos: i128 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(bad("digits expected after `.`"));
        }
        // Nanosecond precision; further digits are dropped.
        let kept = &text[start..at.min(start + 9)];
        nanos = kept.parse::<i128>().map_err(|_| bad("bad fraction"))?
            * 10_i128.pow(9 - kept.len() as u32);
    }
    let offset_seconds = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            let hours = digits(at + 1, 2)?;
            expect(at + 3, b":", "`:` in the offset")?;
            let minutes = digits(at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return Err(bad("offset out of range"));
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return Err(bad("it must end with `Z` or an offset like `+02:00`")),
    };
    if !(1..=12).contains(&month) {
        return Err(bad("month out of range"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(bad("day out of range"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("time out of range"));
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_seconds;
    Ok(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Nanoseconds since 1970-01-01T00:00:00Z of `time` (negative before).
#[cfg(test)]
fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm: days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{days_from_civil, parse_rfc3339, rfc3339_utc, unix_nanos};

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29T12:34:56.789Z (a leap day)
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789);
        assert_eq!(rfc3339_utc(t), "2000-02-29T12:34:56.789Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(rfc3339_utc(t), "2026-11-18T11:06:40.000Z");
    }

    #[test]
    fn parsing_reads_fractions_and_offsets_as_instants() {
        const S: i128 = 1_000_000_000;
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.000Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2026-11-18T11:06:40Z").unwrap(),
            1_795_000_000 * S
        );
        // The same instant, written with offsets, a fraction, lower case, a space.
        for same in [
            "2026-11-18T13:06:40+02:00",
            "2026-11-18T06:36:40-04:30",
            "2026-11-18t11:06:40.000000000z",
            "2026-11-18 11:06:40Z",
        ] {
            assert_eq!(parse_rfc3339(same).unwrap(), 1_795_000_000 * S, "{same}");
        }
        assert_eq!(
            parse_rfc3339("2000-02-29T12:34:56.789Z").unwrap(),
            951_827_696_789 * 1_000_000
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z").unwrap(), S / 2);
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00.1234567891Z").unwrap(),
            123_456_789
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z").unwrap(), -S);
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z").unwrap(),
            parse_rfc3339("2017-01-01T00:00:00Z").unwrap()
        );
        // What the formatter writes parses back to the same millisecond.
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        assert_eq!(parse_rfc3339(&rfc3339_utc(t)).unwrap(), unix_nanos(t));
    }

    #[test]
    fn parsing_refuses_what_is_not_rfc_3339() {
        let cases = [
            ("2026-11-25", "`T` between date and time"),
            ("2026-11-25T08:00", "`:` after the minutes"),
            (
                "2026-11-25T08:00:00",
                "it must end with `Z` or an offset like `+02:00`",
            ),
            (
                "2026-11-25T08:00:00+0200",
                "it must end with `Z` or an offset like `+02:00`",
            ),
            (
                "2026-11-25T08:00:00Zjunk",
                "it must end with `Z` or an offset like `+02:00`",
            ),
            ("2026-02-29T08:00:00Z", "day out of range"),
            ("2026-13-01T08:00:00Z", "month out of range"),
            ("2026-11-25T24:00:00Z", "time out of range"),
            ("2026-11-25T08:00:00.Z", "digits expected after `.`"),
            ("2026/11/25T08:00:00Z", "`-` after the year"),
            ("2026-11-25T08:00:00+24:00", "offset out of range"),
        ];
        for (text, why) in cases {
            assert_eq!(
                parse_rfc3339(text).unwrap_err(),
                format!("`{text}` is not an RFC 3339 time like 2026-11-25T08:00:00Z ({why})"),
            );
        }
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = super::civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }
}
