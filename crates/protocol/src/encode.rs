//! RFC 3986 percent-encoding as every Alibaba SDK applies it when signing (PROTOCOL §2.2):
//! unreserved bytes `A–Z a–z 0–9 - _ . ~` are kept, every other UTF-8 byte becomes `%XX` with
//! upper-case hex (so space is `%20`, never `+`, and `*` is `%2A`).
//!
//! The one home of xbak's percent-encoding sets: the signers here, the download links of
//! `xbak-storage` and the DSNs of `xbak-domain` encode with [`RFC3986`] and [`RFC3986_PATH`].
//! Also [`decimal`], integers in decimal without the `fmt` machinery, for the hot paths that
//! write numbers (XML pages, download links).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Appends the RFC 3986 encoding of `s` to `out` (no intermediate allocation).
pub(crate) fn rfc3986_into(out: &mut String, s: &str) {
    for chunk in utf8_percent_encode(s, RFC3986) {
        out.push_str(chunk);
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
    use super::{decimal, rfc3986, RFC3986_PATH};

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
