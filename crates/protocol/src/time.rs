//! Strict UTC time parsing for `yyyy-MM-ddTHH:mm:ssZ` (and, for business params, the seed's
//! `yyyy-MM-ddTHH:mmZ`). Hand-written byte checks: chrono's `%m`/`%Y` accept widths and signs
//! the wire does not allow, and this runs on every request.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses `yyyy-MM-ddTHH:mm:ssZ`, or also `yyyy-MM-ddTHH:mmZ` when `allow_no_seconds`.
pub(crate) fn parse_utc(s: &str, allow_no_seconds: bool) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod tests {
    use super::parse_utc;

    #[test]
    fn both_shapes() {
        let a = parse_utc("2024-03-05T02:21:07Z", false).unwrap();
        assert_eq!(a.to_rfc3339(), "2024-03-05T02:21:07+00:00");
        let b = parse_utc("2019-05-30T12:10Z", true).unwrap();
        assert_eq!(b.to_rfc3339(), "2019-05-30T12:10:00+00:00");
        assert!(parse_utc("2019-05-30T12:10Z", false).is_none());
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
        ] {
            assert!(parse_utc(s, true).is_none(), "{s}");
        }
    }
}
