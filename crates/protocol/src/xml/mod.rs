//! A tiny append-only XML writer for our fixed response shapes. Hand-written rather than a
//! generic serializer because it is on the hot path: text without special characters is copied
//! as is; `&`, `<`, `>` and CR are escaped; characters XML 1.0 cannot carry become U+FFFD.

mod fields;

pub(crate) use fields::write_fields;

/// `<?xml version='1.0' encoding='UTF-8'?>`, single quotes and no newline, as Alibaba's gateway.
pub(crate) const DECLARATION: &str = "<?xml version='1.0' encoding='UTF-8'?>";

pub(crate) fn open(out: &mut Vec<u8>, name: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

pub(crate) fn close(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// `<name>escaped text</name>`.
pub(crate) fn text_element(out: &mut Vec<u8>, name: &str, text: &str) {
    open(out, name);
    escape_text(out, text);
    close(out, name);
}

/// `<name>n</name>` for an integer.
pub(crate) fn num_element(out: &mut Vec<u8>, name: &str, n: impl Into<i128>) {
    open(out, name);
    push_int(out, n.into());
    close(out, name);
}

/// Appends the decimal form of `n` (no `fmt` machinery: this runs ~200 times per page).
fn push_int(out: &mut Vec<u8>, n: i128) {
    out.extend_from_slice(crate::encode::decimal(n, &mut [0; 40]).as_bytes());
}

/// `<name><![CDATA[text]]></name>`; a `]]>` inside `text` is split across two sections.
pub(crate) fn cdata_element(out: &mut Vec<u8>, name: &str, text: &str) {
    open(out, name);
    out.extend_from_slice(b"<![CDATA[");
    let mut sanitized = Vec::with_capacity(text.len());
    escape_with(&mut sanitized, text, false);
    let body = String::from_utf8(sanitized).unwrap_or_default();
    out.extend_from_slice(body.replace("]]>", "]]]]><![CDATA[>").as_bytes());
    out.extend_from_slice(b"]]>");
    close(out, name);
}

/// Appends `text` with `&`, `<`, `>` and CR escaped and XML-1.0-invalid characters replaced.
pub(crate) fn escape_text(out: &mut Vec<u8>, text: &str) {
    escape_with(out, text, true);
}

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Copies runs of ordinary bytes in one go and substitutes only the special ones.
fn escape_with(out: &mut Vec<u8>, text: &str, markup: bool) {
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        let (replacement, width): (&[u8], usize) = match bytes[i] {
            b'&' if markup => (b"&amp;", 1),
            b'<' if markup => (b"&lt;", 1),
            b'>' if markup => (b"&gt;", 1),
            // A raw CR reaches an XML parser as LF (XML 1.0 §2.11); the reference keeps it.
            b'\r' if markup => (b"&#13;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            0..=0x1F => (REPLACEMENT, 1),
            // U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters either.
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                (REPLACEMENT, 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        i += width;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        escape_text(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_markup_and_invalid_chars() {
        assert_eq!(esc("plain é 中"), "plain é 中");
        assert_eq!(esc("a&b<c>d"), "a&amp;b&lt;c&gt;d");
        assert_eq!(
            esc("x\u{1}y\tz\u{FFFF}\u{FFFE}\u{FFFD}\u{EFFF}"),
            "x\u{FFFD}y\tz\u{FFFD}\u{FFFD}\u{FFFD}\u{EFFF}"
        );
        assert_eq!(esc("\t\n"), "\t\n");
    }

    #[test]
    fn carriage_returns_survive_line_end_normalisation() {
        // Found by fuzz/render: a raw "\r" or "\r\n" was read back by XML parsers as "\n".
        assert_eq!(esc("a\rb\r\nc"), "a&#13;b&#13;\nc");
        let mut doc = Vec::new();
        text_element(&mut doc, "D", "x\r\ny\r");
        let mut reader = quick_xml::Reader::from_reader(doc.as_slice());
        let mut text = String::new();
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf).unwrap() {
                quick_xml::events::Event::Text(t) => text.push_str(&t.xml10_content().unwrap()),
                quick_xml::events::Event::GeneralRef(r) => {
                    text.push(r.resolve_char_ref().unwrap().unwrap())
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        assert_eq!(text, "x\r\ny\r");
    }

    #[test]
    fn integers() {
        let mut v = Vec::new();
        for n in [0i64, 7, -7, 2179643, i64::MIN, i64::MAX] {
            v.clear();
            push_int(&mut v, n.into());
            assert_eq!(String::from_utf8(v.clone()).unwrap(), n.to_string());
        }
        push_int(&mut v, u64::MAX.into());
        assert!(String::from_utf8(v)
            .unwrap()
            .ends_with(&u64::MAX.to_string()));
    }

    #[test]
    fn cdata_splits_terminator() {
        let mut v = Vec::new();
        cdata_element(&mut v, "R", "a]]>b&c");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "<R><![CDATA[a]]]]><![CDATA[>b&c]]></R>"
        );
    }
}
