//! Request parameters as received: the decoded `k=v` pairs of the query string and of an
//! `application/x-www-form-urlencoded` body, in order, blanks kept (PROTOCOL §2.3 step 1: core
//! signs `SignatureType=`, so dropping empty values would break every core call).

/// Decoded parameters in received order. Keys may repeat; empty values are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawParams(pub Vec<(String, String)>);

impl RawParams {
    /// Decodes `application/x-www-form-urlencoded` bytes (a query string or a form body).
    ///
    /// Splits on `&` (empty segments are skipped), splits each segment at the first `=`,
    /// turns `+` into a space, then percent-decodes; invalid UTF-8 becomes U+FFFD and malformed
    /// escapes such as `%zz` are kept literally. `k=` and a bare `k` both yield `("k", "")`.
    /// Never panics, whatever the input.
    pub fn parse_urlencoded(input: &[u8]) -> RawParams {
        let mut out = Vec::new();
        for segment in input.split(|&b| b == b'&') {
            if segment.is_empty() {
                continue;
            }
            let (k, v) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &[][..]),
            };
            out.push((decode_component(k), decode_component(v)));
        }
        RawParams(out)
    }

    /// Appends `other`'s pairs after ours (query first, then form body).
    pub fn extend(&mut self, other: RawParams) {
        self.0.extend(other.0);
    }

    /// Adds one pair at the end.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.push((key.into(), value.into()));
    }

    /// The value of the first pair whose key is exactly `key` (case-sensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Like [`RawParams::get`], but an empty value counts as absent (the SDKs may send blanks).
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// All pairs in received order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for RawParams {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        RawParams(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// `+` -> space, then percent-decode, then lossy UTF-8.
///
/// Hand-written rather than `percent_encoding::percent_decode` plus `from_utf8_lossy`: every
/// request's query goes through here, and a component without `%` or `+` (most of them) is
/// only checked and copied (bench/results.md, 2026-12-06T07:00Z). tests/hostile.rs and the
/// `params_decode` fuzz target hold it to the crate's result.
fn decode_component(raw: &[u8]) -> String {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let escaped = match (b, raw.get(i + 1), raw.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            None => {
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::RawParams;

    fn pairs(p: &RawParams) -> Vec<(&str, &str)> {
        p.iter().collect()
    }

    #[test]
    fn decodes_plus_percent_and_blanks() {
        let p = RawParams::parse_urlencoded(b"a=1+2&b=%2B%20x&c=&d&&e=x=y&=v");
        assert_eq!(
            pairs(&p),
            [
                ("a", "1 2"),
                ("b", "+ x"),
                ("c", ""),
                ("d", ""),
                ("e", "x=y"),
                ("", "v")
            ]
        );
    }

    #[test]
    fn malformed_escapes_and_bad_utf8_are_kept_lossily() {
        let p = RawParams::parse_urlencoded(b"k=%zz%4&x=%FF%C3%A9");
        assert_eq!(p.get("k"), Some("%zz%4"));
        assert_eq!(p.get("x"), Some("\u{FFFD}é"));
    }

    #[test]
    fn get_is_first_occurrence_exact_case_and_extend_appends() {
        let mut p = RawParams::parse_urlencoded(b"K=1&k=2&k=3&e=");
        assert_eq!(p.get("k"), Some("2"));
        assert_eq!(p.get("K"), Some("1"));
        assert_eq!(p.get("e"), Some(""));
        assert_eq!(p.get_nonempty("e"), None);
        assert_eq!(p.get("missing"), None);
        p.extend(RawParams::parse_urlencoded(b"z=9"));
        assert_eq!(p.len(), 5);
        assert_eq!(p.get("z"), Some("9"));
    }
}
