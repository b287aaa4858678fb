//! Retry rules and download checks against a scripted server on 127.0.0.1 that answers from a
//! list: 5xx and throttling are retried (signed afresh each time), 4xx is not; OSS's CRC-64
//! header is verified; a server that ignores `Range` makes the download start over.

mod common;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response};
use axum::routing::any;
use axum::Router;
use common::fast_retries;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use xbak_sdk::checksum::Crc64;
use xbak_sdk::{Client, Credentials, DownloadOptions, DownloadRequest, SdkError};
use xbak_testkit::noise;

/// One canned answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    /// Headers of every request received.
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

async fn answer(State(s): State<Script>, headers: HeaderMap) -> Response<Body> {
    s.seen.lock().unwrap().push(headers);
    let (status, extra, body) = s
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .expect("the script ran out of answers");
    let mut b = Response::builder().status(status);
    for (k, v) in extra {
        b = b.header(k, v);
    }
    b.body(Body::from(body)).unwrap()
}

async fn scripted(answers: Vec<Answer>) -> (String, Script) {
    let script = Script::default();
    script.answers.lock().unwrap().extend(answers);
    let router = Router::new()
        .route("/", any(answer))
        .route("/obj", any(answer))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (url, script)
}

fn client(url: &str) -> Client {
    Client::builder()
        .endpoint(url)
        .credentials(Credentials::new("ak", "sk"))
        .region_id("cn-hangzhou")
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn err(status: u16, code: &str) -> Answer {
    (
        status,
        vec![("content-type", "application/json".into())],
        format!(r#"{{"RequestId":"R-{status}","Message":"m","Code":"{code}"}}"#).into_bytes(),
    )
}

fn ok(body: serde_json::Value) -> Answer {
    (
        200,
        vec![("x-acs-request-id", "R-ok".into())],
        body.to_string().into_bytes(),
    )
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_with_fresh_signatures() {
    let (url, script) = scripted(vec![
        err(503, "ServiceUnavailable"),
        err(500, "InternalError"),
        (
            400,
            vec![("x-acs-retry-after", "10".into())],
            br#"{"RequestId":"R","Message":"slow down","Code":"Throttling.User"}"#.to_vec(),
        ),
        ok(serde_json::json!({"RequestId":"R-ok","TotalRecordCount":0,"Items":{"Item":[]}})),
    ])
    .await;
    let raw = client(&url)
        .call_raw("DescribeCrossRegionBackups", &[])
        .await
        .unwrap();
    assert_eq!((raw.status, raw.attempts), (200, 4));
    assert_eq!(raw.request_id, "R-ok");
    let seen = script.seen.lock().unwrap();
    let nonces: std::collections::HashSet<_> = seen
        .iter()
        .map(|h| h["x-acs-signature-nonce"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(nonces.len(), 4, "every attempt is signed with a new nonce");
}

#[tokio::test]
async fn client_errors_are_not_retried_and_retries_are_bounded() {
    let (url, script) = scripted(vec![err(400, "InvalidParameters.Format")]).await;
    let e = client(&url)
        .call("DescribeCrossRegionBackups", &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameters.Format"));
    assert_eq!(script.seen.lock().unwrap().len(), 1);

    let (url, script) = scripted((0..4).map(|_| err(503, "ServiceUnavailable")).collect()).await;
    let e = client(&url)
        .call("DescribeCrossRegionBackups", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e, SdkError::Api { http_status: 503, ref request_id, .. } if request_id == "R-503")
    );
    assert_eq!(script.seen.lock().unwrap().len(), 4, "max_attempts");

    // A mutation is not retried after a 5xx (it may have run)...
    let (url, script) = scripted(vec![err(500, "InternalError")]).await;
    client(&url).call("ModifySomething", &[]).await.unwrap_err();
    assert_eq!(script.seen.lock().unwrap().len(), 1);
    // ...but is after throttling (it was refused).
    let (url, script) = scripted(vec![err(400, "Throttling"), ok(serde_json::json!({}))]).await;
    client(&url).call("ModifySomething", &[]).await.unwrap();
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = client(&format!("http://127.0.0.1:{port}"))
        .call("DescribeCrossRegionBackups", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, SdkError::Transport(_)), "{e:?}");
}

fn listing(url: &str, size: usize) -> Answer {
    ok(serde_json::json!({
        "RequestId": "R", "TotalRecordCount": 1, "PageNumber": 1, "PageRecordCount": 1,
        "Items": {"Item": [{
            "CrossBackupId": 7, "BackupSetStatus": 0, "CrossBackupSetSize": size,
            "CrossBackupDownloadLink": format!("{url}/obj?Expires=1"),
            "CrossBackupSetFile": "f.tar.gz", "RestoreRegions": {"RestoreRegion": []}
        }]}
    }))
}

/// The download of copy 7 of `rm-x`, the copy [`listing`] lists.
fn backup_7() -> DownloadRequest {
    DownloadRequest {
        db_instance_id: "rm-x".into(),
        region_id: None,
        cross_backup_id: 7,
    }
}

fn crc(data: &[u8]) -> String {
    let mut c = Crc64::default();
    c.update(data);
    c.value().to_string()
}

#[tokio::test]
async fn oss_crc64_header_is_verified() {
    let data = noise(100_000, 9);
    let dir = tempfile::tempdir().unwrap();
    let req = backup_7();
    // Good CRC.
    let (url, script) = scripted(vec![]).await;
    script.answers.lock().unwrap().extend([
        listing(&url, data.len()),
        (
            200,
            vec![("x-oss-hash-crc64ecma", crc(&data))],
            data.clone(),
        ),
    ]);
    let out = client(&url)
        .download_cross_region_backup(
            &req,
            &DownloadOptions::new(dir.path().join("a")),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert!(out.crc64_verified);
    // Bad CRC: refused, nothing left behind.
    let (url, script) = scripted(vec![]).await;
    script.answers.lock().unwrap().extend([
        listing(&url, data.len()),
        (
            200,
            vec![("x-oss-hash-crc64ecma", "12345".into())],
            data.clone(),
        ),
    ]);
    let dest = dir.path().join("b");
    let e = client(&url)
        .download_cross_region_backup(&req, &DownloadOptions::new(&dest), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(e, SdkError::Download(ref m) if m.contains("CRC-64")),
        "{e}"
    );
    assert!(!dest.exists() && !xbak_sdk::download::with_suffix(&dest, ".part").exists());
}

#[tokio::test]
async fn a_server_ignoring_range_restarts_the_file_and_a_cut_stream_resumes() {
    let data = noise(50_000, 3);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c");
    let req = backup_7();
    let (url, script) = scripted(vec![]).await;
    // The listing, a 503 (retried after a backoff), then the whole object.
    script.answers.lock().unwrap().extend([
        listing(&url, data.len()),
        err(503, "ServiceUnavailable"),
        (200, vec![], data.clone()),
    ]);
    let mut opts = DownloadOptions::new(&dest);
    opts.retry.base_delay = std::time::Duration::from_millis(5);
    let mut events = Vec::new();
    client(&url)
        .download_cross_region_backup(&req, &opts, &mut |e| events.push(e))
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, xbak_sdk::DownloadEvent::Retrying { offset: 0, .. })));
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // A .part of 1000 wrong-but-unchecked bytes; the server ignores Range and sends it all.
    std::fs::remove_file(&dest).unwrap();
    let (url, script) = scripted(vec![]).await;
    script
        .answers
        .lock()
        .unwrap()
        .extend([listing(&url, data.len()), (200, vec![], data.clone())]);
    let part = xbak_sdk::download::with_suffix(&dest, ".part");
    let meta_item = serde_json::json!({"DBInstanceId":"rm-x","RegionId":null,"Item":{
        "CrossBackupId":7,"BackupSetStatus":0,"CrossBackupSetSize":data.len(),
        "CrossBackupDownloadLink":format!("{url}/obj"),"RestoreRegions":{"RestoreRegion":[]}}});
    std::fs::write(&part, vec![b'x'; 1000]).unwrap();
    std::fs::write(
        xbak_sdk::download::with_suffix(&dest, ".part.json"),
        meta_item.to_string(),
    )
    .unwrap();
    // The saved link is used first (no listing call): pop the listing answer.
    script.answers.lock().unwrap().pop_front();
    let out = client(&url)
        .download_cross_region_backup(&req, &opts, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(out.resumed_from, 1000);
    assert_eq!(std::fs::read(&dest).unwrap(), data, "restarted from byte 0");
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["range"], "bytes=1000-");
}
