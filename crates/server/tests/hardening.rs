//! Hostile clients against the real listener (issue 11): floods of unknown AccessKeyIds, slow
//! senders, connections over the cap, over-long and slow bodies, what a v3 signature must cover,
//! download ranges and per-key budgets. Latencies are printed, never asserted.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use xbak_protocol::sign::{v3, V3_MUST_SIGN};
use xbak_protocol::RawParams;
use xbak_server::budget::RequestBudget;
use xbak_server::{ListenerLimits, ServerConfig};
use xbak_testkit::*;

/// A raw HTTP/1.1 answer: status, lower-case headers, body (`Content-Length` framed).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one answer, or `None` when the server closed the connection first.
async fn read_answer(s: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn connect(srv: &Server) -> TcpStream {
    TcpStream::connect(srv.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Held by every test: the flood test measures the process's RSS, which tests running beside it
/// (2,000 connections, 2 MiB bodies) would inflate.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What signed calls need, detached from the [`Server`] (for spawned tasks).
#[derive(Clone)]
struct Caller {
    addr: String,
    ak: String,
    secret: String,
    window: (String, String),
}

impl Caller {
    fn of(srv: &Server) -> Caller {
        Caller {
            addr: srv.url.trim_start_matches("http://").to_owned(),
            ak: srv.ak.clone(),
            secret: srv.secret.clone(),
            window: srv.window(),
        }
    }

    /// A v1-signed listing GET, as raw bytes (keep-alive).
    fn get(&self, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut params: Vec<(&str, &str)> = listing(&self.window.0, &self.window.1).to_vec();
        params.extend_from_slice(extra);
        let q = v1_params("GET", &self.ak, &self.secret, &params, chrono::Utc::now());
        format!("GET /?{q} HTTP/1.1\r\nhost: x\r\n\r\n").into_bytes()
    }
}

fn signed_get(srv: &Server, extra: &[(&str, &str)]) -> Vec<u8> {
    Caller::of(srv).get(extra)
}

/// Sends `request` on `s` and reads the answer.
async fn exchange(s: &mut TcpStream, request: &[u8]) -> Option<Answer> {
    s.write_all(request).await.ok()?;
    read_answer(s).await
}

/// A signed listing on `s`, which must be served.
async fn call_ok(s: &mut TcpStream, srv: &Server) {
    let a = exchange(s, &signed_get(srv, &[])).await.expect("answered");
    assert_eq!(a.status, 200, "{}", a.body);
}

/// Signed calls on one keep-alive connection, all answered 200, until `done` turns true (or
/// for `at_most`); their latencies.
async fn signed_calls(
    caller: Caller,
    mut done: watch::Receiver<bool>,
    at_most: Duration,
) -> Vec<Duration> {
    let stop = Instant::now() + at_most;
    let mut s = TcpStream::connect(&caller.addr).await.unwrap();
    let mut took = Vec::new();
    while !*done.borrow() && Instant::now() < stop {
        let req = caller.get(&[]);
        let t = Instant::now();
        let a = exchange(&mut s, &req).await.expect("signed call answered");
        took.push(t.elapsed());
        assert_eq!(a.status, 200, "{}", a.body);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = done.changed() => {}
        }
    }
    took
}

fn report(what: &str, mut took: Vec<Duration>) {
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    eprintln!(
        "{what}: {} signed calls, p50 {:?}, p99 {:?}, max {:?}",
        took.len(),
        at(0.5),
        at(0.99),
        took.last().unwrap()
    );
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Requests with random 300 KB v3 Credentials: answered `InvalidAccessKeyId.NotFound`, the
/// process does not grow by what they carry, and signed calls keep working meanwhile.
/// `XBAK_FLOOD_REQUESTS` sets the count (CI: 2,000 = 600 MB of ids; bench/results.md: 100,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_long_access_key_ids_neither_grows_the_process_nor_stalls_real_keys() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let total: usize = std::env::var("XBAK_FLOOD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let srv = Server::start(Setup::default()).await;
    // Warm up: allocator arenas, the catalog's connections, the page cache.
    let (done_tx, done) = watch::channel(false);
    let warm = signed_calls(Caller::of(&srv), done.clone(), Duration::from_millis(300)).await;
    let before = rss_bytes();
    let flooding = 8;
    let calls = tokio::spawn(signed_calls(
        Caller::of(&srv),
        done,
        Duration::from_secs(3600),
    ));
    let flood: Vec<_> = (0..flooding)
        .map(|w| {
            let url = srv.url.clone();
            tokio::spawn(async move {
                let mut s = TcpStream::connect(url.trim_start_matches("http://"))
                    .await
                    .unwrap();
                let id_len = 300 * 1024;
                // Well-formed but for the id, and timestamped now: only the id stops it.
                let head = format!(
                    "POST / HTTP/1.1\r\nhost: x\r\nx-acs-action: DescribeCrossRegionBackups\r\nx-acs-version: 2014-08-15\r\nx-acs-date: {}\r\nx-acs-signature-nonce: n\r\nx-acs-content-sha256: {EMPTY_SHA256}\r\ncontent-length: 0\r\nauthorization: ACS3-HMAC-SHA256 SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00,Credential=",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                );
                let mut req = head.as_bytes().to_vec();
                let id_at = req.len();
                req.extend(std::iter::repeat_n(b'A', id_len));
                req.extend_from_slice(b"\r\n\r\n");
                let mut seed = 0x9E3779B97F4A7C15u64 ^ (w as u64);
                for i in (w..total).step_by(flooding) {
                    // A fresh id each time: rewrite its first 16 characters.
                    for b in &mut req[id_at..id_at + 16] {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        *b = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(seed % 32) as usize];
                    }
                    let a = exchange(&mut s, &req).await.unwrap_or_else(|| panic!("request {i} answered"));
                    assert_eq!(a.status, 404, "{}", a.body);
                    assert!(a.body.contains("InvalidAccessKeyId.NotFound"), "{}", a.body);
                }
            })
        })
        .collect();
    for f in flood {
        f.await.unwrap();
    }
    let after = rss_bytes();
    done_tx.send(true).unwrap();
    let during = calls.await.unwrap();
    report("before the flood", warm);
    report(&format!("during {total} requests with 300 KB ids"), during);
    let grown = after.saturating_sub(before);
    eprintln!(
        "RSS {} MB -> {} MB (+{} KB)",
        before >> 20,
        after >> 20,
        grown >> 10
    );
    assert!(grown < 30 << 20, "RSS grew by {grown} bytes");
    // The real key still answers (and was never evicted: it is cached apart from unknown ids).
    let mut s = connect(&srv).await;
    call_ok(&mut s, &srv).await;
}

fn limits(header_timeout: Duration, max_connections: usize) -> ListenerLimits {
    ListenerLimits {
        max_connections,
        header_timeout,
        ..ListenerLimits::default()
    }
}

/// Whether the server closes `s` (or answers it) within `within` while the client trickles one
/// byte of a request head every `every`.
async fn closed_while_trickling(mut s: TcpStream, every: Duration, within: Duration) -> bool {
    let head = b"GET /?Action=DescribeCrossRegionBackups HTTP/1.1\r\nhost: x\r\nx-slow: ";
    let stop = Instant::now() + within;
    let mut buf = [0u8; 1024];
    for i in 0.. {
        if Instant::now() > stop {
            return false;
        }
        if s.write_all(&[head[i % head.len()]]).await.is_err() {
            return true;
        }
        match tokio::time::timeout(every, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {} // the 408 answer; the close follows
            Err(_) => {}
        }
    }
    unreachable!()
}

/// 2,000 connections trickling a request head do not stop signed calls, and are closed after
/// the header deadline; so is an idle keep-alive connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_senders_are_closed_after_the_header_deadline_and_do_not_stall_signed_calls() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let timeout = Duration::from_secs(3);
    let srv = Server::start_with(
        Setup::default(),
        ServerConfig::default(),
        limits(timeout, 4096),
    )
    .await;
    let mut idle = connect(&srv).await;
    call_ok(&mut idle, &srv).await;
    let mut slow = Vec::new();
    for _ in 0..2000 {
        let s = connect(&srv).await;
        slow.push(tokio::spawn(closed_while_trickling(
            s,
            Duration::from_secs(1),
            Duration::from_secs(30),
        )));
    }
    let (_running, done) = watch::channel(false);
    let took = signed_calls(Caller::of(&srv), done, timeout + Duration::from_secs(1)).await;
    report("during 2,000 slow senders", took);
    let mut closed = 0;
    for s in slow {
        closed += usize::from(s.await.unwrap());
    }
    assert_eq!(closed, 2000, "slow connections closed by the server");
    // The idle keep-alive connection was closed too (read sees the end, not a hang).
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(30), idle.read(&mut buf))
        .await
        .expect("idle connection closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
}

/// Over the connection cap, a connection is answered `503 ServiceUnavailable` and closed; a
/// slot freed is used again.
#[tokio::test]
async fn connections_over_the_cap_get_a_clean_refusal() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let srv = Server::start_with(
        Setup::default(),
        ServerConfig::default(),
        limits(Duration::from_secs(30), 3),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&srv).await;
        call_ok(&mut s, &srv).await;
        held.push(s);
    }
    let mut extra = connect(&srv).await;
    let a = exchange(&mut extra, &signed_get(&srv, &[]))
        .await
        .expect("a refusal");
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(
        a.body.contains("\"Code\":\"ServiceUnavailable\""),
        "{}",
        a.body
    );
    assert!(a.header("x-acs-request-id").is_some());
    drop(held.pop());
    // The freed slot serves again (once the server has seen the close).
    let mut served = false;
    for _ in 0..50 {
        let mut s = connect(&srv).await;
        if exchange(&mut s, &signed_get(&srv, &[]))
            .await
            .map(|a| a.status)
            == Some(200)
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served);
}

/// A 2 MiB form body sent without `Expect: 100-continue` (as Python's `requests` does) gets the
/// 413 envelope, not a reset; a body that stalls gets `RequestTimeout`.
#[tokio::test]
async fn over_long_bodies_are_answered_and_slow_ones_time_out() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let config = ServerConfig {
        body_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let srv = Server::start_with(Setup::default(), config, ListenerLimits::default()).await;
    let body = format!("DBInstanceId={}", "x".repeat(2 << 20));
    let req = format!(
        "POST /?Action=DescribeCrossRegionBackups&Version=2014-08-15&Format=JSON HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = connect(&srv).await;
    let a = exchange(&mut s, req.as_bytes())
        .await
        .expect("answered, not reset");
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("RequestEntityTooLarge"), "{}", a.body);
    // The connection is still usable.
    call_ok(&mut s, &srv).await;

    let mut s = connect(&srv).await;
    let head = "POST /?Format=JSON HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nAction=";
    let a = exchange(&mut s, head.as_bytes()).await.expect("answered");
    assert_eq!(a.status, 408, "{}", a.body);
    assert!(a.body.contains("\"Code\":\"RequestTimeout\""), "{}", a.body);
}

/// A v3 POST with `form` as its body, signing `signed` (lower-case header names), as raw bytes.
fn v3_form_post(srv: &Server, form: &str, signed: &[&str], nonce: &str) -> Vec<u8> {
    let body_sha = v3::content_sha256(form.as_bytes());
    let headers: Vec<(String, String)> = [
        ("host", "x"),
        ("x-acs-action", "DescribeCrossRegionBackups"),
        ("x-acs-version", "2014-08-15"),
        (
            "x-acs-date",
            &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-content-sha256", &body_sha),
        ("content-type", "application/x-www-form-urlencoded"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signed: Vec<String> = signed.iter().map(|s| s.to_string()).collect();
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &RawParams::default(),
        &headers,
        &signed,
        &body_sha,
    );
    let sig = v3::sign(&srv.secret, &v3::string_to_sign(&canonical));
    let mut out = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "authorization: {}\r\ncontent-length: {}\r\n\r\n{form}",
        v3::authorization_header(&srv.ak, &signed, &sig),
        form.len()
    ));
    out.into_bytes()
}

/// What the signature must cover, and integer parameters checked against their API types.
#[tokio::test]
async fn signatures_must_cover_the_body_params_and_ids_are_int32() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let srv = Server::start(Setup::default()).await;
    let form = format!("DBInstanceId={INSTANCE}&RegionId={SRC}&CrossBackupId=1");
    // Every header V3_MUST_SIGN names (an absent one signs as empty) but content-type.
    let mut all: Vec<&str> = V3_MUST_SIGN
        .iter()
        .copied()
        .filter(|h| *h != "content-type")
        .collect();
    let mut s = connect(&srv).await;
    // content-type left out of SignedHeaders: refused.
    let a = exchange(&mut s, &v3_form_post(&srv, &form, &all, &nonce()))
        .await
        .unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("IncompleteSignature"), "{}", a.body);
    // Signed (as both official SDKs do): served.
    all.push("content-type");
    let a = exchange(&mut s, &v3_form_post(&srv, &form, &all, &nonce()))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    // A nonce of more than 64 characters.
    let a = exchange(&mut s, &v3_form_post(&srv, &form, &all, &"n".repeat(65)))
        .await
        .unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("<Code>InvalidParameter</Code>"),
        "{}",
        a.body
    );
    // CrossBackupId beyond int32.
    let req = signed_get(&srv, &[("CrossBackupId", "1099511627776")]);
    let a = exchange(&mut s, &req).await.unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("\"Code\":\"InvalidParameters.Format\""),
        "{}",
        a.body
    );
}

/// Multi-range and malformed `Range` headers get the whole object with 200, as OSS and S3
/// answer them; a well-formed range past the end gets 416.
#[tokio::test]
async fn download_ranges_are_answered_as_object_stores_answer_them() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let srv = Server::start(Setup::default()).await;
    let mut s = connect(&srv).await;
    let a = exchange(&mut s, &signed_get(&srv, &[])).await.unwrap();
    let listing: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    let link = listing["Items"]["Item"][0]["CrossBackupDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = link.strip_prefix(&srv.url).unwrap();
    let size = listing["Items"]["Item"][0]["CrossBackupSetSize"]
        .as_u64()
        .unwrap();
    let get = |range: &str| format!("GET {path} HTTP/1.1\r\nhost: x\r\nrange: {range}\r\n\r\n");
    for ignored in ["bytes=0-1,3-4", "bytes=+5", "bytes=5-2", "items=0-1"] {
        let a = exchange(&mut s, get(ignored).as_bytes()).await.unwrap();
        assert_eq!(a.status, 200, "{ignored}");
        assert_eq!(a.body.len() as u64, size, "{ignored}");
    }
    let a = exchange(&mut s, get("bytes=0-3").as_bytes()).await.unwrap();
    assert_eq!((a.status, a.body.len()), (206, 4));
    let a = exchange(&mut s, get(&format!("bytes={size}-")).as_bytes())
        .await
        .unwrap();
    assert_eq!(a.status, 416);
    assert_eq!(
        a.header("content-range"),
        Some(format!("bytes */{size}").as_str())
    );
}

/// With a budget, calls over it are answered `Throttling.User` with `x-acs-retry-after`; a
/// refused replay spends none of it.
#[tokio::test]
async fn a_key_over_its_budget_is_throttled_with_a_retry_after() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let config = ServerConfig {
        request_budget: Some(RequestBudget {
            per_second: 0.5,
            burst: 2,
        }),
        ..ServerConfig::default()
    };
    let srv = Server::start_with(Setup::default(), config, ListenerLimits::default()).await;
    let mut s = connect(&srv).await;
    let first = signed_get(&srv, &[]);
    let a = exchange(&mut s, &first).await.unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    // A replay spends nothing (a read spends before its nonce is claimed, and gets it back).
    let a = exchange(&mut s, &first).await.unwrap();
    assert!(
        a.body.contains("\"Code\":\"SignatureNonceUsed\""),
        "{}",
        a.body
    );
    call_ok(&mut s, &srv).await;
    let a = exchange(&mut s, &signed_get(&srv, &[])).await.unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("\"Code\":\"Throttling.User\""),
        "{}",
        a.body
    );
    let wait: u64 = a.header("x-acs-retry-after").unwrap().parse().unwrap();
    assert!((1..=2000).contains(&wait), "{wait}");
    // Unauthenticated calls neither spend nor are refused by the budget.
    let q = v1_params("GET", &srv.ak, "wrong", &[], chrono::Utc::now());
    let a = exchange(
        &mut s,
        format!("GET /?{q} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    assert!(a.body.contains("SignatureDoesNotMatch"), "{}", a.body);
}

/// Shutdown waits for requests in flight at most the grace: a download whose client stopped
/// reading does not keep the server up.
#[tokio::test]
async fn shutdown_is_bounded_by_the_grace() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let setup = Setup {
        sets: 1,
        first_set_bytes: Some(32 << 20),
        ..Setup::default()
    };
    let seeded = Seeded::new(&setup).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = seeded.app_state(&url).await;
    let limits = ListenerLimits {
        shutdown_grace: Duration::from_secs(1),
        ..ListenerLimits::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(xbak_server::listen::serve(
        listener,
        xbak_server::app(state),
        limits,
        "rds.aliyuncs.com".into(),
        async {
            stopped.await.ok();
        },
    ));
    let addr = url.trim_start_matches("http://");
    let (start, end) = seeded.window();
    let q = v1_params(
        "GET",
        &seeded.ak,
        &seeded.secret,
        &listing(&start, &end),
        chrono::Utc::now(),
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    let a = exchange(
        &mut s,
        format!("GET /?{q} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let listing: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    let link = listing["Items"]["Item"][0]["CrossBackupDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = link.strip_prefix(&url).unwrap();
    // Ask for 32 MiB and read only the first bytes: the response stays in flight.
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut first = [0u8; 16];
    s.read_exact(&mut first).await.unwrap();
    assert_eq!(&first[..12], b"HTTP/1.1 200");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("serve returned after the grace")
        .unwrap();
    drop(s);
}
