//! The success body every action renders: its model as JSON, or the XML declaration and a
//! `<Action>Response` root around the model's fields as elements ([`xml::write_fields`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::actions::Action;
use crate::format::Format;
use crate::xml;

/// A response model: the success body of one action (declared in the `actions!` list).
pub trait SuccessBody: Serialize {
    /// The action it answers; its XML root is `<Name>Response`.
    const ACTION: Action;
}

/// The size of each action's last body, the first guess of the next one's: an action's
/// answers are alike in size (a page of 30 listing items is ~35 KB), and a buffer sized right
/// at once saves the hot listing path its reallocations.
static LAST_SIZE: [AtomicUsize; Action::ALL.len()] =
    [const { AtomicUsize::new(1024) }; Action::ALL.len()];

/// Renders `body` in `format`.
pub fn render<T: SuccessBody>(body: &T, format: Format) -> Vec<u8> {
    let last = &LAST_SIZE[T::ACTION as usize];
    let mut out = Vec::with_capacity(last.load(Ordering::Relaxed));
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, body).expect("serializing the model cannot fail")
        }
        Format::Xml => {
            let name = T::ACTION.name().as_bytes();
            out.extend_from_slice(xml::DECLARATION.as_bytes());
            out.push(b'<');
            out.extend_from_slice(name);
            out.extend_from_slice(b"Response>");
            xml::write_fields(&mut out, body);
            out.extend_from_slice(b"</");
            out.extend_from_slice(name);
            out.extend_from_slice(b"Response>");
        }
    }
    last.store(out.len(), Ordering::Relaxed);
    out
}

/// `body` rendered in JSON and in XML, as text.
#[cfg(test)]
pub(crate) fn rendered<T: SuccessBody>(body: &T) -> (String, String) {
    let text = |format| String::from_utf8(render(body, format)).expect("UTF-8");
    (text(Format::Json), text(Format::Xml))
}
