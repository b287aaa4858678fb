//! The rendered-page cache of `DescribeCrossRegionBackups`: a cache hit answers the same bytes
//! as a fresh rendering except for its own RequestId; the links in a cached page stay valid and
//! expire as configured; echoed request values are part of the key.

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use std::time::Duration;
use xbak_server::page_cache::{page_lifetime, MAX_PAGE_LIFETIME};
use xbak_server::{AppState, ServerConfig};
use xbak_testkit::*;

fn first_link(body: &serde_json::Value) -> String {
    body["Items"]["Item"][0]["CrossBackupDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_response_has_its_own_request_id_even_from_the_cache() {
    let f = Fixture::new(3).await;
    let (s, e) = window(3);
    let params = listing(&s, &e);
    let mut ids = Vec::new();
    let mut bodies = Vec::new();
    for format in ["JSON", "XML"] {
        for _ in 0..3 {
            let mut p = params.to_vec();
            p.push(("Format", format));
            let (status, _, body, headers) = f.send(f.v1_get(&p)).await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let id = headers
                .get("x-acs-request-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let text = String::from_utf8(body).unwrap();
            assert_eq!(text.matches(&id).count(), 1, "{text}");
            assert!(
                text.contains(&format!("\"RequestId\":\"{id}\""))
                    || text.contains(&format!("<RequestId>{id}</RequestId>")),
                "{text}"
            );
            bodies.push((format, text.replace(&id, "ID")));
            ids.push(id);
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    // Apart from the RequestId, hits answer the bytes of the first (rendered) response.
    for w in bodies.windows(2) {
        if w[0].0 == w[1].0 {
            assert_eq!(w[0].1, w[1].1);
        }
    }
    assert!(bodies[3].1.starts_with("<?xml"), "{}", bodies[3].1);
}

#[tokio::test]
async fn echoed_values_are_part_of_the_key() {
    let f = Fixture::new(2).await;
    // The same instant written two ways: the same listing, different echoes.
    for (start, end) in [
        ("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"),
        ("2024-03-01T00:00Z", "2024-03-02T00:00Z"),
    ] {
        for _ in 0..2 {
            let (status, body) = f
                .describe(&[
                    ("DBInstanceId", INSTANCE),
                    ("RegionId", SRC),
                    ("StartTime", start),
                    ("EndTime", end),
                ])
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["StartTime"], start);
            assert_eq!(body["EndTime"], end);
            assert_eq!(body["TotalRecordCount"], 2);
        }
    }
}

#[tokio::test]
async fn links_from_cached_pages_are_valid_and_expire_as_configured() {
    let f = Fixture::new(1).await;
    // Links of 3 s: pages are reused for 300 ms at most.
    let ttl = Duration::from_secs(3);
    assert_eq!(page_lifetime(ttl), Duration::from_millis(300));
    let state = AppState::new(
        ServerConfig {
            link_ttl: ttl,
            ..ServerConfig::default()
        },
        f.catalog.clone(),
        f.regions.clone(),
        f.state.links.clone(),
    )
    .await
    .unwrap();
    let (s, e) = window(1);
    let params = listing(&s, &e);
    let describe = || async {
        let req = v1_request("GET", &f.ak, &f.secret, &params, Utc::now());
        let (status, _, body, _) = send_to(&state, req).await;
        assert_eq!(status, 200);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (Utc::now().timestamp(), first_link(&body))
    };
    let mut links = Vec::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let (now, link) = describe().await;
        let expires = expires_of(&link);
        // Never longer than configured, never shorter by more than a page's lifetime (+1 s of
        // rounding to whole seconds).
        assert!(expires <= now + 3, "{expires} vs {now}");
        assert!(expires >= now + 3 - 1 - 1, "{expires} vs {now}");
        let path = link.strip_prefix(LINK_BASE).unwrap().to_owned();
        let (status, _, body, _) =
            send_to(&state, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        links.push(link);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Pages were reused (the same link twice in a row) and re-rendered (a later expiry).
    assert!(links.windows(2).any(|w| w[0] == w[1]), "{links:?}");
    assert!(
        expires_of(links.last().unwrap()) > expires_of(&links[0]),
        "{links:?}"
    );

    // A link handed out from a cached page expires like any other.
    let (_, link) = describe().await;
    let path = link.strip_prefix(LINK_BASE).unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(
        ((expires_of(&link) - Utc::now().timestamp() + 1) * 1000) as u64 + 100,
    ))
    .await;
    let (status, _, body, _) =
        send_to(&state, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("expired"));
}

#[test]
fn default_links_are_cached_for_at_most_two_seconds() {
    assert_eq!(
        page_lifetime(ServerConfig::default().link_ttl),
        MAX_PAGE_LIFETIME
    );
    assert!(MAX_PAGE_LIFETIME <= Duration::from_secs(2));
}
