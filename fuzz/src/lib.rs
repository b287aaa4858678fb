//! What the fuzz targets share: a real XML parser's and a real JSON parser's view of a rendered
//! body as `(path, text)` leaves, so one target can check that both renderings of a model carry
//! the same data, the query-string encoding the SDKs use, and (from the protocol tests' helpers)
//! the `percent-encoding` crate's decoding and string-to-sign that the protocol's hand-written
//! ones must equal.

use serde_json::Value;
use xbak_protocol::encode::rfc3986;
use xbak_protocol::RawParams;

/// The protocol tests' XML tree (quick-xml, entities and CDATA resolved, line ends normalised
/// as XML 1.0 requires): one parser for the tests and the fuzz targets.
#[path = "../../crates/protocol/tests/common/mod.rs"]
mod common;

pub use common::{parse_xml, reference_parse, reference_string_to_sign, v1_incoming, Node};

/// The base64 alphabet of signatures, for [`replace_char`].
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A leaf of a rendered body: its path below the root (`Items/Item/CrossBackupId`) and its text.
pub type Leaf = (String, String);

/// The leaves of an XML document below its root element, in document order. An element without
/// children is a leaf (an empty wrapper such as `<Items></Items>` too). Panics on malformed XML.
pub fn xml_leaves(doc: &[u8]) -> (String, Vec<Leaf>) {
    let root = parse_xml(doc);
    let mut out = Vec::new();
    for child in &root.children {
        node_leaves(child, "", &mut out);
    }
    (root.name, out)
}

fn node_leaves(node: &Node, prefix: &str, out: &mut Vec<Leaf>) {
    let path = format!("{prefix}{}", node.name);
    if node.children.is_empty() {
        out.push((path, node.text.clone()));
        return;
    }
    assert!(
        node.text.is_empty(),
        "mixed content in <{}>: {:?}",
        node.name,
        node.text
    );
    for child in &node.children {
        node_leaves(child, &format!("{path}/"), out);
    }
}

/// The leaves of a JSON value in the XML shape: an array is its elements repeated under the
/// array's key, an empty array or object is an empty leaf at its wrapper's path (XML renders
/// `"Items":{"Item":[]}` as `<Items></Items>`), strings are their text as XML would carry it
/// ([`xml_text`]), numbers their decimal form.
pub fn json_leaves(value: &Value) -> Vec<Leaf> {
    let mut out = Vec::new();
    value_leaves(value, "", &mut out);
    out
}

fn value_leaves(value: &Value, path: &str, out: &mut Vec<Leaf>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}/{k}")
        }
    };
    match value {
        Value::Object(map) if map.is_empty() => out.push((path.to_owned(), String::new())),
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Array(items) if items.is_empty() => {
                        out.push((path.to_owned(), String::new()))
                    }
                    Value::Array(items) => {
                        for item in items {
                            value_leaves(item, &join(k), out);
                        }
                    }
                    other => value_leaves(other, &join(k), out),
                }
            }
        }
        Value::String(s) => out.push((path.to_owned(), xml_text(s))),
        Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        Value::Bool(b) => out.push((path.to_owned(), b.to_string())),
        Value::Null => out.push((path.to_owned(), String::new())),
        Value::Array(_) => panic!("bare JSON array at {path:?}: the SDKs need wrapper objects"),
    }
}

/// Sorts leaves by path, keeping document order among equal paths (the JSON map is sorted by
/// key, XML is in render order; list items keep theirs).
pub fn by_path(mut leaves: Vec<Leaf>) -> Vec<Leaf> {
    leaves.sort_by(|a, b| a.0.cmp(&b.0));
    leaves
}

/// What XML 1.0 can carry of `s`: characters outside its `Char` production (controls other
/// than tab, LF and CR; U+FFFE; U+FFFF) become U+FFFD, as the renderer documents.
pub fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            _ => c,
        })
        .collect()
}

/// `params` as a query string, each key and value RFC 3986-encoded, as the SDKs send them.
pub fn query_string(params: &RawParams) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Splits a text input into its first `N` lines and the rest (the seed corpora are written in
/// this shape so that they are readable wire examples). `None` when the input is not UTF-8 or
/// has fewer lines.
pub fn lines<const N: usize>(data: &[u8]) -> Option<([&str; N], &str)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.splitn(N + 1, '\n');
    let head: Vec<&str> = parts.by_ref().take(N).collect();
    let rest = parts.next()?;
    Some((head.try_into().ok()?, rest))
}

/// GET for POST and POST for GET; any other method gets a letter more.
pub fn other_method(method: &str) -> String {
    match method {
        "GET" => "POST".into(),
        "POST" => "GET".into(),
        other => format!("{other}X"),
    }
}

/// `s` with the character at byte `at % len` (an ASCII one) replaced by the next one in
/// `alphabet`; `None` when that character is not in it.
pub fn replace_char(s: &str, at: usize, alphabet: &[u8]) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let at = at % s.len();
    let current = s.as_bytes()[at];
    let i = alphabet.iter().position(|&b| b == current)?;
    let mut out = s.to_owned();
    let next = alphabet[(i + 1) % alphabet.len()] as char;
    out.replace_range(at..at + 1, &next.to_string());
    Some(out)
}
