//! The wire's UTC times: `yyyy-MM-ddTHH:mm:ssZ`, and the seed's minute-precision
//! `yyyy-MM-ddTHH:mmZ` where a caller accepts it. The one home of time formatting and parsing in
//! xbak: the server, the SDK, the CLI and the tests all use these functions.
//!
//! Each strictness is its own function, named for what it accepts:
//!
//! | function | accepts | used for |
//! |---|---|---|
//! | [`parse_utc_seconds`] | `yyyy-MM-ddTHH:mm:ssZ` only | the signed `Timestamp` param |
//! | [`parse_utc_seconds_or_minutes`] | also `yyyy-MM-ddTHH:mmZ` | business times (`StartTime`, `EndTime`), CLI flags |
//!
//! Parsing is hand-written byte checks: chrono's `%m`/`%Y` accept widths and signs the wire does
//! not allow, and this runs on every request. [`format_utc`] writes the seconds shape.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// Parses exactly `yyyy-MM-ddTHH:mm:ssZ`: what a request's `Timestamp` must be.
pub fn parse_utc_seconds(s: &str) -> Option<DateTime<Utc>> {
    parse(s, false)
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` or the seed's `yyyy-MM-ddTHH:mmZ` (seconds then 0): what
/// business times and the CLI's time flags accept.
pub fn parse_utc_seconds_or_minutes(s: &str) -> Option<DateTime<Utc>> {
    parse(s, true)
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ`, or also `yyyy-MM-ddTHH:mmZ` when `allow_no_seconds`.
fn parse(s: &str, allow_no_seconds: bool) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let with_seconds = match b.len() {
        20 => true,
        17 if allow_no_seconds => false,
        _ => return None,
    };
    let sep_ok = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':';
    if !sep_ok || b[b.len() - 1] != b'Z' || (with_seconds && b[16] != b':') {
        return None;
    }
    let num = |i: usize, n: usize| -> Option<u32> {
        b[i..i + n].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = num(0, 4)?;
    let sec = if with_seconds { num(17, 2)? } else { 0 };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, num(5, 2)?, num(8, 2)?)?;
    let naive = date.and_hms_opt(num(11, 2)?, num(14, 2)?, sec)?;
    Some(naive.and_utc())
}

/// Formats `t` as `yyyy-MM-ddTHH:mm:ssZ` (sub-seconds dropped).
///
/// Written by hand rather than with chrono's `format("%Y-%m-%dT%H:%M:%SZ")`: a listing page
/// formats three times per item (90 per page) and chrono re-parses the strftime string and goes
/// through `fmt::Display` every time, which was ~15 % of the server's CPU per rendered page.
/// Years outside 0..=9999 (never stored) fall back to chrono, which prints them with a sign.
pub fn format_utc(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(20);
    push_utc(&mut out, t);
    out
}

/// Appends `t` as [`format_utc`] writes it.
pub fn push_utc(out: &mut String, t: DateTime<Utc>) {
    // Fields read off the naive UTC time once: each of `DateTime`'s own accessors adds the
    // (zero) offset again, six additions with overflow checks per time, 90 times a page.
    let t = t.naive_utc();
    let year = t.year();
    if !(0..=9999).contains(&year) {
        use std::fmt::Write;
        write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")).expect("writing to a String");
        return;
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    out.push_str(std::str::from_utf8(&b).expect("ASCII digits and separators"));
}

#[cfg(test)]
mod tests {
    use super::{format_utc, parse_utc_seconds, parse_utc_seconds_or_minutes};

    #[test]
    fn formats_like_chrono() {
        for s in [
            "2024-03-05T02:21:07Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2020-02-29T12:00:09Z",
        ] {
            let t = parse_utc_seconds(s).unwrap();
            assert_eq!(format_utc(t), s);
            assert_eq!(format_utc(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let t = parse_utc_seconds("2024-03-05T02:21:07Z").unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(format_utc(t), "2024-03-05T02:21:07Z");
        let far = chrono::NaiveDate::from_ymd_opt(12345, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap()
            .and_utc();
        assert_eq!(
            format_utc(far),
            far.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
    }

    #[test]
    fn both_shapes() {
        let a = parse_utc_seconds("2024-03-05T02:21:07Z").unwrap();
        assert_eq!(a.to_rfc3339(), "2024-03-05T02:21:07+00:00");
        let b = parse_utc_seconds_or_minutes("2019-05-30T12:10Z").unwrap();
        assert_eq!(b.to_rfc3339(), "2019-05-30T12:10:00+00:00");
        assert!(parse_utc_seconds("2019-05-30T12:10Z").is_none());
        assert_eq!(
            format_utc(b),
            "2019-05-30T12:10:00Z",
            "minutes round-trip with :00"
        );
    }

    #[test]
    fn rejects_near_misses() {
        for s in [
            "",
            "2024-03-05 02:21:07Z",
            "2024-03-05T02:21:07",
            "2024-03-05T02:21:07+00:00",
            "2024-03-05T02:21:07.000Z",
            "2024-13-05T02:21:07Z",
            "2024-02-30T02:21:07Z",
            "2024-03-05T24:00:00Z",
            "2024-03-05T02:60:00Z",
            "+024-03-05T02:21:07Z",
            "2024-3-05T02:21:07ZZ",
            "２０２４-03-05T02:21Z",
            "2019-06-11T04:55:02+08:00",
            "2019-06-11T04:55:02.123Z",
            "2019-06-11",
            "2019-13-01T00:00:00Z",
            "2019-06-11 04:55:02Z",
        ] {
            assert!(parse_utc_seconds_or_minutes(s).is_none(), "{s}");
            assert!(parse_utc_seconds(s).is_none(), "{s}");
        }
    }
}
