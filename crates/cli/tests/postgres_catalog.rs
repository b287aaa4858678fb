//! `xbak --catalog postgres://…`, black-box: the README's path (seed, register, replicate,
//! serve, list) on a scratch PostgreSQL database (from `XBAK_TEST_POSTGRES_URL`, default the
//! machine's own server; none reachable: the test fails).

mod common;

use common::*;
use xbak_catalog::suite::scratch::ScratchDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_catalog_takes_a_set_from_register_to_a_listed_copy() {
    let scratch = ScratchDatabase::create().await;
    let data = DataDir::with_catalog(scratch.url());
    let (ak, secret) = data.seed();
    let file = make_file(data.path(), "set.xb", 2);
    let out = data.register(&file, "2026-01-02T03:04:05Z");
    assert!(out.contains("cross-region copy"), "{out}");
    let out = data.ok(&["replicate", "--once"]);
    assert!(out.contains("verified"), "{out}");
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(sha256_file(&copies[0]), sha256_file(&file));
    // Everything went to PostgreSQL: no SQLite catalog appeared in the data dir.
    assert!(!data.path().join("catalog.db").exists());

    let server = Server::start(&data);
    let home = tempfile::tempdir().unwrap();
    let mut list = data.cmd(&[
        "backups",
        "list",
        "rm-bb0001",
        "--start",
        "2026-01-01T00:00Z",
        "--end",
        "2026-01-03T00:00Z",
        "--endpoint",
        &server.url(),
        "--output",
        "json",
    ]);
    for k in [
        "XBAK_ENDPOINT",
        "ALIBABA_CLOUD_PROFILE",
        "ALIBABACLOUD_PROFILE",
    ] {
        list.env_remove(k);
    }
    let out = output_ok(
        list.env("HOME", home.path())
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &ak)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &secret)
            .env("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou"),
    );
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = items.as_array().expect("a JSON array of copies");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0]["CrossBackupSetFile"],
        "cn-hangzhou_rm-bb0001_hins8161055_data_20260102030405_qp.xb"
    );
    assert_eq!(items[0]["CrossBackupRegion"], "cn-shanghai");
}

#[test]
fn an_unknown_catalog_url_is_refused() {
    let data = DataDir::with_catalog("mysql://127.0.0.1/xbak");
    let out = data
        .cmd(&["region", "add", "cn-hangzhou"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--catalog"), "{err}");
}
