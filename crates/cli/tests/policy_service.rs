//! One policy service: the same sequence of policy changes sent through the API
//! (ModifyInstanceCrossBackupPolicy, by `xbak rds`) to one instance and through `xbak policy set`
//! to another stores the same policy after every step, field for field.

mod common;

use common::*;
use std::process::Stdio;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::CrossBackupPolicy;

/// The stored policy's fields, with its times reduced to whether they are set (the two
/// instances' changes are made at different instants) and the instance left out.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    enabled: bool,
    dest_region_id: String,
    retention_days: i64,
    log_backup_enabled: bool,
    backup_enabled_at: bool,
    log_backup_enabled_at: bool,
}

impl From<CrossBackupPolicy> for Stored {
    fn from(p: CrossBackupPolicy) -> Stored {
        Stored {
            enabled: p.policy.enabled,
            dest_region_id: p.policy.dest_region_id,
            retention_days: p.policy.retention_days,
            log_backup_enabled: p.log_backup_enabled,
            backup_enabled_at: p.backup_enabled_at.is_some(),
            log_backup_enabled_at: p.log_backup_enabled_at.is_some(),
        }
    }
}

fn stored(data: &DataDir, db_instance_id: &str) -> Stored {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cat = SqliteCatalog::open(&data.path().join("catalog.db"))
            .await
            .unwrap();
        let inst = cat
            .instance_by_db_instance_id(db_instance_id)
            .await
            .unwrap()
            .unwrap();
        cat.cross_backup_policy(inst.id)
            .await
            .unwrap()
            .expect("a stored policy")
            .into()
    })
}

fn create_instance(data: &DataDir, id: &str) {
    data.ok(&common::instance_args(id, "MySQL", "5.7"));
}

#[test]
fn the_api_and_policy_set_store_the_same_policy() {
    let data = DataDir::new();
    for region in ["cn-hangzhou", "cn-shanghai", "cn-beijing"] {
        data.ok(&["region", "add", region]);
    }
    let out = data.ok(&["account", "create", "alice", "--json"]);
    let account: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let key = (
        account["AccessKeyId"].as_str().unwrap(),
        account["AccessKeySecret"].as_str().unwrap(),
    );
    create_instance(&data, "rm-viaapi");
    create_instance(&data, "rm-viacli");
    let server = Server::start_with(&data, &["--no-workers"], Stdio::piped());

    // (API params, `policy set` options): the same change each way.
    let steps: [(&[&str], &[&str]); 6] = [
        // On, with retention and logs.
        (
            &[
                "--BackupEnabled",
                "1",
                "--CrossBackupRegion",
                "cn-shanghai",
                "--Retention",
                "30",
                "--LogBackupEnabled",
                "1",
            ],
            &[
                "--cross-region",
                "cn-shanghai",
                "--retention-days",
                "30",
                "--log-backup",
            ],
        ),
        // Another destination only: retention and logs are kept.
        (
            &["--BackupEnabled", "1", "--CrossBackupRegion", "cn-beijing"],
            &["--cross-region", "cn-beijing"],
        ),
        // Off: the log switch goes with it.
        (
            &["--BackupEnabled", "0", "--CrossBackupRegion", "cn-beijing"],
            &["--cross-region", "cn-beijing", "--off"],
        ),
        // On again, nothing else given: the stored retention stays.
        (
            &["--BackupEnabled", "1", "--CrossBackupRegion", "cn-beijing"],
            &["--cross-region", "cn-beijing"],
        ),
        // Logs on, then off, explicitly.
        (
            &[
                "--BackupEnabled",
                "1",
                "--CrossBackupRegion",
                "cn-beijing",
                "--LogBackupEnabled",
                "1",
            ],
            &["--cross-region", "cn-beijing", "--log-backup"],
        ),
        (
            &[
                "--BackupEnabled",
                "1",
                "--CrossBackupRegion",
                "cn-shanghai",
                "--LogBackupEnabled",
                "0",
                "--Retention",
                "60",
            ],
            &[
                "--cross-region",
                "cn-shanghai",
                "--log-backup=false",
                "--retention-days",
                "60",
            ],
        ),
    ];
    let mut seen = Vec::new();
    for (i, (api, cli)) in steps.iter().enumerate() {
        let mut params = vec!["--RegionId", "cn-hangzhou", "--DBInstanceId", "rm-viaapi"];
        params.extend_from_slice(api);
        rds(
            &data,
            &server,
            key,
            "ModifyInstanceCrossBackupPolicy",
            &params,
        );
        let mut args = vec!["policy", "set", "rm-viacli"];
        args.extend_from_slice(cli);
        data.ok(&args);
        let (via_api, via_cli) = (stored(&data, "rm-viaapi"), stored(&data, "rm-viacli"));
        assert_eq!(via_api, via_cli, "step {i}: {api:?} / {cli:?}");
        seen.push(via_api);
    }
    // The sequence went through what it means to: kept, dropped and changed values.
    assert_eq!(
        (seen[1].retention_days, seen[1].log_backup_enabled),
        (30, true)
    );
    assert!(!seen[2].enabled && !seen[2].log_backup_enabled);
    assert_eq!(
        (seen[3].retention_days, seen[3].log_backup_enabled),
        (30, false)
    );
    assert_eq!(
        seen[5],
        Stored {
            enabled: true,
            dest_region_id: "cn-shanghai".into(),
            retention_days: 60,
            log_backup_enabled: false,
            backup_enabled_at: true,
            log_backup_enabled_at: true,
        }
    );
    drop(server);
}
