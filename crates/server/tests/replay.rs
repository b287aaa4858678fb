//! One replay guard for every API server on a catalog: a signed request answered by one server
//! is refused `SignatureNonceUsed` by another, also after both restart. On a SQLite file (two
//! handles, as two processes on one data dir would have) and on PostgreSQL (the server named by
//! `XBAK_TEST_POSTGRES_URL`; no server: the test fails). A read that runs while its nonce is
//! being claimed shows nothing of its answer when the claim is lost; a change never runs first.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::{Catalog, SeenNonce};
use xbak_domain::AccessKey;
use xbak_server::{AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::Regions;
use xbak_testkit::{
    local_regions, new_instance, policy_to_dest, send_to, v1_params, DEST, INSTANCE, SRC,
};

/// A server on its own catalog handle.
async fn server(catalog: Arc<dyn Catalog>) -> AppState {
    let links = LinkSigner::new("k".into(), "s".into(), "http://127.0.0.1:9".into());
    AppState::new(ServerConfig::default(), catalog, Regions::new(), links)
        .await
        .unwrap()
}

/// The `Code` a server answers `query` with (`""` for a success).
async fn code(server: &AppState, query: &str) -> String {
    let req = Request::get(format!("/?{query}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body, _) = send_to(server, req).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(status < 500, "{status}: {v}");
    v["Code"].as_str().unwrap_or_default().to_owned()
}

/// Two servers, each on a handle from `open`: the same signed request goes through one and is a
/// replay for the other, and for both once restarted (one having read the live claims before
/// serving, as `serve` does: how many it read is returned); a fresh one still passes.
async fn servers_share_one_guard<F, Fut>(open: F) -> u64
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Catalog>>,
{
    let catalog = open().await;
    let (_, key) = catalog.create_account("alice").await.unwrap();
    let signed = |now| {
        // A call that passes authentication and then finds no such instance.
        let p = [
            ("DBInstanceId", "rm-nosuch"),
            ("RegionId", "cn-hangzhou"),
            ("CrossBackupId", "1"),
        ];
        v1_params("GET", &key.access_key_id, &key.secret, &p, now)
    };
    let (a, b) = (server(open().await).await, server(open().await).await);
    let first = signed(Utc::now());
    let served = code(&a, &first).await;
    assert!(
        served.starts_with("InvalidDBInstance"),
        "authenticated: {served}"
    );
    assert_eq!(code(&b, &first).await, "SignatureNonceUsed");
    assert_eq!(code(&a, &first).await, "SignatureNonceUsed");

    // The claims' upkeep runs (on SQLite: the claims so far become a run), then both go away
    // (nothing flushed on the way) and come back, one reading the live claims first.
    let second = signed(Utc::now());
    assert_eq!(code(&b, &second).await, served);
    a.nonces.prune().await.unwrap();
    drop((a, b));
    let (a, b) = (server(open().await).await, server(open().await).await);
    let read = a.nonces.load().await.unwrap();
    for query in [&first, &second] {
        assert_eq!(code(&a, query).await, "SignatureNonceUsed");
        assert_eq!(code(&b, query).await, "SignatureNonceUsed");
    }
    assert_eq!(code(&b, &signed(Utc::now())).await, served);
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_sqlite_file_share_one_guard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let read = servers_share_one_guard(|| async {
        Arc::new(SqliteCatalog::open(&path).await.unwrap()) as Arc<dyn Catalog>
    })
    .await;
    assert_eq!(read, 2, "the run of both claims");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_postgres_database_share_one_guard() {
    let db = ScratchDatabase::create().await;
    let read = servers_share_one_guard(|| async {
        Arc::new(PostgresCatalog::open(db.url()).await.unwrap()) as Arc<dyn Catalog>
    })
    .await;
    assert_eq!(read, 0, "every claim is looked up in the table");
}

/// A server on a PostgreSQL catalog of its own, with account A's [`INSTANCE`] (cross-region
/// backup on, to [`DEST`]) and a connection of the test's own to that database.
struct PgWorld {
    catalog: Arc<dyn Catalog>,
    state: AppState,
    key: AccessKey,
    instance_id: i64,
    sql: tokio_postgres::Client,
    _regions: tempfile::TempDir,
    /// Last: dropped after the server and connections using it.
    _db: ScratchDatabase,
}

impl PgWorld {
    async fn new() -> PgWorld {
        let db = ScratchDatabase::create().await;
        let catalog: Arc<dyn Catalog> = Arc::new(PostgresCatalog::open(db.url()).await.unwrap());
        let regions = tempfile::tempdir().unwrap();
        local_regions(&*catalog, regions.path(), &[SRC, DEST]).await;
        let (alice, key) = catalog.create_account("alice").await.unwrap();
        let instance = catalog
            .create_instance(&new_instance(INSTANCE, alice.id, "5.7"))
            .await
            .unwrap();
        catalog
            .put_policy(&policy_to_dest(instance.id))
            .await
            .unwrap();
        let (sql, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        PgWorld {
            state: server(catalog.clone()).await,
            _db: db,
            _regions: regions,
            catalog,
            key,
            instance_id: instance.id,
            sql,
        }
    }

    async fn policy_enabled(&self) -> bool {
        let policy = self.catalog.policy(self.instance_id).await.unwrap();
        policy.expect("a policy").enabled
    }

    /// Sends `params` signed by account A after claiming its nonce in the catalog (as another
    /// server would have), with the claims table locked; once the server's own claim waits for
    /// that lock, awaits `meanwhile`, then lets the lock go. The `Code` answered.
    async fn claimed_elsewhere(
        &self,
        params: &[(&str, &str)],
        meanwhile: impl Future<Output = ()>,
    ) -> String {
        let ak = &self.key.access_key_id;
        let query = v1_params("GET", ak, &self.key.secret, params, Utc::now());
        let nonce = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("SignatureNonce="))
            .expect("a signed query has a nonce");
        let claim = SeenNonce {
            access_key_id: ak.clone(),
            nonce: nonce.to_owned(),
            expires_at: Utc::now() + chrono::Duration::minutes(15),
        };
        let won = self.catalog.claim_nonces(&[claim], Utc::now()).await;
        assert_eq!(won.unwrap(), [true]);
        self.sql
            .batch_execute("BEGIN; LOCK TABLE nonce_claims IN EXCLUSIVE MODE")
            .await
            .unwrap();
        let state = self.state.clone();
        let call = tokio::spawn(async move { code(&state, &query).await });
        self.until_a_claim_waits().await;
        meanwhile.await;
        self.sql.batch_execute("ROLLBACK").await.unwrap();
        call.await.unwrap()
    }

    /// Returns once a claim statement waits for a lock.
    async fn until_a_claim_waits(&self) {
        within_30s("a claim waits for the claims table", || async {
            let row = self.sql.query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO nonce_claims%'",
                &[],
            );
            row.await.unwrap().get::<_, i64>(0) > 0
        })
        .await;
    }
}

/// Returns once `holds` says so, checking every 10 ms; fails after 30 s saying what `what` said
/// did not happen.
async fn within_30s<F, Fut>(what: &str, mut holds: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..3_000 {
        if holds().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 30 s: {what}");
}

/// A read runs while its nonce is being claimed (it looks its instance up, which the server
/// keeps, while the claim waits), and is answered only once the claim is won: a call whose
/// nonce another server holds gets `SignatureNonceUsed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_whose_nonce_is_taken_is_refused() {
    let w = PgWorld::new().await;
    let params = [
        ("Action", "DescribeInstanceCrossBackupPolicy"),
        ("DBInstanceId", INSTANCE),
        ("RegionId", SRC),
    ];
    let looked_up = within_30s("the read ran while its claim waited", || async {
        w.state.instances.get(&INSTANCE.to_owned()).is_some()
    });
    let refused = w.claimed_elsewhere(&params, looked_up).await;
    assert_eq!(refused, "SignatureNonceUsed");
    let ak = &w.key.access_key_id;
    let fresh = v1_params("GET", ak, &w.key.secret, &params, Utc::now());
    assert_eq!(code(&w.state, &fresh).await, "", "a fresh call is answered");
}

/// A change never runs before its nonce is claimed: while the claim waits, the policy is as it
/// was; then the call is refused `SignatureNonceUsed` and the policy still is. The same change
/// with a fresh nonce makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_nonce_is_taken_is_not_made() {
    let w = PgWorld::new().await;
    let modify = [
        ("Action", "ModifyInstanceCrossBackupPolicy"),
        ("DBInstanceId", INSTANCE),
        ("RegionId", SRC),
        ("BackupEnabled", "0"),
    ];
    let unchanged = async {
        // Time for a change made too early to be seen (the lock is held meanwhile, so a right
        // server passes however slow the machine).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(w.policy_enabled().await, "the change ran before its claim");
    };
    let refused = w.claimed_elsewhere(&modify, unchanged).await;
    assert_eq!(refused, "SignatureNonceUsed");
    assert!(w.policy_enabled().await);
    let ak = &w.key.access_key_id;
    let fresh = v1_params("GET", ak, &w.key.secret, &modify, Utc::now());
    assert_eq!(code(&w.state, &fresh).await, "");
    assert!(!w.policy_enabled().await);
}
