//! `Range` header parsing for the download route ([`parse_range`]).
//!
//! Input: `object size \n header value`. Properties: any value gives the whole object, an
//! unsatisfiable answer or a non-empty part inside the object; a part written back as
//! `bytes=first-last` parses to itself; and the three strict `bytes=` forms of RFC 9110 §14.1.2
//! (`first-last`, `first-`, `-suffix`, digits only) give exactly the part they name, clamped to
//! the object, or unsatisfiable when it starts past the end (a `first-last` with first > last:
//! the whole object, as OSS and S3 answer it).

#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use xbak_fuzz::lines;
use xbak_server::download::{parse_range, RangeAnswer};

fuzz_target!(|data: &[u8]| {
    let Some(([size], spec)) = lines(data) else {
        return;
    };
    let Ok(size) = size.parse::<u64>() else {
        return;
    };
    let got = parse_range(spec, size);
    if let RangeAnswer::Part(r) = &got {
        assert!(
            r.start < r.end && r.end <= size,
            "{spec:?} on {size} bytes gave {r:?}"
        );
        let written = format!("bytes={}-{}", r.start, r.end - 1);
        assert_eq!(parse_range(&written, size), got, "{written}");
    }
    if let Some(expected) = strict(spec, size) {
        assert_eq!(got, expected, "{spec:?} on {size} bytes");
    }
});

/// The answer a strictly formed single range gets (RFC 9110, as OSS and S3 answer it: a
/// `first-last` with first > last is ignored, so the whole object); `None` for any other value.
fn strict(spec: &str, size: u64) -> Option<RangeAnswer> {
    let (first, last) = spec.strip_prefix("bytes=")?.split_once('-')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let part = |r: Range<u64>| {
        if r.start < size {
            RangeAnswer::Part(r)
        } else {
            RangeAnswer::Unsatisfiable
        }
    };
    Some(match (first, last) {
        ("", suffix) => match number(suffix)? {
            0 => RangeAnswer::Unsatisfiable,
            n => part(size - n.min(size)..size),
        },
        (first, "") => part(number(first)?..size),
        (first, last) => {
            let (first, last) = (number(first)?, number(last)?);
            if first > last {
                RangeAnswer::Whole
            } else {
                part(first..last.saturating_add(1).min(size))
            }
        }
    })
}
