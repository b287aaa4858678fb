//! Hostile input never produces a 5xx or a panic.

use axum::body::Body;
use axum::http::Request;
use rand::{Rng, SeedableRng};
use xbak_testkit::*;

#[tokio::test]
async fn garbage_requests_get_4xx_envelopes() {
    let f = Fixture::new(1).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let pieces = [
        "Action=DescribeCrossRegionBackups",
        "Version=2014-08-15",
        "Format=JSON",
        "Format=xml",
        "AccessKeyId=",
        "Signature=%ZZ",
        "SignatureNonce=",
        "Timestamp=2024-13-99T99:99:99Z",
        "PageSize=-1",
        "PageNumber=1e9",
        "DBInstanceId=%00%FF",
        "RegionId=%E4%B8%AD",
        "CrossBackupId=99999999999999999999",
        "StartTime=",
        "&&&",
        "=",
        "%",
        "a=b=c",
        "+",
    ];
    for i in 0..400 {
        let n = rng.random_range(0..8);
        let q: Vec<&str> = (0..n)
            .map(|_| pieces[rng.random_range(0..pieces.len())])
            .collect();
        let q = q.join("&");
        let method = ["GET", "POST", "DELETE", "PATCH"][i % 4];
        let mut b = Request::builder().method(method).uri(format!("/?{q}"));
        if i % 3 == 0 {
            b = b.header(
                "authorization",
                "ACS3-HMAC-SHA256 Credential=,SignedHeaders=;;,Signature=zz",
            );
        }
        if i % 5 == 0 {
            b = b.header("content-type", "application/x-www-form-urlencoded");
        }
        let body: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
        let (status, _, resp, _) = f.send(b.body(Body::from(body)).unwrap()).await;
        assert!(
            (400..500).contains(&status),
            "{method} /?{q} -> {status}: {}",
            String::from_utf8_lossy(&resp)
        );
    }
}

#[tokio::test]
async fn oversized_bodies_and_unknown_paths_are_refused_cleanly() {
    let f = Fixture::new(1).await;
    let big = vec![b'a'; 10 * 1024 * 1024];
    let req = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(big))
        .unwrap();
    let (status, _, _, _) = f.send(req).await;
    assert!((400..500).contains(&status), "{status}");

    let long_q = format!("/?Action={}", "A".repeat(60_000));
    let (status, _, _, _) = f
        .send(Request::get(long_q).body(Body::empty()).unwrap())
        .await;
    assert!((400..500).contains(&status), "{status}");

    for p in [
        "/nope",
        "/download",
        "/download/cn-shanghai/../../etc/passwd?OSSAccessKeyId=a&Expires=1&Signature=x",
    ] {
        let (status, _, _, _) = f.send(Request::get(p).body(Body::empty()).unwrap()).await;
        assert!((400..500).contains(&status), "{p}: {status}");
    }
}
