//! RequestIds: upper-case UUID v4 with dashes, the shape Alibaba returns
//! (`60912B41-7579-4B5D-B289-8856030F0A6A`). Every response carries one (PROTOCOL §5.3).

/// A fresh RequestId, e.g. `60912B41-7579-4B5D-B289-8856030F0A6A`.
pub fn new_request_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_upper(&mut buf)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::new_request_id;

    #[test]
    fn upper_case_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        for (i, c) in id.chars().enumerate() {
            if [8, 13, 18, 23].contains(&i) {
                assert_eq!(c, '-');
            } else {
                assert!(c.is_ascii_digit() || ('A'..='F').contains(&c), "{id}");
            }
        }
        assert_ne!(new_request_id(), id);
    }
}
