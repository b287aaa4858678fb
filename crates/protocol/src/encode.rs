//! RFC 3986 percent-encoding as every Alibaba SDK applies it when signing (PROTOCOL §2.2):
//! unreserved bytes `A–Z a–z 0–9 - _ . ~` are kept, every other UTF-8 byte becomes `%XX` with
//! upper-case hex (so space is `%20`, never `+`, and `*` is `%2A`).
//!
//! The one home of xbak's percent-encoding: the signers here and the download links of
//! `xbak-storage` encode with [`rfc3986_into`] and [`rfc3986_path_into`] (hot paths), the DSNs of
//! `xbak-domain` with the same sets as `percent-encoding` [`AsciiSet`]s, [`RFC3986`] and
//! [`RFC3986_PATH`].
//! Also [`decimal`], integers in decimal without the `fmt` machinery, for the hot paths that
//! write numbers (XML pages, download links).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// What a query value or a path segment encodes: every byte except the RFC 3986 unreserved
/// set (`A–Z a–z 0–9 - _ . ~`).
pub const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What a path of segments encodes: [`RFC3986`] with the separator `/` kept.
pub const RFC3986_PATH: &AsciiSet = &RFC3986.remove(b'/');

/// Percent-encodes `s` per RFC 3986 (unreserved kept, others `%XX`, upper-case hex).
pub fn rfc3986(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    rfc3986_into(&mut out, s);
    out
}

/// Appends the RFC 3986 encoding of `s` to `out` (what [`RFC3986`] encodes).
pub fn rfc3986_into(out: &mut String, s: &str) {
    encode_into(out, s, &KEPT, "%");
}

/// Appends the encoding of `s` as a path to `out`: [`rfc3986_into`] with `/` kept (what
/// [`RFC3986_PATH`] encodes).
pub fn rfc3986_path_into(out: &mut String, s: &str) {
    encode_into(out, s, &KEPT_IN_PATH, "%");
}

/// Appends `rfc3986(rfc3986(s))` to `out` in one pass: an encoded byte's `%` is itself encoded,
/// so it becomes `%25XX` (the v1 string-to-sign encodes the already encoded canonical query).
pub(crate) fn rfc3986_twice_into(out: &mut String, s: &str) {
    encode_into(out, s, &KEPT, "%25");
}

/// The order of `rfc3986(a)` and `rfc3986(b)` in bytes, without encoding either.
///
/// Both encodings agree up to the first byte where `a` and `b` differ. There, a kept byte (an
/// ASCII letter, digit, `-`, `.`, `_` or `~`, all above `%`) sorts after an encoded one (`%`),
/// and two encoded bytes sort by value (upper-case hex keeps the order of the numbers).
pub(crate) fn cmp_encoded(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some(i) => {
            let (x, y) = (a[i], b[i]);
            match (KEPT[usize::from(x)], KEPT[usize::from(y)]) {
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ => x.cmp(&y),
            }
        }
    }
}

/// Which bytes [`RFC3986`] keeps, by byte value.
const KEPT: [bool; 256] = kept_bytes(false);
/// Which bytes [`RFC3986_PATH`] keeps.
const KEPT_IN_PATH: [bool; 256] = kept_bytes(true);
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

const fn kept_bytes(slash: bool) -> [bool; 256] {
    let mut kept = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        kept[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'_' | b'.' | b'~')
            || (slash && c == b'/');
        b += 1;
    }
    kept
}

/// Copies `s` to `out`, each byte not in `kept` as `escape` and two upper-case hex digits.
///
/// Hand-written rather than `percent_encoding::utf8_percent_encode`: on the API's hot path (the
/// signature check of every request, 30 download links per page) the crate's chunk iterator
/// and `Display` plumbing cost several times this loop (bench/results.md, 2026-12-06T07:00Z).
/// The sets are the same ([`RFC3986`], [`RFC3986_PATH`]); tests compare the two on every byte.
fn encode_into(out: &mut String, s: &str, kept: &[bool; 256], escape: &str) {
    let bytes = s.as_bytes();
    // Start of the run of kept bytes not yet copied. Kept bytes are ASCII, so a non-empty run
    // starts and ends on character boundaries.
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !kept[usize::from(b)] {
            if run < i {
                out.push_str(&s[run..i]);
            }
            out.push_str(escape);
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0xf)]));
            run = i + 1;
        }
    }
    if run < bytes.len() {
        out.push_str(&s[run..]);
    }
}

/// `n` in decimal, written at the end of `buf` (40 bytes hold any `i128`; a shorter `buf` than
/// the number needs panics).
pub fn decimal(n: impl Into<i128>, buf: &mut [u8]) -> &str {
    let n: i128 = n.into();
    let mut pos = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    std::str::from_utf8(&buf[pos..]).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::{
        cmp_encoded, decimal, rfc3986, rfc3986_into, rfc3986_path_into, rfc3986_twice_into,
        RFC3986, RFC3986_PATH,
    };
    use percent_encoding::{utf8_percent_encode, AsciiSet};

    /// The crate's encoding with `set`: what the hand-written encoders must equal.
    fn reference(s: &str, set: &'static AsciiSet) -> String {
        utf8_percent_encode(s, set).to_string()
    }

    /// Every one-character string of the first 256 code points and some wider ones, then
    /// pseudo-random strings over an alphabet of kept, encoded and multi-byte characters, short
    /// and few enough characters that many pairs share a prefix.
    fn samples() -> Vec<String> {
        let mut out: Vec<String> = (0..=255u32)
            .chain([0x7ff, 0x800, 0x4e2d, 0xffff, 0x1f600])
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        let alphabet = [
            'a', 'Z', '0', '-', '.', '_', '~', '/', ' ', '%', '+', '=', '&', '*', '\0', '\u{7f}',
            'é', '中', '😀',
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..600 {
            let len = next() % 7;
            out.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        out
    }

    fn encoded(s: &str, encode: fn(&mut String, &str)) -> String {
        let mut out = String::from("prefix ");
        encode(&mut out, s);
        out.split_off("prefix ".len())
    }

    #[test]
    fn the_hand_written_encoders_equal_the_crates() {
        for s in samples() {
            assert_eq!(encoded(&s, rfc3986_into), reference(&s, RFC3986), "{s:?}");
            assert_eq!(rfc3986(&s), reference(&s, RFC3986), "{s:?}");
            assert_eq!(
                encoded(&s, rfc3986_path_into),
                reference(&s, RFC3986_PATH),
                "{s:?}"
            );
            assert_eq!(
                encoded(&s, rfc3986_twice_into),
                reference(&reference(&s, RFC3986), RFC3986),
                "{s:?}"
            );
        }
    }

    #[test]
    fn cmp_encoded_is_the_order_of_the_encodings() {
        let samples = samples();
        let encodings: Vec<String> = samples.iter().map(|s| reference(s, RFC3986)).collect();
        for (a, ea) in samples.iter().zip(&encodings) {
            for (b, eb) in samples.iter().zip(&encodings) {
                assert_eq!(cmp_encoded(a, b), ea.cmp(eb), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn decimal_covers_the_extremes() {
        let mut buf = [0; 40];
        for n in [
            0,
            7,
            -7,
            1141889120,
            i128::from(i64::MIN),
            i128::MIN,
            i128::MAX,
        ] {
            assert_eq!(decimal(n, &mut buf), n.to_string());
        }
    }

    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(rfc3986("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(rfc3986("a b*c/d:e"), "a%20b%2Ac%2Fd%3Ae");
        assert_eq!(rfc3986("+=&%"), "%2B%3D%26%25");
        assert_eq!(rfc3986("é"), "%C3%A9");
        assert_eq!(rfc3986(""), "");
    }

    #[test]
    fn paths_keep_their_separators() {
        let path = percent_encoding::utf8_percent_encode("p/a b+c/f~.xb", RFC3986_PATH);
        assert_eq!(path.to_string(), "p/a%20b%2Bc/f~.xb");
        assert_eq!(rfc3986("p/a"), "p%2Fa");
    }
}
