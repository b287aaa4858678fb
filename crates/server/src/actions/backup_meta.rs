//! What `DescribeCrossBackupMetaList` lists: the databases of a set's manifest (the JSON the agent
//! stores beside the set, `<set key>.manifest.json`, format 1), and the entries a request selects.
//!
//! The manifest records every base table of the set (`tables[]`: `schema`, `name`, and since the
//! agent records it, `size_bytes`, the table's data and index length at the consistent point).
//! Only those fields are read here, so the server does not depend on the agent.

use serde_json::Value;
use xbak_protocol::actions::describe_cross_backup_meta_list::{
    BackupMeta, DescribeCrossBackupMetaListParams,
};

/// The manifest format this reader understands.
const MANIFEST_FORMAT: u64 = 1;

/// One database of a manifest, its tables in the manifest's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub name: String,
    /// `(table, size in bytes when recorded)`.
    pub tables: Vec<(String, Option<u64>)>,
}

/// The databases of a manifest, in the order they first appear (the agent writes tables sorted
/// by schema and name).
pub fn databases(manifest: &[u8]) -> Result<Vec<Database>, String> {
    let v: Value = serde_json::from_slice(manifest).map_err(|e| format!("unreadable: {e}"))?;
    let format = v["format"].as_u64();
    if format != Some(MANIFEST_FORMAT) {
        return Err(format!("format {format:?} is not {MANIFEST_FORMAT}"));
    }
    let tables = v["tables"].as_array().ok_or("no tables list")?;
    let mut out: Vec<Database> = Vec::new();
    for t in tables {
        let (Some(schema), Some(name)) = (t["schema"].as_str(), t["name"].as_str()) else {
            return Err("a table without schema or name".into());
        };
        let table = (name.to_owned(), t["size_bytes"].as_u64());
        match out.iter_mut().find(|d| d.name == schema) {
            Some(db) => db.tables.push(table),
            None => out.push(Database {
                name: schema.to_owned(),
                tables: vec![table],
            }),
        }
    }
    Ok(out)
}

/// The entries `params` selects: with `GetDbName`, that database (exact name) with its tables
/// and each table's size; else every database whose name contains `Pattern` (case-insensitive;
/// all without one), with its total size and no tables. A size the manifest lacks is empty.
pub fn select(
    databases: Vec<Database>,
    params: &DescribeCrossBackupMetaListParams,
) -> Vec<BackupMeta> {
    if let Some(wanted) = &params.get_db_name {
        return databases
            .into_iter()
            .filter(|d| d.name == *wanted)
            .map(|d| BackupMeta {
                tables: join(d.tables.iter().map(|(t, _)| t.clone())),
                size: d
                    .tables
                    .iter()
                    .map(|(_, s)| *s)
                    .collect::<Option<Vec<u64>>>()
                    .map(|sizes| join(sizes.into_iter().map(|b| kib(Some(b)))))
                    .unwrap_or_default(),
                database: d.name,
            })
            .collect();
    }
    let pattern = params.pattern.as_deref().map(str::to_lowercase);
    databases
        .into_iter()
        .filter(|d| {
            pattern
                .as_deref()
                .is_none_or(|p| d.name.to_lowercase().contains(p))
        })
        .map(|d| {
            let total = d.tables.iter().map(|(_, s)| *s).sum::<Option<u64>>();
            BackupMeta {
                database: d.name,
                tables: String::new(),
                size: kib(total),
            }
        })
        .collect()
}

/// A size in KB (rounded up) as Alibaba reports it; empty when the manifest has none (sets
/// taken before the agent recorded sizes).
fn kib(bytes: Option<u64>) -> String {
    bytes
        .map(|b| b.div_ceil(1024).to_string())
        .unwrap_or_default()
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xbak_protocol::params::RawParams;

    const MANIFEST: &str = r#"{"format":1,"db_instance_id":"rm-a","tables":[
        {"schema":"shop","name":"items","engine":"InnoDB","rows":3,"checksum":1,"size_bytes":16384},
        {"schema":"shop","name":"orders","engine":"InnoDB","rows":0,"checksum":0,"size_bytes":1},
        {"schema":"test_db","name":"t","engine":"Aria","rows":1,"checksum":2,"size_bytes":2048}]}"#;

    fn params(pairs: &[(&str, &str)]) -> DescribeCrossBackupMetaListParams {
        let mut raw: RawParams = pairs.iter().copied().collect();
        raw.push("BackupSetId", "1");
        DescribeCrossBackupMetaListParams::from_params(&raw).unwrap()
    }

    fn meta(database: &str, tables: &str, size: &str) -> BackupMeta {
        BackupMeta {
            database: database.into(),
            tables: tables.into(),
            size: size.into(),
        }
    }

    #[test]
    fn databases_group_tables_in_order() {
        let dbs = databases(MANIFEST.as_bytes()).unwrap();
        assert_eq!(dbs.len(), 2);
        assert_eq!(dbs[0].name, "shop");
        assert_eq!(
            dbs[0].tables,
            [
                ("items".to_owned(), Some(16384)),
                ("orders".to_owned(), Some(1))
            ]
        );
        assert!(databases(br#"{"format":2,"tables":[]}"#).is_err());
        assert!(databases(b"not json").is_err());
        assert!(databases(br#"{"format":1,"tables":[{"schema":"a"}]}"#).is_err());
        assert_eq!(databases(br#"{"format":1,"tables":[]}"#).unwrap(), []);
    }

    #[test]
    fn selections() {
        let dbs = || databases(MANIFEST.as_bytes()).unwrap();
        assert_eq!(
            select(dbs(), &params(&[])),
            [meta("shop", "", "17"), meta("test_db", "", "2")]
        );
        assert_eq!(
            select(dbs(), &params(&[("Pattern", "TEST")])),
            [meta("test_db", "", "2")]
        );
        assert_eq!(
            select(
                dbs(),
                &params(&[("GetDbName", "shop"), ("Pattern", "test")])
            ),
            [meta("shop", "items,orders", "16,1")]
        );
        assert_eq!(select(dbs(), &params(&[("GetDbName", "Shop")])), []);
        let no_sizes =
            br#"{"format":1,"tables":[{"schema":"a","name":"t"},{"schema":"a","name":"u"}]}"#;
        let dbs = databases(no_sizes).unwrap();
        assert_eq!(select(dbs.clone(), &params(&[])), [meta("a", "", "")]);
        assert_eq!(
            select(dbs, &params(&[("GetDbName", "a")])),
            [meta("a", "t,u", "")]
        );
    }
}
