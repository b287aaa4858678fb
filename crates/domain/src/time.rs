//! Alibaba's UTC timestamp format, `yyyy-MM-ddTHH:mm:ssZ`, and its minute-precision variant.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Timestamps everywhere in xbak are UTC with whole-second precision.
pub type Timestamp = DateTime<Utc>;

/// Renders `t` as `yyyy-MM-ddTHH:mm:ssZ`, the format of every time field on the wire.
pub fn format_utc(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` or the seed's `yyyy-MM-ddTHH:mmZ`. Anything else is `None`.
pub fn parse_utc(s: &str) -> Option<Timestamp> {
    let body = s.strip_suffix('Z')?;
    let naive = match body.len() {
        19 => NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S").ok()?,
        16 => NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M").ok()?,
        _ => return None,
    };
    Some(naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_precisions_parse_and_seconds_round_trip() {
        let t = parse_utc("2019-06-11T04:55:02Z").unwrap();
        assert_eq!(format_utc(t), "2019-06-11T04:55:02Z");
        let m = parse_utc("2019-05-30T12:10Z").unwrap();
        assert_eq!(format_utc(m), "2019-05-30T12:10:00Z");
    }

    #[test]
    fn rejects_offsets_fractions_and_garbage() {
        for bad in [
            "2019-06-11T04:55:02+08:00",
            "2019-06-11T04:55:02.123Z",
            "2019-06-11",
            "",
            "2019-13-01T00:00:00Z",
            "2019-06-11 04:55:02Z",
        ] {
            assert!(parse_utc(bad).is_none(), "{bad} accepted");
        }
    }
}
