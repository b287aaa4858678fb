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

/// Room beyond the last body's size: sonic-rs reserves six times a string's length before it
/// writes the string, so a buffer sized to the byte grew (a copy of the whole page) at one of the
/// last long strings of nearly every page, ~1.4 % of an uncached listing's instructions
/// (bench/results.md, 2026-12-06T03:40Z). 4 KiB covers strings up to ~680 bytes.
const SLACK: usize = 4096;

/// Renders `body` in `format`.
pub fn render<T: SuccessBody>(body: &T, format: Format) -> Vec<u8> {
    let last = &LAST_SIZE[T::ACTION as usize];
    let mut out = Vec::with_capacity(last.load(Ordering::Relaxed) + SLACK);
    match format {
        // sonic-rs rather than serde_json: the same serde model and the same bytes (tested below),
        // but it scans strings for characters to escape with SIMD, where serde_json looks at each
        // byte: that scan was two thirds of rendering a 30-item listing page (16.9 -> 8.9 µs in
        // `cargo bench --bench wire`; bench/results.md, 2026-12-05T21:20Z).
        Format::Json => {
            sonic_rs::to_writer(&mut out, body).expect("serializing the model cannot fail")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::describe_cross_region_backups::{
        CrossRegionBackupItem, DescribeCrossRegionBackupsResponse,
    };

    /// Every ASCII character (controls, quote, backslash, DEL), the line separators JavaScript
    /// cares about, and characters of two, three and four UTF-8 bytes.
    fn awkward(n: usize) -> String {
        let mut s: String = (0u8..=0x7f).map(char::from).collect();
        s.push_str("\u{2028}\u{2029}é€😀\"\\/");
        s.push_str(&"x".repeat(n));
        s
    }

    /// The JSON body is what serde_json writes for the same model, byte for byte: every string
    /// escaped the same way, optional fields omitted the same way, integers at their extremes.
    #[test]
    fn json_bodies_are_serde_json_bytes() {
        let item = |n: usize| CrossRegionBackupItem {
            backup_end_time: awkward(n),
            backup_method: awkward(n + 1),
            backup_set_scale: i64::MIN,
            backup_set_status: i64::MAX,
            cross_backup_download_link: awkward(300 + n),
            restore_regions: vec![awkward(n + 2), String::new()],
            ..CrossRegionBackupItem::default()
        };
        let pages = [
            DescribeCrossRegionBackupsResponse::default(),
            DescribeCrossRegionBackupsResponse {
                request_id: awkward(0),
                region_id: awkward(7),
                start_time: Some(awkward(3)),
                end_time: None,
                total_record_count: u64::MAX,
                page_number: u32::MAX,
                page_record_count: 3,
                items: (0..3).map(item).collect(),
            },
        ];
        for page in &pages {
            let ours = render(page, Format::Json);
            let theirs = serde_json::to_vec(page).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }
}
