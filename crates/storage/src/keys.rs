//! Object keys: what a valid key is, and where staging objects live.
//!
//! Keys are `/`-separated paths (`cross/rm-bp1/file_qp.xb`). Staging objects live under the
//! reserved first segment [`STAGING`]: `.staging/<token>/<key>`, where `<token>` is
//! `<unix seconds>-<uuid>`, unique per upload.

use crate::StorageError;
use object_store::path::Path;

/// First segment of every staging key. Never listed, never a publish target.
pub(crate) const STAGING: &str = ".staging";

/// Longest key accepted (S3's and OSS's limit).
const MAX_KEY_LEN: usize = 1024;

/// Parses any well-formed key, staging keys included (reads, deletes, checksums).
pub(crate) fn path(key: &str) -> Result<Path, StorageError> {
    let invalid = || StorageError::InvalidKey(key.to_owned());
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.starts_with('/') || key.ends_with('/') {
        return Err(invalid());
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(invalid());
        }
        if segment.chars().any(|c| c.is_control() || c == '\\') {
            return Err(invalid());
        }
    }
    // Local stores hide `name#123` files: they are their in-progress uploads.
    let file = key.rsplit('/').next().unwrap_or(key);
    if let Some((_, suffix)) = file.rsplit_once('#') {
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
    }
    Path::parse(key).map_err(|_| invalid())
}

/// Parses a key a visible object may have: well-formed and outside the staging area.
pub(crate) fn visible_path(key: &str) -> Result<Path, StorageError> {
    if is_staging(key) {
        return Err(StorageError::InvalidKey(key.to_owned()));
    }
    path(key)
}

/// Whether `key` lies in the staging area.
pub(crate) fn is_staging(key: &str) -> bool {
    key.split('/').next() == Some(STAGING)
}

/// A fresh staging key for an upload destined for `key`.
pub(crate) fn new_staging_key(key: &str) -> String {
    let secs = chrono::Utc::now().timestamp();
    format!("{STAGING}/{secs}-{}/{key}", uuid::Uuid::new_v4().simple())
}

/// The token segment (`<secs>-<uuid>`) of a staging key.
pub(crate) fn staging_token(key: &str) -> Option<&str> {
    let mut parts = key.split('/');
    (parts.next() == Some(STAGING))
        .then(|| parts.next())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_parse() {
        for key in [
            "a",
            "cross/rm-bp1/cn-hangzhou_rm-bp1_hins1_data_20190611125201_qp.xb",
            "a/b c/d%e",
            "x/.hidden",
            "f#abc",
        ] {
            assert_eq!(path(key).unwrap().as_ref(), key);
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        for key in [
            "",
            "/a",
            "a/",
            "a//b",
            "a/./b",
            "../a",
            "a/..",
            "a\nb",
            "a\\b",
            "f#12",
            &"k".repeat(1025),
        ] {
            assert!(
                matches!(path(key), Err(StorageError::InvalidKey(_))),
                "{key:?} accepted"
            );
        }
    }

    #[test]
    fn staging_keys_are_readable_but_not_visible() {
        let staged = new_staging_key("cross/x/f");
        assert!(staged.starts_with(".staging/") && staged.ends_with("/cross/x/f"));
        assert!(path(&staged).is_ok());
        assert!(visible_path(&staged).is_err());
        assert!(visible_path(".staging").is_err());
        assert!(visible_path(".stagingx/a").is_ok());
        let token = staging_token(&staged).unwrap();
        assert_eq!(token.split_once('-').unwrap().1.len(), 32);
    }
}
