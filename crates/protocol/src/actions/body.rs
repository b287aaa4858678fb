//! The success body every action renders: its model as JSON, or the XML declaration and a
//! `<Action>Response` root around the elements the action writes.

use serde::Serialize;

use crate::format::Format;
use crate::xml;

/// Renders `model` in `format`. `capacity` is a first guess of the body's size; `elements`
/// writes the root's children in XML.
pub(crate) fn render_success<T: Serialize>(
    model: &T,
    format: Format,
    root: &str,
    capacity: usize,
    elements: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, model).expect("serializing the model cannot fail")
        }
        Format::Xml => {
            out.extend_from_slice(xml::DECLARATION.as_bytes());
            xml::open(&mut out, root);
            elements(&mut out);
            xml::close(&mut out, root);
        }
    }
    out
}
