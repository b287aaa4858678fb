use super::*;
use xbak_catalog::sqlite::SqliteCatalog;

const SKEW: Duration = Duration::from_secs(900);

async fn memory_catalog() -> Arc<dyn Catalog> {
    Arc::new(SqliteCatalog::open_in_memory().await.unwrap())
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

#[tokio::test]
async fn a_nonce_is_accepted_once_per_key() {
    let g = NonceGuard::new(memory_catalog().await, SKEW);
    let now = Utc::now();
    assert!(g.check_and_remember("ak1", "n1", now).await.unwrap());
    assert!(!g.check_and_remember("ak1", "n1", now).await.unwrap());
    let earlier = now - chrono::Duration::minutes(10);
    assert!(!g.check_and_remember("ak1", "n1", earlier).await.unwrap());
    assert!(g.check_and_remember("ak2", "n1", now).await.unwrap());
    assert!(g.check_and_remember("ak1", "n2", now).await.unwrap());
}

#[tokio::test]
async fn concurrent_uses_of_one_nonce_have_one_winner() {
    let g = Arc::new(NonceGuard::new(memory_catalog().await, SKEW));
    let now = Utc::now();
    let tries: Vec<_> = (0..64)
        .map(|_| {
            let g = g.clone();
            tokio::spawn(async move { g.check_and_remember("ak", "once", now).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn another_guard_on_the_catalog_refuses_the_nonce_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let open = || async { Arc::new(SqliteCatalog::open(&path).await.unwrap()) as Arc<dyn Catalog> };
    let now = Utc::now();
    let (a, b) = (
        NonceGuard::new(open().await, SKEW),
        NonceGuard::new(open().await, SKEW),
    );
    assert!(a.check_and_remember("ak", "n", now).await.unwrap());
    assert!(!b.check_and_remember("ak", "n", now).await.unwrap());
    drop((a, b));
    let restarted = NonceGuard::new(open().await, SKEW);
    assert!(!restarted.check_and_remember("ak", "n", now).await.unwrap());
    assert!(restarted
        .check_and_remember("ak", "other", now)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_hit_that_may_have_expired_is_confirmed_against_the_catalog() {
    let g = NonceGuard::new(memory_catalog().await, SKEW);
    let now = 30_000_000 * 60 + 10; // 10 s into a minute
                                    // Signed just under 15 minutes ago: its claim expires in 1 s, within this minute.
    let old = at(now + 1) - chrono::Duration::from_std(SKEW).unwrap();
    assert!(g.check_at("ak", "n", old, at(now)).await.unwrap());
    assert!(
        !g.check_at("ak", "n", old, at(now)).await.unwrap(),
        "remembered in this minute's bucket, still live in the catalog: refused"
    );
    // 2 s later, same minute: memory cannot tell, the catalog can, and the claim has expired.
    assert!(
        g.check_at("ak", "n", at(now + 2), at(now + 2))
            .await
            .unwrap(),
        "an expired claim is not a replay"
    );
    assert!(!g
        .check_at("ak", "n", at(now + 2), at(now + 3))
        .await
        .unwrap());
}

#[tokio::test]
async fn a_forgotten_fingerprint_is_still_refused_by_the_catalog() {
    let cat = memory_catalog().await;
    let g = NonceGuard::new(cat.clone(), SKEW);
    let now = Utc::now();
    assert!(g.check_and_remember("ak", "n", now).await.unwrap());
    // Memory full of others (its cap evicts the fingerprint, or not): refused either way.
    for i in 0..REMEMBERED as u128 * 2 {
        g.recent.remember(i, now.timestamp() + 900, now.timestamp());
    }
    assert!(!g.check_and_remember("ak", "n", now).await.unwrap());
}

#[tokio::test]
async fn a_failing_catalog_refuses_rather_than_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let cat: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&path).await.unwrap());
    let g = NonceGuard::new(cat, SKEW);
    // Another process holds the claims' write lock (SQLite keeps them beside the catalog, in
    // `catalog-nonces.db`) longer than the catalog waits for it.
    let locker = rusqlite_lock(&dir.path().join("catalog-nonces.db"));
    let err = g
        .check_and_remember("ak", "n", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Unavailable(_)), "{err:?}");
    drop(locker);
    assert!(
        g.check_and_remember("ak", "n", Utc::now()).await.unwrap(),
        "nothing was claimed by the failed attempt"
    );
}

/// Holds `path`'s write lock from a plain connection until dropped.
fn rusqlite_lock(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn memory_stays_bounded_whatever_the_rate() {
    let recent = Recent::new(REMEMBERED);
    let start = 1_800_000_000;
    // 4 million distinct nonces over 30 minutes (~2,200/s), each kept 15 minutes.
    let n: u128 = 4_000_000;
    for i in 0..n {
        let now = start + (i * 1800 / n) as i64;
        let fp = recent.fingerprint("ak", &i.to_string());
        recent.remember(fp, now + 900, now);
    }
    let (entries, bytes) = recent.size();
    assert!(entries <= REMEMBERED, "{entries} fingerprints");
    assert!(entries >= REMEMBERED / 4, "keeps a useful share: {entries}");
    // Tables at most 4× the fingerprints' own size (hash table growth and per-minute buckets).
    assert!(bytes <= REMEMBERED * 17 * 4, "{bytes} bytes");
    // The newest are the ones remembered.
    let now = start + 1800;
    let newest = recent.fingerprint("ak", &(n - 1).to_string());
    assert!(recent.surely_live(newest, now));
    let oldest = recent.fingerprint("ak", "0");
    assert!(!recent.surely_live(oldest, now));
}

#[test]
fn fingerprints_live_until_their_minute_and_stay_ordered() {
    let recent = Recent::new(REMEMBERED);
    let now = 2_000_000_080; // 40 s into a minute
    recent.remember(7, now + 900, now);
    recent.remember(8, now + 300, now); // signed earlier: an earlier bucket
    assert!(recent.surely_live(7, now) && recent.surely_live(8, now));
    assert!(
        recent.surely_live(8, now + 259),
        "in a later minute than now's"
    );
    assert!(
        !recent.surely_live(8, now + 260),
        "in this minute: only maybe"
    );
    recent.remember(9, now + 900, now + 400);
    assert!(!recent.surely_live(8, now + 400), "dropped with its minute");
    assert!(recent.surely_live(7, now + 400));
}

#[tokio::test]
async fn one_prune_goes_through_a_backlog_of_many_steps() {
    let g = NonceGuard::new(memory_catalog().await, SKEW);
    // Signed an hour ago: claimed then, expired 45 minutes ago.
    let signed = Utc::now() - chrono::Duration::hours(1);
    let claims = 3 * PRUNE_STEP as usize;
    for i in 0..claims {
        assert!(g
            .check_at("ak", &format!("n{i}"), signed, signed)
            .await
            .unwrap());
    }
    // On SQLite each claim is written into a run, deleted from the log and deleted with its
    // run: three times more work than one step does, all of it in one call.
    let pruned = g.prune().await.unwrap();
    assert!(
        pruned >= 3 * claims as u64,
        "{pruned} after {claims} claims"
    );
    assert!(g.prune().await.unwrap() < u64::from(PRUNE_STEP));
}
