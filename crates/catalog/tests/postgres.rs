//! The conformance suite on PostgreSQL: each test in a fresh scratch database on the server
//! named by `XBAK_TEST_POSTGRES_URL` (default: the machine's own on 127.0.0.1:5432). Each `open`
//! is a new handle with its own pool, as another process would have. No server: the tests fail.

use std::sync::Arc;

use async_trait::async_trait;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::suite::Backend;
use xbak_catalog::Catalog;

/// A scratch database, created on the first `open`.
#[derive(Default)]
struct PostgresScratch {
    database: tokio::sync::OnceCell<ScratchDatabase>,
}

impl PostgresScratch {
    async fn url(&self) -> &str {
        self.database
            .get_or_init(ScratchDatabase::create)
            .await
            .url()
    }
}

#[async_trait]
impl Backend for PostgresScratch {
    async fn open(&self) -> Arc<dyn Catalog> {
        Arc::new(
            PostgresCatalog::open(self.url().await)
                .await
                .expect("open postgres catalog"),
        )
    }
}

mod suite {
    use super::*;
    xbak_catalog::catalog_test_suite!(PostgresScratch::default());
}

/// What only the PostgreSQL adapter promises.
mod specific {
    use super::*;
    use xbak_catalog::suite::{
        new_instance, new_set, query, record, record_many, set_policy, settle_all, t0, world,
        BEIJING, HANGZHOU, SHANGHAI,
    };
    use xbak_catalog::{CatalogError, SeenNonce};
    use xbak_domain::{CopyQuery, PageSize};

    async fn raw(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
    }

    /// Every row `sql` selects, through `f`.
    async fn all<T>(
        client: &tokio_postgres::Client,
        sql: &str,
        f: impl Fn(&tokio_postgres::Row) -> T,
    ) -> Vec<T> {
        client
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(f)
            .collect()
    }

    /// The listed copies joined with their backup sets, one JSON array per copy, by id.
    const LISTED_JOINED: &str =
        "SELECT json_build_array(c.instance_id, c.backup_started_at, c.id, c.dest_region_id,
                c.object_key, c.status, c.completed_at, b.id, b.instance_id, b.source_region_id,
                b.method, b.backup_type, b.scale, b.started_at, b.finished_at, b.consistent_at,
                b.instance_number, b.object_key, b.size_bytes, b.sha256)::TEXT
         FROM copies c JOIN backup_sets b ON b.id = c.backup_set_id
         WHERE c.status IN ('completed', 'failed') ORDER BY c.id";
    /// `listed_copies` in the same shape as [`LISTED_JOINED`].
    const LISTED_KEPT: &str =
        "SELECT json_build_array(instance_id, backup_started_at, id, dest_region_id, object_key,
                status, completed_at, backup_set_id, set_instance_id, source_region_id, method,
                backup_type, scale, set_started_at, finished_at, consistent_at, instance_number,
                set_object_key, size_bytes, sha256)::TEXT
         FROM listed_copies ORDER BY id";

    /// A catalog from before migration 7 (its objects dropped, its row gone) gets every listed
    /// copy into `listed_copies` when a binary with it opens the catalog.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listed_copies_are_backfilled_from_existing_copies() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        record_many(&w, 7).await;
        settle_all(&*w.cat, |id| id % 3 == 0).await;
        let client = raw(backend.url().await).await;
        client
            .batch_execute(
                "DROP TRIGGER listed_copies_on_insert ON copies;
                 DROP TRIGGER listed_copies_on_delete ON copies;
                 DROP TRIGGER listed_copies_on_update ON copies;
                 DROP TRIGGER listed_copies_on_set_update ON backup_sets;
                 DROP FUNCTION listed_copies_on_insert(), listed_copies_on_delete(),
                               listed_copies_on_update(), listed_copies_on_set_update();
                 DROP VIEW listed_copy_rows;
                 DROP TABLE listed_copies;
                 DELETE FROM schema_migrations WHERE version = 7;",
            )
            .await
            .unwrap();
        undo_migration_8(&client).await;
        let joined: Vec<String> = all(&client, LISTED_JOINED, |r| r.get(0)).await;
        assert_eq!(joined.len(), 7);
        let reopened = backend.open().await;
        let kept: Vec<String> = all(&client, LISTED_KEPT, |r| r.get(0)).await;
        assert_eq!(kept, joined);
        let listing = reopened.list_copies(&query(w.instance.id)).await.unwrap();
        assert_eq!((listing.total, listing.items.len()), (7, 7));
    }

    /// `copy_listing_totals` and `copy_listing_days` (kept by the trigger) must always equal a
    /// count of the listed rows, whatever changes the copies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kept_totals_follow_every_change() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        let mut instances = vec![w.instance.clone()];
        for name in ["rm-b", "rm-c"] {
            let i = w
                .cat
                .create_instance(&new_instance(w.account.id, name))
                .await
                .unwrap();
            instances.push(i);
        }
        // Sets without queued copies: the copies below are written directly.
        set_policy(&*w.cat, &w.instance, false, SHANGHAI).await;
        let mut sets = Vec::new();
        for n in 0..60u32 {
            let instance = &instances[n as usize % 3];
            let set = w
                .cat
                .record_backup_set(&new_set(instance, t0(), n))
                .await
                .unwrap();
            sets.push((set.backup_set.id, instance.id));
        }
        let client = raw(backend.url().await).await;
        let check = |step: String| {
            let client = &client;
            async move {
                let counted: Vec<(i64, String, i64)> = all(
                    client,
                    "SELECT instance_id, dest_region_id, COUNT(*) FROM copies
                         WHERE status IN ('completed', 'failed') GROUP BY 1, 2 ORDER BY 1, 2",
                    |r| (r.get(0), r.get(1), r.get(2)),
                )
                .await;
                let kept: Vec<(i64, String, i64)> = all(
                    client,
                    "SELECT instance_id, dest_region_id, listed FROM copy_listing_totals
                         WHERE listed <> 0 ORDER BY 1, 2",
                    |r| (r.get(0), r.get(1), r.get(2)),
                )
                .await;
                assert_eq!(kept, counted, "totals after {step}");
                let counted: Vec<(i64, String, i64, i64)> = all(
                    client,
                    "SELECT instance_id, dest_region_id, floor(backup_started_at / 86400.0)::BIGINT,
                            COUNT(*)
                     FROM copies WHERE status IN ('completed', 'failed')
                     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                    |r| (r.get(0), r.get(1), r.get(2), r.get(3)),
                )
                .await;
                let kept: Vec<(i64, String, i64, i64)> = all(
                    client,
                    "SELECT instance_id, dest_region_id, day, listed FROM copy_listing_days
                     ORDER BY 1, 2, 3",
                    |r| (r.get(0), r.get(1), r.get(2), r.get(3)),
                )
                .await;
                assert_eq!(kept, counted, "days after {step}");
                // `listed_copies` (kept by triggers) holds exactly the listed copies joined with
                // their backup sets, column for column.
                let joined: Vec<String> = all(client, LISTED_JOINED, |r| r.get(0)).await;
                let kept: Vec<String> = all(client, LISTED_KEPT, |r| r.get(0)).await;
                assert_eq!(kept, joined, "listed copies after {step}");
            }
        };
        let statuses = ["pending", "completed", "failed"];
        let regions = [HANGZHOU, SHANGHAI, BEIJING];
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let mut next = |n: u64| rand::Rng::random_range(&mut rng, 0..n);
        let mut live = Vec::new();
        for (set_id, instance_id) in &sets {
            let started = next(4) as i64 * 86_400 + [-1, 0, 1, 43_200, 86_399][next(5) as usize];
            let row = client
                .query_one(
                    "INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                                         backup_started_at, queued_at) VALUES ($1, $2, $3, 'k', $4, $5, 0)
                     RETURNING id",
                    &[set_id, instance_id, &regions[next(2) as usize], &statuses[next(3) as usize], &started],
                )
                .await
                .unwrap();
            live.push(row.get::<_, i64>(0));
        }
        check("inserts".into()).await;
        for step in 0..150 {
            let id = live[next(live.len() as u64) as usize];
            let started;
            let (sql, params): (&str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>) =
                match next(7) {
                    0 => (
                        "UPDATE copies SET status = $2 WHERE id = $1",
                        vec![&id, &statuses[next(3) as usize]],
                    ),
                    1 => (
                        "UPDATE copies SET dest_region_id = $2 WHERE id = $1",
                        vec![&id, &regions[next(3) as usize]],
                    ),
                    2 => (
                        "UPDATE copies SET instance_id = $2, status = $3 WHERE id = $1",
                        vec![
                            &id,
                            &instances[next(3) as usize].id,
                            &statuses[next(3) as usize],
                        ],
                    ),
                    3 => {
                        started = next(4) as i64 * 86_400 + [-1, 0, 86_399][next(3) as usize];
                        (
                            "UPDATE copies SET backup_started_at = $2 WHERE id = $1",
                            vec![&id, &started],
                        )
                    }
                    4 => {
                        started = next(1_000) as i64;
                        (
                            "UPDATE copies SET object_key = 'k' || $2::BIGINT, completed_at = $2
                             WHERE id = $1",
                            vec![&id, &started],
                        )
                    }
                    5 => {
                        started = next(1_000) as i64;
                        (
                            "UPDATE backup_sets SET size_bytes = $2
                             WHERE id = (SELECT backup_set_id FROM copies WHERE id = $1)",
                            vec![&id, &started],
                        )
                    }
                    _ => ("DELETE FROM copies WHERE id = $1", vec![&id]),
                };
            client.execute(sql, &params).await.unwrap();
            check(format!("step {step}")).await;
        }
    }

    /// Takes the catalog back to before migration 8 (the claims by fingerprint).
    async fn undo_migration_8(client: &tokio_postgres::Client) {
        client
            .batch_execute(
                "DROP TRIGGER nonces_claim_fingerprints ON nonces;
                 DROP FUNCTION nonces_claim_fingerprints(), nonce_fingerprint(TEXT, TEXT);
                 DROP TABLE nonce_claims;
                 DELETE FROM schema_migrations WHERE version = 8;",
            )
            .await
            .unwrap();
    }

    fn seen(nonce: &str, expires_at: chrono::DateTime<chrono::Utc>) -> SeenNonce {
        SeenNonce {
            access_key_id: "LTAIa".into(),
            nonce: nonce.into(),
            expires_at,
        }
    }

    /// An older binary's claim statement (before migration 8), as it sends it: `true` if won.
    async fn older_binary_claims(
        client: &tokio_postgres::Client,
        nonce: &str,
        expires_at: i64,
    ) -> bool {
        let now = chrono::Utc::now().timestamp();
        let won = client
            .query(
                "INSERT INTO nonces AS n (access_key_id, nonce, expires_at)
                 SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])
                 ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
                 WHERE n.expires_at <= $4
                 RETURNING access_key_id, nonce",
                &[&vec!["LTAIa"], &vec![nonce], &vec![expires_at], &now],
            )
            .await
            .unwrap();
        won.len() == 1
    }

    /// The one number `sql` selects.
    async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
        all(client, sql, |r| r.get(0)).await[0]
    }

    /// Claims are kept by fingerprint, and the SQL function computes the same one as the
    /// adapter (older binaries' claims, made through the trigger, depend on it).
    #[tokio::test]
    async fn claims_are_kept_by_the_fingerprint_sql_computes_alike() {
        let backend = PostgresScratch::default();
        let cat = backend.open().await;
        let client = raw(backend.url().await).await;
        let later = chrono::Utc::now() + chrono::Duration::minutes(15);
        let won = cat
            .claim_nonces(&[seen("n1", later), seen("n2", later)], chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(won, [true, true]);
        let found = count(
            &client,
            "SELECT COUNT(*) FROM nonce_claims
             WHERE fp IN (nonce_fingerprint('LTAIa', 'n1'), nonce_fingerprint('LTAIa', 'n2'))",
        )
        .await;
        assert_eq!(found, 2);
        let wide = SeenNonce {
            access_key_id: "LTAIé".into(),
            nonce: "ñ-1".into(),
            expires_at: later,
        };
        let won = cat.claim_nonces(&[wide], chrono::Utc::now()).await;
        assert_eq!(won.unwrap(), [true]);
        let found = count(
            &client,
            "SELECT COUNT(*) FROM nonce_claims WHERE fp = nonce_fingerprint('LTAIé', 'ñ-1')",
        )
        .await;
        assert_eq!(
            found, 1,
            "multi-byte text is hashed as UTF-8 bytes on both sides"
        );
        assert_eq!(count(&client, "SELECT COUNT(*) FROM nonce_claims").await, 3);
        assert_eq!(count(&client, "SELECT COUNT(*) FROM nonces").await, 0);
    }

    /// During a rolling upgrade an older binary claims into `nonces`: a nonce claimed by either
    /// generation is refused to the other while live, and taken over by either once expired.
    #[tokio::test]
    async fn older_and_newer_binaries_refuse_each_others_replays() {
        let backend = PostgresScratch::default();
        let cat = backend.open().await;
        let client = raw(backend.url().await).await;
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::minutes(15);
        // The newer binary's claim of `nonce` until `expires_at`, made at `at`.
        let claim = |nonce: &'static str, expires_at, at| {
            let cat = cat.clone();
            async move {
                cat.claim_nonces(&[seen(nonce, expires_at)], at)
                    .await
                    .unwrap()[0]
            }
        };
        assert!(claim("newer-first", later, now).await);
        assert!(!older_binary_claims(&client, "newer-first", later.timestamp()).await);
        assert!(older_binary_claims(&client, "older-first", later.timestamp()).await);
        assert!(!claim("older-first", later, now).await);
        assert!(!older_binary_claims(&client, "older-first", later.timestamp()).await);
        // Expired claims of either generation are taken over by the other; by an older one
        // only a minute after their expiry (the database's clock may be ahead of the servers').
        let minute = chrono::Duration::minutes(1);
        let past = now - minute * 2;
        assert!(older_binary_claims(&client, "expired-older", past.timestamp()).await);
        assert!(claim("expired-older", later, now).await);
        assert!(claim("expired-newer", past, past - minute).await);
        assert!(older_binary_claims(&client, "expired-newer", later.timestamp()).await);
        assert!(!claim("expired-newer", later, now).await);
        let just_expired = now - chrono::Duration::seconds(20);
        assert!(claim("just-expired", just_expired, just_expired - minute).await);
        assert!(!older_binary_claims(&client, "just-expired", later.timestamp()).await);
        assert!(
            claim("just-expired", later, now).await,
            "a newer server's rule: expired"
        );
        // The upkeep deletes what either generation left expired, at most `limit` a step.
        assert!(claim("expired-in-claims", past, past - minute).await);
        let expired_in_both = "SELECT (SELECT COUNT(*) FROM nonces WHERE expires_at < $1)
                                    + (SELECT COUNT(*) FROM nonce_claims WHERE expires_at < $1)";
        let expired = || async {
            let row = client.query_one(expired_in_both, &[&now.timestamp()]).await;
            row.unwrap().get::<_, i64>(0)
        };
        // Through the trigger: expired in both tables.
        assert!(older_binary_claims(&client, "expired-older-2", past.timestamp()).await);
        assert_eq!(expired().await, 4);
        let prune = || cat.prune_nonces(now, 3);
        assert_eq!(prune().await.unwrap(), 3, "the limit spans both tables");
        assert_eq!(expired().await, 1);
        assert_eq!(prune().await.unwrap(), 1);
        assert_eq!(prune().await.unwrap(), 0);
        assert_eq!(expired().await, 0);
    }

    /// A catalog from before migration 8 has its live claims in `nonces`: once a binary with it
    /// opens the catalog they are claims by fingerprint, and refuse their replays.
    #[tokio::test]
    async fn live_claims_move_to_fingerprints_when_the_catalog_is_migrated() {
        let backend = PostgresScratch::default();
        drop(backend.open().await);
        let client = raw(backend.url().await).await;
        let now = chrono::Utc::now();
        let at = |minutes| (now + chrono::Duration::minutes(minutes)).timestamp();
        let (live, recent, gone) = (at(10), at(-2), at(-10));
        undo_migration_8(&client).await;
        client
            .batch_execute(&format!(
                "INSERT INTO nonces VALUES ('LTAIa', 'live', {live}),
                 ('LTAIa', 'expired', {recent}), ('LTAIa', 'long-expired', {gone})"
            ))
            .await
            .unwrap();
        let cat = backend.open().await;
        assert_eq!(count(&client, "SELECT COUNT(*) FROM nonces").await, 0);
        // What the upkeep has not deleted yet moves (a server whose clock is behind may still
        // count it live); what it would have deleted does not.
        let moved = "SELECT COUNT(*) FROM nonce_claims
                     WHERE fp IN (nonce_fingerprint('LTAIa', 'live'), nonce_fingerprint('LTAIa', 'expired'))";
        assert_eq!(count(&client, moved).await, 2);
        assert_eq!(count(&client, "SELECT COUNT(*) FROM nonce_claims").await, 2);
        let later = now + chrono::Duration::minutes(15);
        let claims = [
            seen("live", later),
            seen("expired", later),
            seen("long-expired", later),
        ];
        let won = cat.claim_nonces(&claims, now).await.unwrap();
        assert_eq!(won, [false, true, true]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_a_fresh_database_at_once_migrate_it_once() {
        let scratch = ScratchDatabase::create().await;
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = scratch.url().to_string();
                tokio::spawn(async move { PostgresCatalog::open(&url).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            open.await.unwrap().expect("concurrent open");
        }
        let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations",
                &[],
            )
            .await
            .unwrap();
        let (rows, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(rows, distinct, "a migration was applied twice");
        assert_eq!(rows, max, "a migration is missing");
    }

    #[tokio::test]
    async fn ids_are_not_reused_after_the_newest_copy_is_deleted() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        let last = record_many(&w, 3).await;
        let (client, connection) =
            tokio_postgres::connect(backend.url().await, tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        assert_eq!(
            client
                .execute("DELETE FROM copies WHERE id = $1", &[&last])
                .await
                .unwrap(),
            1
        );
        let next = record(&*w.cat, &w.instance, t0(), 3).await;
        assert!(next > last, "CrossBackupId {last} reused as {next}");
    }

    /// The hot path's reads (listings' first pages, key and copy lookups) share a few
    /// connections that pipeline them: many at once must each get their own answer, beside
    /// listings past a kept total's first page, which take a pooled connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hot_reads_each_get_their_own_answer() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        record_many(&w, 70).await;
        settle_all(&*w.cat, |id| id % 4 == 0).await;
        let other = w.bare_instance("rm-other").await;
        let first = CopyQuery::first_page(w.instance.id, PageSize::Thirty);
        let queries = vec![
            first.clone(),
            CopyQuery {
                page_number: 2,
                ..first.clone()
            },
            CopyQuery {
                page_number: 3,
                ..first.clone()
            },
            CopyQuery::first_page(w.instance.id, PageSize::Fifty),
            CopyQuery::first_page(other.id, PageSize::Thirty),
        ];
        let mut expected = Vec::new();
        for q in &queries {
            expected.push(w.cat.list_copies(q).await.unwrap());
        }
        assert_eq!(
            expected.iter().map(|l| l.items.len()).collect::<Vec<_>>(),
            [30, 30, 10, 50, 0]
        );
        let copy_id = expected[0].items[0].cross_backup_id;
        let copy = w.cat.copy(copy_id).await.unwrap().expect("the copy");
        let queries = Arc::new(queries);
        let expected = Arc::new(expected);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..96 {
            let (cat, queries, expected) = (w.cat.clone(), queries.clone(), expected.clone());
            let (key_id, copy) = (w.key.access_key_id.clone(), copy.clone());
            tasks.spawn(async move {
                match i % 7 {
                    5 => {
                        let key = cat.access_key(&key_id).await.unwrap().expect("the key");
                        assert_eq!(key.access_key_id, key_id);
                    }
                    6 => assert_eq!(cat.copy(copy.cross_backup_id).await.unwrap(), Some(copy)),
                    n => assert_eq!(cat.list_copies(&queries[n]).await.unwrap(), expected[n]),
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a concurrent read");
        }
    }

    /// A shared connection whose backend ended is made again: once the connections have seen
    /// their end, every call is answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_connections_whose_backends_ended_are_made_again() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        record_many(&w, 3).await;
        settle_all(&*w.cat, |_| false).await;
        let q = query(w.instance.id);
        let expected = w.cat.list_copies(&q).await.unwrap();
        assert_eq!(expected.items.len(), 3);
        let client = raw(backend.url().await).await;
        let ended: Vec<bool> = all(
            &client,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            |r| r.get(0),
        )
        .await;
        let ended = ended.iter().filter(|&&e| e).count();
        assert!(ended >= 2, "ended {ended} backends");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        for _ in 0..16 {
            assert_eq!(w.cat.list_copies(&q).await.unwrap(), expected);
            assert!(w
                .cat
                .access_key(&w.key.access_key_id)
                .await
                .unwrap()
                .is_some());
        }
    }

    /// Why opening `url` fails; panics if it opens.
    async fn open_error(url: &str) -> CatalogError {
        match PostgresCatalog::open(url).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens there.
        let err = open_error("postgres://postgres@127.0.0.1:1/postgres").await;
        assert!(matches!(err, CatalogError::Unavailable(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused() {
        let err = open_error("postgres://h:notaport/db").await;
        assert!(matches!(err, CatalogError::Internal(_)), "{err:?}");
    }
}
