//! The resume state of a download: `DEST.part` holds the bytes so far, `DEST.part.json` which
//! backup they belong to (instance, region, the listing entry with its last link). A later run
//! for the same backup and destination continues the `.part`; any other `.part` is discarded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DownloadRequest;
use crate::describe_cross_region_backups::CrossRegionBackupItem;

/// `path` + `suffix` (`x.tar.gz` → `x.tar.gz.part`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `DEST.part.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct PartMeta {
    #[serde(rename = "DBInstanceId")]
    db_instance_id: String,
    region_id: Option<String>,
    item: CrossRegionBackupItem,
}

/// The `.part` and `.part.json` files of one download of one backup.
#[derive(Debug)]
pub(super) struct PartFiles {
    /// `DEST.part`: the bytes so far.
    pub part: PathBuf,
    /// `DEST.part.json`.
    meta: PathBuf,
    db_instance_id: String,
    region_id: Option<String>,
}

impl PartFiles {
    pub fn new(dest: &Path, req: &DownloadRequest) -> PartFiles {
        PartFiles {
            part: with_suffix(dest, ".part"),
            meta: with_suffix(dest, ".part.json"),
            db_instance_id: req.db_instance_id.clone(),
            region_id: req.region_id.clone(),
        }
    }

    /// The listing entry saved with a `.part` of the same backup (instance, region and
    /// `CrossBackupId`), when that `.part` exists.
    pub fn saved_item(&self, cross_backup_id: i64) -> Option<CrossRegionBackupItem> {
        let meta: PartMeta = serde_json::from_slice(&std::fs::read(&self.meta).ok()?).ok()?;
        let same = meta.db_instance_id == self.db_instance_id
            && meta.region_id == self.region_id
            && meta.item.cross_backup_id == cross_backup_id;
        (same && self.part.exists()).then_some(meta.item)
    }

    /// Records which backup the `.part` belongs to, with its current link.
    pub fn save(&self, item: &CrossRegionBackupItem) -> std::io::Result<()> {
        let meta = PartMeta {
            db_instance_id: self.db_instance_id.clone(),
            region_id: self.region_id.clone(),
            item: item.clone(),
        };
        std::fs::write(
            &self.meta,
            serde_json::to_vec_pretty(&meta).expect("serializable"),
        )
    }

    /// Bytes in the `.part` (0 when there is none).
    pub fn len(&self) -> std::io::Result<u64> {
        match std::fs::metadata(&self.part) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Drops the bytes so far (a `.part` of another backup, or longer than the object).
    pub fn discard_bytes(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.part) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes both files, best effort: the bytes did not verify, so nothing is kept.
    pub fn discard(&self) {
        std::fs::remove_file(&self.part).ok();
        std::fs::remove_file(&self.meta).ok();
    }

    /// Moves the verified `.part` to `dest` and forgets the resume state.
    pub fn publish(&self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.part, dest)?;
        std::fs::remove_file(&self.meta).ok();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, id: &str) -> PartFiles {
        let req = DownloadRequest {
            db_instance_id: id.into(),
            region_id: None,
            cross_backup_id: 7,
        };
        PartFiles::new(&dir.join("b.xb"), &req)
    }

    #[test]
    fn suffixes() {
        assert_eq!(
            with_suffix(Path::new("/a/b.tar.gz"), ".part"),
            PathBuf::from("/a/b.tar.gz.part")
        );
    }

    #[test]
    fn a_part_resumes_only_for_the_same_backup() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path(), "rm-a");
        let item = CrossRegionBackupItem {
            cross_backup_id: 7,
            ..Default::default()
        };
        f.save(&item).unwrap();
        assert_eq!(f.saved_item(7), None, "no .part yet");
        std::fs::write(&f.part, b"abc").unwrap();
        assert_eq!(f.len().unwrap(), 3);
        assert_eq!(f.saved_item(7), Some(item));
        assert_eq!(f.saved_item(8), None, "another CrossBackupId");
        assert_eq!(
            files(dir.path(), "rm-b").saved_item(7),
            None,
            "another instance"
        );
        f.discard_bytes().unwrap();
        assert_eq!((f.len().unwrap(), f.saved_item(7)), (0, None));
        f.discard_bytes().unwrap();
    }
}
