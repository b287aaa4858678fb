//! Test helpers shared by the integration tests (and the fuzz targets): a small XML tree built
//! with quick-xml, golden file access, a deterministic pseudo-random generator, and the
//! `percent-encoding` crate's query decoding and v1 string-to-sign, which the protocol's
//! hand-written ones must equal.
#![allow(dead_code)]

use std::path::PathBuf;

use quick_xml::events::Event;
use quick_xml::Reader;
use xbak_protocol::encode::RFC3986;
use xbak_protocol::sign::{v1, IncomingRequest};
use xbak_protocol::RawParams;

/// An XML element: name, its own text (entities and CDATA resolved) and child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`, panicking when absent.
    pub fn text_of(&self, name: &str) -> &str {
        &self
            .child(name)
            .unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name))
            .text
    }
}

/// Parses a whole document into its root element; panics on malformed XML.
pub fn parse_xml(bytes: &[u8]) -> Node {
    let text = std::str::from_utf8(bytes).expect("XML is UTF-8");
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let new = |name: &[u8]| Node {
        name: String::from_utf8(name.to_vec()).unwrap(),
        text: String::new(),
        children: Vec::new(),
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(new(e.name().as_ref())),
            Event::Empty(e) => push_child(&mut stack, &mut root, new(e.name().as_ref())),
            Event::End(_) => {
                let node = stack.pop().expect("balanced tags");
                push_child(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content().unwrap());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().unwrap() {
                    Some(ch) => ch.to_string(),
                    None => {
                        let name = r.decode().unwrap();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .unwrap_or_else(|| panic!("unknown entity {name}"))
                            .to_owned()
                    }
                };
                stack
                    .last_mut()
                    .expect("ref inside element")
                    .text
                    .push_str(&resolved);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    root.expect("a root element")
}

fn push_child(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => {
            assert!(root.is_none(), "a single root");
            *root = Some(node);
        }
    }
}

/// Path of a file under `tests/golden/`.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file byte for byte; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn assert_golden(name: &str, actual: &[u8]) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        expected == actual,
        "{name} differs from golden:\n--- expected\n{}\n--- actual\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

/// xorshift64*: deterministic, dependency-free randomness for the hostile-input loops.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Bytes biased towards the characters that matter to the decoders.
    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        const SPECIAL: &[u8] = b"&=+%%%0123456789ABCDEFabcdefzZ:T-\xff\xc3\xa9\x80\x00 ";
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| {
                if self.below(3) == 0 {
                    self.next_u64() as u8
                } else {
                    SPECIAL[self.below(SPECIAL.len())]
                }
            })
            .collect()
    }
}

/// A v1 request as the server sees it: `params` in the query string of a `method` to `/`, no
/// headers and no body.
pub fn v1_incoming<'a>(method: &'a str, params: &'a RawParams) -> IncomingRequest<'a> {
    IncomingRequest {
        method,
        path: "/",
        query: params,
        params,
        headers: &[],
        body: b"",
    }
}

/// [`RawParams::parse_urlencoded`] as the `percent-encoding` crate decodes: split on `&` (empty
/// segments skipped) and at the first `=`, `+` to space, percent-decode, lossy UTF-8.
pub fn reference_parse(input: &[u8]) -> RawParams {
    let decode = |raw: &[u8]| {
        let plus_fixed: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded: Vec<u8> = percent_encoding::percent_decode(&plus_fixed).collect();
        String::from_utf8_lossy(&decoded).into_owned()
    };
    input
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.iter().position(|&b| b == b'=') {
            Some(i) => (decode(&segment[..i]), decode(&segment[i + 1..])),
            None => (decode(segment), String::new()),
        })
        .collect()
}

/// The v1 string-to-sign as PROTOCOL §2.3 words it, step by step, with the `percent-encoding`
/// crate: encode each key and value, sort the pairs, join them, encode the joined string.
pub fn reference_string_to_sign(method: &str, params: &RawParams) -> String {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, RFC3986).to_string();
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| *k != v1::SIGNATURE_PARAM)
        .map(|(k, v)| (enc(k), enc(v)))
        .collect();
    pairs.sort();
    let canonical: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}&%2F&{}", enc(&canonical.join("&")))
}
