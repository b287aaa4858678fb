//! Response format negotiation (PROTOCOL §5.2): the `Format` parameter wins (case-insensitive:
//! the Tea SDKs send `json`), else JSON when `Accept` mentions `json` (every v3 call sends
//! `accept: application/json`), else XML, the documented RPC default.

/// The body format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/json;charset=utf-8`.
    Json,
    /// `text/xml;charset=utf-8`.
    Xml,
}

impl Format {
    /// Picks the format from the `Format` parameter (query or form body) and the `Accept` header.
    ///
    /// A blank or unrecognised `Format` value is ignored and the `Accept` rule applies.
    pub fn negotiate(format_param: Option<&str>, accept: Option<&str>) -> Format {
        match format_param {
            Some(f) if f.eq_ignore_ascii_case("json") => return Format::Json,
            Some(f) if f.eq_ignore_ascii_case("xml") => return Format::Xml,
            _ => {}
        }
        match accept {
            Some(a) if contains_ignore_ascii_case(a.as_bytes(), b"json") => Format::Json,
            _ => Format::Xml,
        }
    }

    /// The `Content-Type` header value. The XML value is the exact string Tea-Python tests for
    /// before parsing an XML error (PROTOCOL §6.2).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=utf-8",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn param_wins_case_insensitively() {
        assert_eq!(Format::negotiate(Some("json"), None), Format::Json);
        assert_eq!(
            Format::negotiate(Some("JSON"), Some("text/xml")),
            Format::Json
        );
        assert_eq!(
            Format::negotiate(Some("XML"), Some("application/json")),
            Format::Xml
        );
        assert_eq!(Format::negotiate(Some("xml"), None), Format::Xml);
    }

    #[test]
    fn accept_then_xml_default() {
        assert_eq!(
            Format::negotiate(None, Some("application/json")),
            Format::Json
        );
        assert_eq!(
            Format::negotiate(Some(""), Some("Application/JSON")),
            Format::Json
        );
        assert_eq!(Format::negotiate(Some("raw"), Some("*/*")), Format::Xml);
        assert_eq!(Format::negotiate(None, Some("*/*")), Format::Xml);
        assert_eq!(Format::negotiate(None, None), Format::Xml);
        assert_eq!(Format::negotiate(None, Some("")), Format::Xml);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::Json.content_type(),
            "application/json;charset=utf-8"
        );
        assert_eq!(Format::Xml.content_type(), "text/xml;charset=utf-8");
    }
}
