//! `Range` header parsing for the download route ([`parse_range`]).
//!
//! Input: `object size \n header value`. Properties: any value gives nothing or a non-empty
//! range inside the object; a range written back as `bytes=first-last` parses to itself; and
//! the three strict `bytes=` forms of RFC 9110 §14.1.2 (`first-last`, `first-`, `-suffix`,
//! digits only) give exactly the satisfiable range they name, clamped to the object, or nothing
//! when it is unsatisfiable.

#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use xbak_fuzz::lines;
use xbak_server::download::parse_range;

fuzz_target!(|data: &[u8]| {
    let Some((head, spec)) = lines(data, 1) else {
        return;
    };
    let Ok(size) = head[0].parse::<u64>() else {
        return;
    };
    let got = parse_range(spec, size);
    if let Some(r) = &got {
        assert!(
            r.start < r.end && r.end <= size,
            "{spec:?} on {size} bytes gave {r:?}"
        );
        let written = format!("bytes={}-{}", r.start, r.end - 1);
        assert_eq!(parse_range(&written, size).as_ref(), Some(r), "{written}");
    }
    if let Some(expected) = strict(spec, size) {
        assert_eq!(got, expected, "{spec:?} on {size} bytes");
    }
});

/// The answer RFC 9110 gives for a strictly formed single range; `None` for any other value.
fn strict(spec: &str, size: u64) -> Option<Option<Range<u64>>> {
    let (first, last) = spec.strip_prefix("bytes=")?.split_once('-')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    Some(match (first, last) {
        ("", suffix) => {
            let n = number(suffix)?;
            (n > 0 && size > 0).then(|| size - n.min(size)..size)
        }
        (first, "") => {
            let first = number(first)?;
            (first < size).then_some(first..size)
        }
        (first, last) => {
            let (first, last) = (number(first)?, number(last)?);
            (first <= last && first < size).then(|| first..last.saturating_add(1).min(size))
        }
    })
}
