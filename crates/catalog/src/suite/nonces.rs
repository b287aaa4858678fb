//! Replay-protection nonces and the link signing key, including across reopening.

use crate::SeenNonce;

use super::*;

fn nonce(key: &str, nonce: &str, expires_at: Timestamp) -> SeenNonce {
    SeenNonce {
        access_key_id: key.into(),
        nonce: nonce.into(),
        expires_at,
    }
}

fn sorted(mut v: Vec<SeenNonce>) -> Vec<(String, String, Timestamp)> {
    v.sort_by(|a, b| (&a.access_key_id, &a.nonce).cmp(&(&b.access_key_id, &b.nonce)));
    v.into_iter()
        .map(|n| (n.access_key_id, n.nonce, n.expires_at))
        .collect()
}

pub async fn nonces_remember_live_and_prune(backend: &dyn Backend) {
    let cat = backend.open().await;
    let t = t0();
    assert!(cat.live_nonces(t).await.unwrap().is_empty());
    cat.remember_nonces(&[]).await.unwrap();
    let a = nonce("LTAIa", "n1", t + secs(10));
    let b = nonce("LTAIa", "n2", t + secs(20));
    let c = nonce("LTAIb", "n1", t + secs(30)); // same nonce, another key: a different entry
    cat.remember_nonces(&[a.clone(), b.clone()]).await.unwrap();
    // A duplicate is ignored, whatever its expiry.
    cat.remember_nonces(&[nonce("LTAIa", "n1", t + secs(999)), c.clone()])
        .await
        .unwrap();

    assert_eq!(
        sorted(cat.live_nonces(t).await.unwrap()),
        sorted(vec![a.clone(), b.clone(), c.clone()])
    );
    assert_eq!(
        sorted(cat.live_nonces(t + secs(10)).await.unwrap()),
        sorted(vec![b.clone(), c.clone()]),
        "a nonce is dead at its expiry"
    );
    assert_eq!(cat.prune_nonces(t + secs(20)).await.unwrap(), 2);
    assert_eq!(
        sorted(cat.live_nonces(t).await.unwrap()),
        sorted(vec![c.clone()]),
        "pruned ones are gone"
    );
    assert_eq!(cat.prune_nonces(t + secs(20)).await.unwrap(), 0);
    // Once pruned, the same nonce can be remembered again.
    cat.remember_nonces(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(
        sorted(cat.live_nonces(t).await.unwrap()),
        sorted(vec![a, c])
    );
}

pub async fn nonces_survive_reopen(backend: &dyn Backend) {
    let t = t0();
    let remembered = vec![
        nonce("LTAIa", "n1", t + secs(300)),
        nonce("LTAIb", "n2", t + secs(600)),
    ];
    let cat = backend.open().await;
    cat.remember_nonces(&remembered).await.unwrap();
    drop(cat);

    let cat = backend.open().await;
    assert_eq!(
        sorted(cat.live_nonces(t).await.unwrap()),
        sorted(remembered.clone())
    );
    assert_eq!(cat.prune_nonces(t + secs(300)).await.unwrap(), 1);
    drop(cat);
    let cat = backend.open().await;
    assert_eq!(
        sorted(cat.live_nonces(t).await.unwrap()),
        sorted(remembered[1..].to_vec())
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
    first
        .put_region(&xbak_domain::Region {
            region_id: "cn-x".into(),
            store_url: "memory://".into(),
        })
        .await
        .unwrap();
    let t1 = first.change_token().await.unwrap();
    assert_ne!(t1, t0, "own commit not seen");
    // A commit through another handle (another process).
    let t2_other = second.change_token().await.unwrap();
    second
        .put_region(&xbak_domain::Region {
            region_id: "cn-y".into(),
            store_url: "memory://".into(),
        })
        .await
        .unwrap();
    assert_ne!(second.change_token().await.unwrap(), t2_other);
    assert_ne!(
        first.change_token().await.unwrap(),
        t1,
        "another handle's commit not seen"
    );
}
