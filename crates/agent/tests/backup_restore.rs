//! End to end against a real MariaDB: make data, take logical (whole instance and one
//! database) and physical (full and incremental) backups into one region, copy them to a
//! second region, read them back from there, restore each one (into a second `mariadbd` this
//! test starts, into a data directory, and as restore drills) and compare every table with the
//! set's manifest.
//!
//! Needs the MariaDB the machine runs on 127.0.0.1:3306 (`XBAK_TEST_MYSQL_DSN` to point
//! elsewhere on loopback) and the tools `.ci/db-tools.sh` installs. It fails, loudly, when they
//! are missing: a skipped backup test tests nothing. The destination region is a local folder
//! unless `XBAK_TEST_DEST_REGION_URL` names another store (an `s3://…` region, for instance).

use std::sync::Arc;
use xbak_agent::backup::{manifest_key, TablesAt};
use xbak_agent::db::{quote_ident, Endpoint, Session};
use xbak_agent::restore::{
    RegionFetcher, RestoreConfig, RestoreProgress, RestoreRequest, RestoreTarget, Restorer,
    ScratchServer, TablesFrom,
};
use xbak_agent::tools::Tools;
use xbak_agent::{
    AgentConfig, AgentError, BackupAgent, BackupOutcome, BackupRequest, TablesStored,
};
use xbak_catalog::Catalog;
use xbak_domain::{
    BackupMethod, BackupRunStatus, BackupSetScale, BackupType, CopyStatus, Dsn, InstanceConnection,
};
use xbak_replicator::{regions_from_catalog, Replicator, ReplicatorConfig};
use xbak_storage::RegionStore;
use xbak_testkit::world::{self, InstanceSpec};

const SOURCE: &str = "cn-hangzhou";
const DEST: &str = "cn-shanghai";

fn source_dsn() -> Dsn {
    let s = std::env::var("XBAK_TEST_MYSQL_DSN")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let dsn = Dsn::parse(&s).expect("XBAK_TEST_MYSQL_DSN is a mysql:// DSN");
    assert!(
        dsn.host == "127.0.0.1" || dsn.host == "localhost" || dsn.host == "::1",
        "the test database must be on loopback, not {}",
        dsn.host
    );
    dsn
}

/// Panics with what to do when a tool is missing.
fn require_tools() {
    let missing = Tools::default().missing();
    assert!(
        missing.is_empty(),
        "missing MariaDB tools {missing:?}: install them with `bash .ci/db-tools.sh`"
    );
}

async fn connect(dsn: &Dsn) -> Session {
    Session::connect(&Endpoint::Tcp(dsn.clone()))
        .await
        .unwrap_or_else(|e| panic!("MariaDB must be running at {dsn}: {e}"))
}

/// Two databases of test data, a few MB.
async fn make_data(s: &mut Session, db: &str, other: &str) {
    let (q, o) = (quote_ident(db), quote_ident(other));
    for sql in [
        format!("DROP DATABASE IF EXISTS {q}"),
        format!("DROP DATABASE IF EXISTS {o}"),
        format!("CREATE DATABASE {q}"),
        format!("CREATE DATABASE {o}"),
        format!(
            "CREATE TABLE {q}.orders (id INT PRIMARY KEY, customer VARCHAR(64), amount DECIMAL(12,2),
             placed DATETIME, note TEXT, payload BLOB) ENGINE=InnoDB"
        ),
        format!("CREATE TABLE {q}.customers (id INT PRIMARY KEY, name VARCHAR(64) CHARACTER SET utf8mb4) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(32)) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.empty_one (id INT PRIMARY KEY) ENGINE=InnoDB"),
        format!("CREATE TRIGGER {q}.orders_audit AFTER INSERT ON {q}.orders FOR EACH ROW INSERT INTO {q}.audit (what) VALUES ('order')"),
        format!("CREATE VIEW {q}.big_orders AS SELECT id, amount FROM {q}.orders WHERE amount > 500"),
        format!("CREATE PROCEDURE {q}.order_count() SELECT COUNT(*) FROM {q}.orders"),
        format!(
            "INSERT INTO {q}.orders
             SELECT i, CONCAT('customer-', i % 997), (i * 37) % 1000 + 0.25, '2026-01-01' + INTERVAL i MINUTE,
                    REPEAT(MD5(i), 3), UNHEX(SHA2(i, 256)) FROM (SELECT seq AS i FROM {q}.seq_1_to_20000) n"
        ),
        format!(
            "INSERT INTO {q}.customers
             SELECT seq, CONCAT('名前-', seq, '-ü') FROM {q}.seq_1_to_997"
        ),
        format!("CREATE TABLE {o}.other (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB"),
        format!("INSERT INTO {o}.other VALUES (1, 'a'), (2, 'b')"),
    ] {
        s.exec(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Drops the test's databases however the test ends.
struct DropDatabases(Dsn, Vec<String>);

impl Drop for DropDatabases {
    fn drop(&mut self) {
        let sql: String = self
            .1
            .iter()
            .map(|d| format!("DROP DATABASE IF EXISTS {};", quote_ident(d)))
            .collect();
        let mut cmd = std::process::Command::new("mariadb");
        cmd.arg("--protocol=TCP")
            .arg(format!("--host={}", self.0.host))
            .arg(format!("--port={}", self.0.port))
            .arg(format!("--user={}", self.0.user));
        if let Some(p) = &self.0.password {
            cmd.env("MYSQL_PWD", p);
        }
        let _ = cmd.arg("-e").arg(sql).status();
    }
}

struct World {
    _dir: tempfile::TempDir,
    catalog: Arc<dyn Catalog>,
    agent: BackupAgent,
}

/// Where the copies go: a local folder, or `dest_url` when given.
async fn world(dsn: &Dsn, db_instance_id: &str, dest_url: Option<String>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let catalog = world::sqlite_catalog(dir.path()).await;
    let dest_url = dest_url.unwrap_or_else(|| world::local_url(dir.path(), DEST));
    let source_url = world::local_url(dir.path(), SOURCE);
    world::put_regions(&*catalog, &[(SOURCE, &source_url), (DEST, &dest_url)]).await;
    let instance = InstanceSpec {
        instance_number: 7_654_321,
        ..InstanceSpec::mysql57("e2e", db_instance_id, SOURCE)
            .mariadb()
            .copying_to(DEST)
    }
    .seed(&*catalog)
    .await;
    catalog
        .put_instance_connection(&InstanceConnection {
            instance_id: instance.id,
            dsn: dsn.clone(),
            standby: None,
        })
        .await
        .unwrap();
    let config = AgentConfig {
        work_dir: Some(dir.path().to_path_buf()),
        ..AgentConfig::default()
    };
    World {
        agent: BackupAgent::new(catalog.clone(), config),
        catalog,
        _dir: dir,
    }
}

impl World {
    /// The store of region `region_id`.
    async fn store(&self, region_id: &str) -> RegionStore {
        let r = self.catalog.region(region_id).await.unwrap().unwrap();
        RegionStore::open(&r.region_id, &r.store_url).unwrap()
    }

    /// Runs the backup [`request`] describes, ignoring its progress events.
    async fn backup(
        &self,
        id: &str,
        method: BackupMethod,
        backup_type: BackupType,
        database: Option<&str>,
    ) -> Result<BackupOutcome, AgentError> {
        let req = request(id, method, backup_type, database);
        self.agent.run(&req, &|_| {}).await
    }
}

fn request(
    id: &str,
    method: BackupMethod,
    backup_type: BackupType,
    database: Option<&str>,
) -> BackupRequest {
    BackupRequest {
        db_instance_id: id.into(),
        method,
        backup_type,
        database: database.map(str::to_owned),
        trigger: "manual".into(),
    }
}

/// The bytes of `key` in `store`.
async fn read_object(store: &RegionStore, key: &str) -> Vec<u8> {
    match store.read_small(key, u64::MAX).await {
        Ok(Some(bytes)) => bytes.to_vec(),
        other => panic!("{key}: {other:?}"),
    }
}

/// The manifest's row count of `schema.table`.
fn rows_of(o: &BackupOutcome, schema: &str, table: &str) -> Option<u64> {
    o.manifest
        .tables
        .iter()
        .find(|t| t.schema == schema && t.name == table)
        .and_then(|t| t.rows)
}

/// One backup scenario at a time: two tests backing up the same server at once would wait on
/// each other's locks (and a physical backup's pause), which is not what they test.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_copied_to_a_local_region_are_restored_and_verified() {
    // XBAK_TEST_DEST_REGION_URL points the destination at another store.
    scenario("local", std::env::var("XBAK_TEST_DEST_REGION_URL").ok()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_copied_to_an_s3_region_are_restored_and_verified() {
    // Fails, with how to start one, when no S3-compatible test server is configured.
    let url = xbak_storage::conformance::s3::region_url("xbak-backups").await;
    scenario("s3", Some(url)).await;
}

async fn scenario(name: &str, dest_url: Option<String>) {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let dsn = source_dsn();
    let mut admin = connect(&dsn).await;
    let db = format!("xbak_e2e_{}_{name}", std::process::id());
    let other = format!("{db}_other");
    let _cleanup = DropDatabases(dsn.clone(), vec![db.clone(), other.clone()]);
    make_data(&mut admin, &db, &other).await;
    let mut w = world(&dsn, "rm-e2e", dest_url).await;
    if name == "s3" {
        // Physical sets through the pipe into the store's upload, as into an S3 source region
        // (the local scenario has mariabackup write the staging file itself).
        w.agent = BackupAgent::new(
            w.catalog.clone(),
            AgentConfig {
                direct_local_writes: false,
                ..w.agent.config().clone()
            },
        );
    }
    let id = "rm-e2e";

    // --- backups ---
    let before = chrono::Utc::now();
    let logical = w
        .backup(id, BackupMethod::Logical, BackupType::Full, None)
        .await
        .expect("logical full backup");
    assert!(logical.backup_set.object_key.ends_with(".tar.gz"));
    assert!(logical.backup_set.object_key.contains("_hins7654321_data_"));
    assert_eq!(logical.backup_set.scale, BackupSetScale::Instance);
    assert!(logical.consistent_at >= before - chrono::Duration::seconds(1));
    assert!(logical.backup_set.consistent_at <= logical.backup_set.finished_at);
    assert_eq!(rows_of(&logical, &db, "orders"), Some(20_000));
    assert_eq!(
        rows_of(&logical, &db, "audit"),
        Some(20_000),
        "trigger rows"
    );
    assert_eq!(rows_of(&logical, &other, "other"), Some(2));
    assert_eq!(logical.tables, TablesStored::InSet);
    assert!(logical.manifest.tables.iter().all(|t| t.schema != "mysql"));
    assert!(logical.manifest.tools.contains_key("mariadb-dump"));
    assert!(logical.queued_copy_id.is_some(), "queued for the copy");

    let single = w
        .backup(id, BackupMethod::Logical, BackupType::Full, Some(&db))
        .await
        .expect("single-database backup");
    assert_eq!(single.backup_set.scale, BackupSetScale::SingleDatabase);
    assert_ne!(single.backup_set.object_key, logical.backup_set.object_key);
    assert!(single.manifest.tables.iter().all(|t| t.schema == db));
    assert_eq!(single.manifest.tables.len(), 4);

    let full = w
        .backup(id, BackupMethod::Physical, BackupType::Full, None)
        .await
        .expect("physical full backup");
    assert!(full.backup_set.object_key.ends_with("_qp.xb"));
    let full_lsn = full.manifest.lsn.clone().expect("LSNs recorded");
    assert!(full_lsn.to_lsn > 0);
    assert!(
        full.manifest
            .consistency
            .contains("BLOCK_COMMIT (process paused)"),
        "pinned under mariabackup's lock: {}",
        full.manifest.consistency
    );
    // Published (and its copy queued) before its rows and checksums were read, which were
    // then stored beside the set and beside its queued copy.
    match &full.tables {
        TablesStored::Beside {
            after, copied_to, ..
        } => {
            assert_eq!(copied_to, &vec![DEST.to_owned()]);
            assert!(full.published_after < *after && *after <= full.elapsed);
        }
        other => panic!("the full set's tables: {other:?}"),
    }
    assert_eq!(full.manifest.tables_at, TablesAt::Inline);
    assert_eq!(rows_of(&full, &db, "orders"), Some(20_000));

    // Changes between the full and the incremental.
    let q = quote_ident(&db);
    for sql in [
        format!("INSERT INTO {q}.orders SELECT id + 100000, customer, amount * 2, placed, note, payload FROM {q}.orders WHERE id <= 3000"),
        format!("UPDATE {q}.customers SET name = CONCAT(name, '+') WHERE id % 7 = 0"),
        format!("DELETE FROM {q}.orders WHERE id BETWEEN 10 AND 19"),
    ] {
        admin.exec(&sql).await.unwrap();
    }
    let incremental = w
        .backup(id, BackupMethod::Physical, BackupType::Incremental, None)
        .await
        .expect("physical incremental backup");
    let inc_lsn = incremental.manifest.lsn.clone().unwrap();
    assert_eq!(
        inc_lsn.from_lsn, full_lsn.to_lsn,
        "based on the full set's LSN"
    );
    assert!(inc_lsn.to_lsn >= full_lsn.to_lsn && inc_lsn.last_lsn > full_lsn.last_lsn);
    assert_eq!(
        incremental.manifest.base.as_ref().map(|b| b.backup_set_id),
        Some(full.backup_set.id)
    );
    assert_eq!(rows_of(&incremental, &db, "orders"), Some(22_990));
    // Pages changed since the base's checkpoint LSN only (on an idle server that checkpoint
    // can be old, so this is not much smaller than the full set).
    assert!(incremental.backup_set.size_bytes < full.backup_set.size_bytes);

    // A failed backup is recorded as failed, never as a set.
    let err = w
        .backup(
            id,
            BackupMethod::Logical,
            BackupType::Full,
            Some("no_such_db_xbak"),
        )
        .await
        .expect_err("a missing database fails");
    assert!(matches!(err, AgentError::NotFound(_)), "{err}");
    let inst = w
        .catalog
        .instance_by_db_instance_id(id)
        .await
        .unwrap()
        .unwrap();
    let runs = w.catalog.backup_runs(inst.id, 10).await.unwrap();
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[0].status, BackupRunStatus::Failed);
    assert!(runs[0]
        .error
        .as_deref()
        .unwrap()
        .contains("no_such_db_xbak"));
    assert_eq!(runs[0].backup_set_id, None);
    assert!(runs[1..]
        .iter()
        .all(|r| r.status == BackupRunStatus::Completed));

    // --- the cross-region copies ---
    // The manifest beside the full set's queued copy, removed: the copy job carries it.
    let (source, dest) = (w.store(SOURCE).await, w.store(DEST).await);
    let copy_of = |o: &BackupOutcome| o.queued_copy_id.expect("queued");
    let full_copy = w.catalog.copy(copy_of(&full)).await.unwrap().unwrap();
    let full_beside = manifest_key(&full_copy.object_key);
    let full_manifest = read_object(&source, &manifest_key(&full.backup_set.object_key)).await;
    assert_eq!(read_object(&dest, &full_beside).await, full_manifest);
    dest.delete(&full_beside).await.unwrap();
    let regions = regions_from_catalog(w.catalog.as_ref()).await.unwrap();
    let summary = Replicator::new(w.catalog.clone(), regions, ReplicatorConfig::default())
        .run_once()
        .await
        .unwrap();
    assert_eq!(summary.completed, 4, "{summary:?}");
    for o in [&logical, &single, &full, &incremental] {
        let copy = w.catalog.copy(copy_of(o)).await.unwrap().unwrap();
        assert_eq!(copy.status, CopyStatus::Completed);
        assert_eq!(copy.dest_region_id, DEST);
        let beside = read_object(&dest, &manifest_key(&copy.object_key)).await;
        let own = read_object(&source, &manifest_key(&o.backup_set.object_key)).await;
        assert_eq!(
            beside, own,
            "the manifest beside copy {}",
            copy.cross_backup_id
        );
    }

    // --- restores, read from the destination region ---
    let restorer = Restorer::new(
        w.catalog.clone(),
        Arc::new(RegionFetcher::new(w.catalog.clone())),
        RestoreConfig::default(),
    );
    let restore = |copy_id: i64, target: RestoreTarget| {
        let restorer = restorer.clone();
        async move {
            restorer
                .restore(
                    &RestoreRequest {
                        cross_backup_id: copy_id,
                        region_id: DEST.into(),
                        target,
                        roll_forward: None,
                    },
                    &|_| {},
                )
                .await
        }
    };
    // A restore that must succeed, every table verified (`what` names it).
    let verified = |copy_id: i64, target: RestoreTarget, what: &'static str| {
        let restore = &restore;
        async move {
            let report = restore(copy_id, target).await.expect(what);
            assert!(
                report.verification.ok(),
                "{what}: {:?}",
                report.verification.mismatches().collect::<Vec<_>>()
            );
            report
        }
    };

    // The whole-instance logical set, as a restore drill.
    let report = verified(copy_of(&logical), RestoreTarget::Drill, "logical drill").await;
    assert_eq!(
        report.verification.tables.len(),
        logical.manifest.tables.len()
    );
    assert!(report
        .verification
        .tables
        .iter()
        .any(|t| t.actual.rows == Some(20_000)));

    // The single-database set into a second server this test starts.
    let target_dir = tempfile::tempdir().unwrap();
    ScratchServer::install(&Tools::default(), target_dir.path())
        .await
        .unwrap();
    let target = ScratchServer::start(&Tools::default(), target_dir.path(), false)
        .await
        .unwrap();
    let target_dsn = Dsn::parse(&format!("mysql://root@127.0.0.1:{}", target.port())).unwrap();
    verified(
        copy_of(&single),
        RestoreTarget::Server(target_dsn.clone()),
        "logical restore into a running server",
    )
    .await;
    let mut t = connect(&target_dsn).await;
    assert!(t.database_exists(&db).await.unwrap());
    assert!(
        !t.database_exists(&other).await.unwrap(),
        "one database only"
    );
    let count: Option<u64> = t
        .first(&format!("SELECT COUNT(*) FROM {q}.big_orders"))
        .await
        .expect("the view came along");
    assert!(count.unwrap() > 0);
    t.exec(&format!("CALL {q}.order_count()"))
        .await
        .expect("the procedure came along");
    t.close().await;
    target.shutdown().await.unwrap();

    // The physical full set into a data directory a mariadbd then starts from.
    let datadir = tempfile::tempdir().unwrap();
    let into = RestoreTarget::DataDir(datadir.path().join("data"));
    verified(
        copy_of(&full),
        into,
        "physical restore into a data directory",
    )
    .await;
    assert!(datadir.path().join("data/ibdata1").exists());
    let server = ScratchServer::start(&Tools::default(), &datadir.path().join("data"), true)
        .await
        .expect("mariadbd starts from the restored directory");
    let mut s = Session::connect(&server.endpoint()).await.unwrap();
    let n: Option<u64> = s
        .first(&format!("SELECT COUNT(*) FROM {q}.orders"))
        .await
        .unwrap();
    assert_eq!(n, Some(20_000), "the full set predates the later changes");
    s.close().await;
    server.shutdown().await.unwrap();

    // The physical full set's rows and checksums came from the manifest beside its copy.
    let report = verified(copy_of(&full), RestoreTarget::Drill, "physical drill").await;
    assert_eq!(
        report.tables_from,
        TablesFrom::Beside {
            waited: std::time::Duration::ZERO
        }
    );
    assert_eq!(report.verification.tables.len(), full.manifest.tables.len());
    // Without that manifest, a restore that does not wait verifies without it and says so...
    dest.delete(&full_beside).await.unwrap();
    let impatient = Restorer::new(
        w.catalog.clone(),
        Arc::new(RegionFetcher::new(w.catalog.clone())),
        RestoreConfig {
            wait_for_tables: std::time::Duration::ZERO,
            ..RestoreConfig::default()
        },
    );
    let drill = RestoreRequest {
        cross_backup_id: copy_of(&full),
        region_id: DEST.into(),
        target: RestoreTarget::Drill,
        roll_forward: None,
    };
    let report = impatient
        .restore(&drill, &|_| {})
        .await
        .expect("drill without tables");
    assert!(
        matches!(&report.tables_from, TablesFrom::Missing(why) if why.contains(&full_beside)),
        "{:?}",
        report.tables_from
    );
    assert!(report.verification.tables.is_empty());
    // ...and one that waits verifies with it once it arrives.
    // Put back once the restore says it is waiting for it.
    let waiting = Arc::new(tokio::sync::Notify::new());
    let put_back = {
        let (dest, key, bytes) = (dest.clone(), full_beside.clone(), full_manifest.clone());
        let waiting = waiting.clone();
        tokio::spawn(async move {
            waiting.notified().await;
            let staged = dest.upload_staged(&key, &bytes[..], &|_| {}).await.unwrap();
            dest.publish(&staged, &key).await.unwrap();
        })
    };
    let report = restorer
        .restore(&drill, &|p| {
            if matches!(&p, RestoreProgress::Step(s) if s.starts_with("waiting for the set's row counts")) {
                waiting.notify_one();
            }
        })
        .await
        .expect("drill that waits");
    put_back.await.unwrap();
    assert!(
        matches!(report.tables_from, TablesFrom::Beside { waited } if !waited.is_zero()),
        "{:?}",
        report.tables_from
    );
    assert!(report.verification.ok());
    assert_eq!(report.verification.tables.len(), full.manifest.tables.len());

    // The incremental: its chain (full, then incremental) as a restore drill.
    let report = verified(
        copy_of(&incremental),
        RestoreTarget::Drill,
        "incremental drill",
    )
    .await;
    assert_eq!(report.chain.len(), 2, "full then incremental");
    assert_eq!(report.chain[0].backup_set.id, full.backup_set.id);
    assert!(report
        .chain
        .iter()
        .all(|l| l.object_key.starts_with("cross/")));
    let orders = report
        .verification
        .tables
        .iter()
        .find(|t| t.expected.schema == db && t.expected.name == "orders")
        .unwrap();
    assert_eq!(orders.actual.rows, Some(22_990));

    // A physical set cannot go into a running server.
    assert!(restore(copy_of(&full), RestoreTarget::Server(dsn.clone()))
        .await
        .is_err());

    admin.close().await;
}

/// A physical set's manifest is read in several sessions whose snapshots were opened in
/// mariabackup's BLOCK_COMMIT pause; on an idle server it must equal what one fresh snapshot
/// reads afterwards: same tables in the same order, same row counts and checksums.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_read_in_parallel_sessions_equals_one_snapshot() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let dsn = source_dsn();
    let mut admin = connect(&dsn).await;
    let db = format!("xbak_e2e_{}_parallel", std::process::id());
    let _cleanup = DropDatabases(dsn.clone(), vec![db.clone()]);
    let q = quote_ident(&db);
    // Five tables of different sizes (one empty, one MyISAM), so that the work is split.
    for sql in [
        format!("DROP DATABASE IF EXISTS {q}"),
        format!("CREATE DATABASE {q}"),
        format!("CREATE TABLE {q}.big (id INT PRIMARY KEY, a VARCHAR(64), b TEXT, KEY (a)) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.medium (id INT PRIMARY KEY, v DECIMAL(12,2), t DATETIME) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.small (id INT PRIMARY KEY, name VARCHAR(32) CHARACTER SET utf8mb4) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.empty_one (id INT PRIMARY KEY) ENGINE=InnoDB"),
        format!("CREATE TABLE {q}.plain (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=MyISAM"),
        format!(
            "INSERT INTO {q}.big SELECT seq, CONCAT('a-', seq % 1000), REPEAT(MD5(seq), 4)
             FROM {q}.seq_1_to_60000"
        ),
        format!(
            "INSERT INTO {q}.medium SELECT seq, seq * 1.25, '2026-01-01' + INTERVAL seq MINUTE
             FROM {q}.seq_1_to_15000"
        ),
        format!("INSERT INTO {q}.small SELECT seq, CONCAT('名-', seq) FROM {q}.seq_1_to_700"),
        format!("INSERT INTO {q}.plain VALUES (1, 'x'), (2, 'y'), (3, 'z')"),
    ] {
        admin.exec(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let w = world(&dsn, "rm-par", None).await;
    let full = w
        .backup("rm-par", BackupMethod::Physical, BackupType::Full, None)
        .await
        .expect("physical full backup");
    assert!(
        full.manifest
            .consistency
            .contains("BLOCK_COMMIT (process paused), in 3 session(s)"),
        "read in 3 sessions opened in the pause: {}",
        full.manifest.consistency
    );

    // One fresh snapshot, one session, the tables one after the other.
    let mut fresh = connect(&dsn).await;
    fresh.start_snapshot().await.unwrap();
    let all = fresh.user_tables(None).await.unwrap();
    let expected = fresh.table_states(&all).await.unwrap();
    fresh.close().await;

    // The server is shared: other tests' databases may come and go meanwhile, so the
    // comparison is of this test's tables; the order is checked for the whole manifest.
    let ours = |v: &[xbak_agent::db::TableState]| {
        v.iter()
            .filter(|t| t.schema == db)
            .cloned()
            .collect::<Vec<_>>()
    };
    let got = ours(&full.manifest.tables);
    assert_eq!(got, ours(&expected));
    assert_eq!(
        got.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["big", "empty_one", "medium", "plain", "small"]
    );
    assert_eq!(got[0].rows, Some(60_000));
    assert_eq!(got[1].rows, Some(0));
    assert!(got.iter().all(|t| t.checksum.is_some()));
    // The listing's order (the server's collation), whatever came and went in between.
    let names = |v: &[xbak_agent::db::TableState]| {
        v.iter()
            .map(|t| (t.schema.clone(), t.name.clone()))
            .collect::<Vec<_>>()
    };
    let (m, e) = (names(&full.manifest.tables), names(&expected));
    let in_both = |v: &[(String, String)], other: &[(String, String)]| {
        v.iter()
            .filter(|x| other.contains(x))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        in_both(&m, &e),
        in_both(&e, &m),
        "the manifest keeps the listing's order"
    );
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_failed_run() {
    let dead = Dsn::parse(&format!(
        "mysql://root:secret-pw@127.0.0.1:{}",
        xbak_agent::restore::free_port().unwrap()
    ))
    .unwrap();
    let w = world(&dead, "rm-dead", None).await;
    for method in [BackupMethod::Logical, BackupMethod::Physical] {
        let err = w
            .backup("rm-dead", method, BackupType::Full, None)
            .await
            .expect_err("nothing listens there");
        assert!(!err.to_string().contains("secret-pw"), "{err}");
    }
    let inst = w
        .catalog
        .instance_by_db_instance_id("rm-dead")
        .await
        .unwrap()
        .unwrap();
    let runs = w.catalog.backup_runs(inst.id, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs
        .iter()
        .all(|r| r.status == BackupRunStatus::Failed && r.backup_set_id.is_none()));
    assert!(runs
        .iter()
        .all(|r| !r.error.as_deref().unwrap().contains("secret-pw")));
    // Nothing was stored either.
    let region = w.catalog.region(SOURCE).await.unwrap().unwrap();
    let store = xbak_storage::RegionStore::open(SOURCE, &region.store_url).unwrap();
    assert!(store.list("").await.unwrap().is_empty());
}

/// Two logical backups of one instance started at once (a requested backup and `xbak backup
/// run`, say) both complete, each under its own name, and both sets are whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_started_at_once_get_their_own_names() {
    require_tools();
    let _one = ONE_AT_A_TIME.lock().await;
    let dsn = source_dsn();
    let w = world(&dsn, "rm-twins", None).await;
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            w.backup("rm-twins", BackupMethod::Logical, BackupType::Full, None),
            w.backup("rm-twins", BackupMethod::Logical, BackupType::Full, None)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a.backup_set.object_key, b.backup_set.object_key);
        let region = w.catalog.region(SOURCE).await.unwrap().unwrap();
        let store = xbak_storage::RegionStore::open(SOURCE, &region.store_url).unwrap();
        for o in [&a, &b] {
            assert_eq!(
                store.head(&o.backup_set.object_key).await.unwrap(),
                Some(o.backup_set.size_bytes as u64),
                "{} is stored whole",
                o.backup_set.object_key
            );
        }
    }
}
