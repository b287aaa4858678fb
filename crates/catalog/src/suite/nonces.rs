//! Replay-protection nonce claims and the link signing key, including across reopening.

use crate::SeenNonce;

use super::*;

fn nonce(key: &str, nonce: &str, expires_at: Timestamp) -> SeenNonce {
    SeenNonce {
        access_key_id: key.into(),
        nonce: nonce.into(),
        expires_at,
    }
}

/// `n` claims of `prefix0`, `prefix1`, … expiring at `expires_at`.
fn numbered(prefix: &str, n: usize, expires_at: Timestamp) -> Vec<SeenNonce> {
    (0..n)
        .map(|i| nonce("LTAIa", &format!("{prefix}{i}"), expires_at))
        .collect()
}

/// Claims `nonces` at `at`; every one must be won.
async fn claim_all(cat: &dyn Catalog, nonces: &[SeenNonce], at: Timestamp) {
    let won = cat.claim_nonces(nonces, at).await.unwrap();
    assert!(won.iter().all(|w| *w), "fresh claims are all won");
}

pub async fn nonces_are_claimed_once_until_they_expire(backend: &dyn Backend) {
    let cat = backend.open().await;
    let t = t0();
    assert!(cat.claim_nonces(&[], t).await.unwrap().is_empty());
    let a = nonce("LTAIa", "n1", t + secs(10));
    let b = nonce("LTAIa", "n2", t + secs(20));
    let c = nonce("LTAIb", "n1", t + secs(30)); // same nonce, another key: another claim
    let again = nonce("LTAIa", "n1", t + secs(100));
    // Claimed in order: (batch, at, claimed?, why).
    let steps = [
        (
            vec![a.clone(), b.clone()],
            t,
            vec![true, true],
            "fresh claims",
        ),
        (
            vec![nonce("LTAIa", "n1", t + secs(999)), c.clone(), c],
            t,
            vec![false, true, false],
            "a live claim holds, whatever the expiry asked; a pair twice in a batch wins once",
        ),
        (vec![a], t + secs(9), vec![false], "live until its expiry"),
        (
            vec![again.clone(), b],
            t + secs(10),
            vec![true, false],
            "an expired claim (not pruned yet) is taken over",
        ),
        (
            vec![again],
            t + secs(50),
            vec![false],
            "and the new claim's expiry holds",
        ),
    ];
    for (batch, at, want, why) in steps {
        assert_eq!(cat.claim_nonces(&batch, at).await.unwrap(), want, "{why}");
    }
}

/// Runs the upkeep at `now` in steps of `limit` until a step does less (nothing left); every
/// step stays within `limit`. Returns the steps.
async fn upkeep_until_done(cat: &dyn Catalog, now: Timestamp, limit: u32) -> usize {
    for steps in 1..10_000 {
        let n = cat.prune_nonces(now, limit).await.unwrap();
        assert!(n <= u64::from(limit), "a step did {n} > {limit}");
        if n < u64::from(limit) {
            return steps;
        }
    }
    panic!("the upkeep never finished");
}

pub async fn nonces_are_pruned_in_bounded_steps(backend: &dyn Backend) {
    let cat = backend.open().await;
    let t = t0();
    let expired: Vec<SeenNonce> = (0..5)
        .map(|i| nonce("LTAIa", &format!("old{i}"), t + secs(i)))
        .collect();
    let live = nonce("LTAIa", "live", t + secs(600));
    claim_all(&*cat, &expired, t).await;
    claim_all(&*cat, std::slice::from_ref(&live), t).await;
    let now = t + secs(5);
    assert!(
        upkeep_until_done(&*cat, now, 2).await >= 3,
        "5 expired claims, 2 a step"
    );
    assert_eq!(upkeep_until_done(&*cat, now, 2).await, 1, "nothing left");
    assert_eq!(
        cat.claim_nonces(&[live, expired[0].clone()], now)
            .await
            .unwrap(),
        [false, true],
        "the live claim is kept, a pruned one can be claimed again"
    );
}

/// After the upkeep, every live claim among many still refuses its nonce (on SQLite: read back
/// through the runs' filters and lookups), and every expired one can be claimed again.
pub async fn the_upkeep_keeps_every_live_claim_among_many(backend: &dyn Backend) {
    let cat = backend.open().await;
    let t = t0();
    let live = numbered("live", 10_000, t + secs(600));
    for batch in live.chunks(1_000) {
        claim_all(&*cat, batch, t).await;
    }
    let expired = numbered("old", 30, t + secs(1));
    claim_all(&*cat, &expired, t).await;
    let now = t + secs(5);
    upkeep_until_done(&*cat, now, 100).await;
    for batch in live.chunks(1_000) {
        let won = cat.claim_nonces(batch, now).await.unwrap();
        assert!(won.iter().all(|w| !w), "a live claim was lost");
    }
    claim_all(&*cat, &expired, now).await;
}

/// Claims made while an upkeep is under way, on this handle or another, are kept by it.
pub async fn claims_made_during_the_upkeep_are_kept(backend: &dyn Backend) {
    let cat = backend.open().await;
    let other = backend.open().await;
    let t = t0();
    let first = numbered("first", 300, t + secs(600));
    claim_all(&*cat, &first, t).await;
    claim_all(&*cat, &numbered("old", 10, t + secs(1)), t).await;
    let now = t + secs(5);
    // On SQLite a step of 50 stops midway through writing the run of 310 claims.
    assert!(cat.prune_nonces(now, 50).await.unwrap() <= 50);
    let second = numbered("second", 300, t + secs(600));
    claim_all(&*other, &second, t).await;
    upkeep_until_done(&*other, now, 50).await;
    upkeep_until_done(&*cat, now, 50).await;
    for handle in [&cat, &other] {
        for batch in [&first, &second] {
            let won = handle.claim_nonces(batch, now).await.unwrap();
            assert!(won.iter().all(|w| !w), "a claim was lost");
        }
    }
}

pub async fn concurrent_nonce_claims_have_one_winner(backend: &dyn Backend) {
    let t = clock();
    let nonces: Vec<SeenNonce> = (0..200)
        .map(|i| nonce("LTAIa", &format!("{i:04}"), t + secs(900)))
        .collect();
    let mut claimers = Vec::new();
    for handle in 0..4 {
        let cat = backend.open().await;
        // Every claimer takes all of them in batches of 25, half of them in reverse order.
        let mut mine = nonces.clone();
        if handle % 2 == 1 {
            mine.reverse();
        }
        claimers.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for batch in mine.chunks(25) {
                let answers = cat.claim_nonces(batch, t).await.unwrap();
                won.extend(
                    batch
                        .iter()
                        .zip(answers)
                        .filter(|(_, w)| *w)
                        .map(|(n, _)| n.nonce.clone()),
                );
            }
            won
        }));
    }
    let mut winners = Vec::new();
    for claimer in claimers {
        winners.extend(claimer.await.unwrap());
    }
    winners.sort();
    let expected: Vec<String> = nonces.into_iter().map(|n| n.nonce).collect();
    assert_eq!(winners, expected, "each nonce won exactly once");
}

pub async fn nonces_survive_reopen(backend: &dyn Backend) {
    let t = t0();
    let claimed = vec![
        nonce("LTAIa", "n1", t + secs(300)),
        nonce("LTAIb", "n2", t + secs(600)),
    ];
    let cat = backend.open().await;
    assert_eq!(cat.claim_nonces(&claimed, t).await.unwrap(), [true, true]);
    drop(cat);

    let cat = backend.open().await;
    assert_eq!(cat.claim_nonces(&claimed, t).await.unwrap(), [false, false]);
    upkeep_until_done(&*cat, t + secs(300), 100).await;
    drop(cat);
    let cat = backend.open().await;
    assert_eq!(
        cat.claim_nonces(&claimed, t + secs(300)).await.unwrap(),
        [true, false]
    );
}

pub async fn link_signing_key_is_created_once(backend: &dyn Backend) {
    let first = backend.open().await;
    let second = backend.open().await;
    // Two handles asking at once on a fresh catalog must agree.
    let (a, b) = tokio::join!(first.link_signing_key(), second.link_signing_key());
    let (key_id, secret) = a.unwrap();
    assert_eq!(b.unwrap(), (key_id.clone(), secret.clone()));
    assert!(
        key_id.starts_with("xbak-link-") && key_id.len() == "xbak-link-".len() + 8,
        "{key_id}"
    );
    assert_eq!(secret.len(), 40);
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        first.link_signing_key().await.unwrap(),
        (key_id.clone(), secret.clone())
    );
    drop((first, second));

    let reopened = backend.open().await;
    assert_eq!(
        reopened.link_signing_key().await.unwrap(),
        (key_id, secret),
        "stable across reopen"
    );
}

/// One commit: stores region `region_id`.
async fn commit_a_region(cat: &dyn Catalog, region_id: &str) {
    cat.put_region(&xbak_domain::Region {
        region_id: region_id.into(),
        store_url: "memory://".into(),
    })
    .await
    .unwrap();
}

pub async fn change_token_moves_on_every_commit(backend: &dyn Backend) {
    let first = backend.open().await;
    let second = backend.open().await;
    let t0 = first.change_token().await.unwrap();
    assert_eq!(
        first.change_token().await.unwrap(),
        t0,
        "no commit, no change"
    );
    // A commit through the same handle.
    commit_a_region(&*first, "cn-x").await;
    let t1 = first.change_token().await.unwrap();
    assert_ne!(t1, t0, "own commit not seen");
    // A commit through another handle (another process).
    let t2_other = second.change_token().await.unwrap();
    commit_a_region(&*second, "cn-y").await;
    assert_ne!(second.change_token().await.unwrap(), t2_other);
    assert_ne!(
        first.change_token().await.unwrap(),
        t1,
        "another handle's commit not seen"
    );
}
