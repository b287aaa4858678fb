//! [`redact`]: the one function that takes secrets out of text before it is shown, logged or
//! returned in an error: store URLs (`s3://KEY:SECRET@bucket?endpoint=…`), catalog URLs
//! (`postgres://user:password@host/db`), database DSNs (`mysql://user:password@host`) and any
//! message holding them.
//!
//! It works on text, not on parsed URLs, so a URL that does not parse (the very case an error
//! message reports) is redacted all the same, as is one nested in another's query
//! (`endpoint=http://user:pass@host`), percent-encoded or not.

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// `text` with every secret replaced by [`MASK`]:
///
/// - the password of every `scheme://user:password@host` in it (the user stays, so the message
///   still says who), also when the `://`, `:` and `@` are percent-encoded; a password holding
///   a raw `@` or `/` is masked up to the last `@` of its URL;
/// - the value of every `key=value` whose key names a secret (`password`, `secret`, `token`,
///   `passwd`, `pwd`, in any case and inside longer names such as `sslpassword` or
///   `aws_session_token`).
///
/// When in doubt it masks more, never less.
pub fn redact(text: &str) -> String {
    let masked = mask_userinfo(text);
    mask_secret_params(&masked)
}

/// Characters that end a URL inside a message.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b',' | b';')
}

/// At `i`: the length of `c` there, literally or percent-encoded (`%3A` for `:`), else 0.
fn symbol_len(s: &[u8], i: usize, c: u8) -> usize {
    if s.get(i) == Some(&c) {
        return 1;
    }
    let hex = format!("%{c:02X}");
    match s.get(i..i + 3) {
        Some(h) if h.eq_ignore_ascii_case(hex.as_bytes()) => 3,
        _ => 0,
    }
}

/// At `i`: the length of a `://` there (plain or percent-encoded), else 0.
fn separator_len(s: &[u8], i: usize) -> usize {
    let colon = symbol_len(s, i, b':');
    if colon == 0 {
        return 0;
    }
    let slash = symbol_len(s, i + colon, b'/');
    if slash == 0 {
        return 0;
    }
    let slash2 = symbol_len(s, i + colon + slash, b'/');
    if slash2 == 0 {
        return 0;
    }
    colon + slash + slash2
}

/// Masks the password of every `scheme://user:password@…` in `text`.
fn mask_userinfo(text: &str) -> String {
    mask_spans(text, |s, i, _| {
        let sep = separator_len(s, i);
        if sep == 0 {
            return None;
        }
        let start = i + sep;
        Some(Hit {
            mask: password_span(s, start, url_end(s, start)),
            resume: start,
        })
    })
}

/// What [`mask_spans`]'s finder saw at a position: the span to hide, if any, and where to look
/// on from (never before the end of a hidden span).
struct Hit {
    mask: Option<(usize, usize)>,
    resume: usize,
}

/// Copies `text` with the spans `find` reports replaced by [`MASK`]. `find(bytes, i, copied)`
/// looks at position `i` (`copied`: where the text not yet copied starts); `None` moves on by
/// one byte.
fn mask_spans(text: &str, mut find: impl FnMut(&[u8], usize, usize) -> Option<Hit>) -> String {
    let s = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let Some(hit) = find(s, i, copied) else {
            i += 1;
            continue;
        };
        if let Some((from, to)) = hit.mask {
            out.push_str(&text[copied..from]);
            out.push_str(MASK);
            copied = to;
        }
        i = hit.resume.max(copied);
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the URL whose authority starts at `start` ends: at a character that ends URLs, or
/// where a URL nested in its query (`?endpoint=http://…`) begins.
fn url_end(s: &[u8], start: usize) -> usize {
    let mut in_query = false;
    for j in start..s.len() {
        if ends_url(s[j]) || (in_query && separator_len(s, j) > 0) {
            return j;
        }
        in_query |= symbol_len(s, j, b'?') > 0 || symbol_len(s, j, b'=') > 0;
    }
    s.len()
}

/// The password of the authority starting at `start` in a URL ending at `end`: after the
/// user's `:`, up to the URL's last `@`.
fn password_span(s: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let mut j = start;
    let colon = loop {
        if j >= end {
            return None;
        }
        let colon = symbol_len(s, j, b':');
        if colon > 0 {
            break colon;
        }
        if matches!(s[j], b'@' | b'/' | b'?' | b'#' | b'&' | b'=') || symbol_len(s, j, b'@') > 0 {
            return None;
        }
        j += 1;
    };
    let from = j + colon;
    let at = (from..end).rev().find(|&k| symbol_len(s, k, b'@') > 0)?;
    (at > from).then_some((from, at))
}

/// Whether a parameter name names a secret.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token"]
        .iter()
        .any(|w| key.contains(w))
}

/// Masks the value of every `key=value` (also `key%3Dvalue`) whose key names a secret.
fn mask_secret_params(text: &str) -> String {
    mask_spans(text, |s, i, copied| {
        let eq = symbol_len(s, i, b'=');
        if eq == 0 {
            return None;
        }
        let key_start = (0..i)
            .rev()
            .find(|&k| !(s[k].is_ascii_alphanumeric() || matches!(s[k], b'_' | b'-' | b'.')))
            .map_or(0, |k| k + 1);
        let from = i + eq;
        let to = (from..s.len())
            .find(|&k| ends_url(s[k]) || s[k] == b'&' || symbol_len(s, k, b'&') > 0)
            .unwrap_or(s.len());
        let secret = key_start >= copied && is_secret_key(&text[key_start..i]) && to > from;
        Some(Hit {
            mask: secret.then_some((from, to)),
            resume: from,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `text` redacts to `want` and that no trace of `secret` is left.
    fn check(text: &str, secret: &str, want: &str) {
        let got = redact(text);
        assert_eq!(got, want, "{text}");
        assert!(!got.contains(secret), "{text} -> {got}");
    }

    #[test]
    fn passwords_in_userinfo() {
        check(
            "s3://AK:sekrit@bkt/p?region=x",
            "sekrit",
            "s3://AK:***@bkt/p?region=x",
        );
        check(
            "postgres://xbak:pg-pass@db.internal:5432/xbak",
            "pg-pass",
            "postgres://xbak:***@db.internal:5432/xbak",
        );
        check(
            "mysql://root:my%40pw@127.0.0.1:3306",
            "my%40pw",
            "mysql://root:***@127.0.0.1:3306",
        );
        // Raw `@`, `/`, `?` and spaces in a password: an URL no parser accepts.
        check("s3://AK:p@ss@bkt", "ss", "s3://AK:***@bkt");
        check("s3://AK:se/cr?et@bkt/x", "cr?et", "s3://AK:***@bkt/x");
        check(
            "opening region cn at s3://AK:top-secret@bkt: failed",
            "top",
            "opening region cn at s3://AK:***@bkt: failed",
        );
        check(
            "store URL \"s3://AK:a://b@bkt\": bad",
            "a:",
            "store URL \"s3://AK:***@bkt\": bad",
        );
        // No password: nothing to hide.
        for plain in [
            "file:///srv/xbak",
            "s3://bkt/p?endpoint=https://oss.example.com",
            "postgres://xbak@db/xbak",
            "http://127.0.0.1:8080/",
        ] {
            assert_eq!(redact(plain), plain);
        }
    }

    #[test]
    fn credentials_nested_in_query_values() {
        check(
            "s3://bkt?endpoint=http://u:endpoint-pw@127.0.0.1:9000&region=r",
            "endpoint-pw",
            "s3://bkt?endpoint=http://u:***@127.0.0.1:9000&region=r",
        );
        check(
            "s3://AK:one@bkt?endpoint=http://u:two@127.0.0.1:9000",
            "two",
            "s3://AK:***@bkt?endpoint=http://u:***@127.0.0.1:9000",
        );
        let encoded = "s3://bkt?endpoint=http%3A%2F%2Fu%3Aenc-pw%40127.0.0.1%3A9000&region=r";
        check(
            encoded,
            "enc-pw",
            "s3://bkt?endpoint=http%3A%2F%2Fu%3A***%40127.0.0.1%3A9000&region=r",
        );
    }

    #[test]
    fn secret_parameters() {
        check(
            "postgres://xbak@db/xbak?sslmode=require&password=qp-pw&application_name=x",
            "qp-pw",
            "postgres://xbak@db/xbak?sslmode=require&password=***&application_name=x",
        );
        check(
            "s3://bkt?aws_session_token=tok123&SECRET_KEY=s2 sslpassword=k3",
            "tok123",
            "s3://bkt?aws_session_token=***&SECRET_KEY=*** sslpassword=***",
        );
        assert!(!redact("a?secret_key=s2").contains("s2"));
        check("x?token%3Dt0k%26y=1", "t0k", "x?token%3D***%26y=1");
        // Other parameters stay.
        let plain = "s3://bkt?region=cn&copy_if_not_exists=header:x-oss-forbid-overwrite:true";
        assert_eq!(redact(plain), plain);
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let once = redact("s3://AK:p@bkt?endpoint=http://u:q@h&token=t");
        assert_eq!(redact(&once), once);
    }
}
