//! The manifest of a backup set: what the set holds and what a restore of it must show. Stored
//! beside the set (`<set key>.manifest.json`) and inside it (a `manifest.json` tar entry in
//! logical sets, an `xbak-manifest.json` file in the xbstream of physical ones), so a copy in
//! another region carries its own.

use crate::db::{BinlogPosition, TableState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the manifest's shape.
pub const MANIFEST_FORMAT: u32 = 1;

/// Name of the manifest inside a set.
pub const LOGICAL_MANIFEST_ENTRY: &str = "manifest.json";
pub const PHYSICAL_MANIFEST_FILE: &str = "xbak-manifest.json";

pub use xbak_domain::naming::manifest_key;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub db_instance_id: String,
    /// Node the set was taken from (`InstanceId`).
    pub instance_number: i64,
    /// `L` or `P`.
    pub method: String,
    /// `F` or `I`.
    pub backup_type: String,
    /// 0: whole instance, 1: one database.
    pub scale: i64,
    pub database: Option<String>,
    /// How the set is laid out.
    pub layout: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The point in time the data represents (RFC 3339, microseconds, UTC).
    pub consistent_at: String,
    /// How `consistent_at` and the table checksums were pinned to the set's contents.
    pub consistency: String,
    pub server_version: String,
    pub from_standby: bool,
    /// Tool name → `--version` line.
    pub tools: BTreeMap<String, String>,
    /// Binary log position at the consistent point, when the server writes a binary log.
    pub binlog: Option<BinlogPosition>,
    /// InnoDB LSNs of a physical set (`xtrabackup_checkpoints`).
    pub lsn: Option<LsnRange>,
    /// The set an incremental set applies on top of.
    pub base: Option<BaseSet>,
    /// Every base table outside the system schemas (or of the one database), at the
    /// consistent point; empty here when [`Manifest::tables_at`] is [`TablesAt::Beside`].
    pub tables: Vec<TableState>,
    /// Where `tables` is. Absent (inline) in manifests written before physical sets deferred
    /// their checksums.
    #[serde(default, skip_serializing_if = "TablesAt::is_inline")]
    pub tables_at: TablesAt,
}

/// Where a manifest's tables (row counts and checksums) are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TablesAt {
    /// In this manifest.
    #[default]
    Inline,
    /// Only in the manifest stored beside the set ([`manifest_key`]), written once they were
    /// read, after the set was published: a physical set's checksums are read after
    /// `mariabackup` ends, off the backup's critical path.
    Beside,
}

impl TablesAt {
    pub fn is_inline(&self) -> bool {
        *self == TablesAt::Inline
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsnRange {
    /// `full-backuped` or `incremental`.
    pub backup_type: String,
    pub from_lsn: u64,
    pub to_lsn: u64,
    pub last_lsn: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseSet {
    pub backup_set_id: i64,
    pub object_key: String,
    pub to_lsn: u64,
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        v.push(b'\n');
        v
    }

    pub fn from_json(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("unreadable manifest: {e}"))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!("manifest format {} is not supported", m.format));
        }
        Ok(m)
    }
}

/// Parses `xtrabackup_checkpoints` (`key = value` lines).
pub fn parse_checkpoints(text: &str) -> Result<LsnRange, String> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            map.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    let num = |k: &str| -> Result<u64, String> {
        map.get(k)
            .ok_or_else(|| format!("xtrabackup_checkpoints has no {k}"))?
            .parse()
            .map_err(|_| format!("xtrabackup_checkpoints: bad {k}"))
    };
    Ok(LsnRange {
        backup_type: map.get("backup_type").cloned().unwrap_or_default(),
        from_lsn: num("from_lsn")?,
        to_lsn: num("to_lsn")?,
        last_lsn: num("last_lsn").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_parse() {
        let text =
            "backup_type = incremental\nfrom_lsn = 44404\nto_lsn = 50000\nlast_lsn = 50010\n";
        let r = parse_checkpoints(text).unwrap();
        assert_eq!((r.from_lsn, r.to_lsn, r.last_lsn), (44404, 50000, 50010));
        assert_eq!(r.backup_type, "incremental");
        assert!(parse_checkpoints("backup_type = x\n").is_err());
    }
}
