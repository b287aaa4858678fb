//! `xbak-loadgen mix`: the soak's mixed load, open loop at a fixed rate (or closed loop with
//! `--rate 0`, to find the maximum), with every response counted by kind, status and error code.
//!
//! Each connection runs operations in a fixed cycle of ten: four cached listings (same window),
//! two uncached listings (`--vary-window`'s moving EndTime), one wrong signature (expects 400
//! `SignatureDoesNotMatch`), one replay of the connection's last accepted listing (expects 400
//! `SignatureNonceUsed`) and two downloads (a cached listing of `--download-instance`, then its
//! first item's `CrossBackupDownloadLink` fetched with `Range: bytes=0-4095`, expecting 206).
//! `--slow N` more connections trickle a request head one byte a second; the server's header
//! timeout must close them (each close is counted with the seconds it took, then they reconnect).
//!
//! With `--server-pid`, the server's VmRSS and RssAnon are printed every `--report-seconds`, next to
//! the counts so far.

use crate::{signed_path, CallArgs};
use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(clap::Args, Clone)]
pub struct MixArgs {
    #[command(flatten)]
    call: CallArgs,
    /// host:port (127.0.0.1 only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Keep-alive connections running operations.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Operations per second over all connections (an operation is one request, or two for a
    /// download); 0: closed loop, as fast as the server answers.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Slow clients trickling a request head one byte a second.
    #[arg(long, default_value_t = 0)]
    slow: usize,
    /// Instance whose listing gives the download links.
    #[arg(long, default_value = "rm-bench0")]
    download_instance: String,
    /// Server process whose memory is reported.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, default_value_t = 60)]
    report_seconds: u64,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Cached,
    Uncached,
    BadSignature,
    Replay,
    DownloadListing,
    Download,
}

const CYCLE: [Kind; 10] = [
    Kind::Cached,
    Kind::Uncached,
    Kind::Cached,
    Kind::BadSignature,
    Kind::Download,
    Kind::Cached,
    Kind::Uncached,
    Kind::Replay,
    Kind::Cached,
    Kind::Download,
];

impl Kind {
    /// The status and error code this kind must get.
    fn expected(self) -> (u16, &'static str) {
        match self {
            Kind::Cached | Kind::Uncached | Kind::DownloadListing => (200, ""),
            Kind::BadSignature => (400, "SignatureDoesNotMatch"),
            Kind::Replay => (400, "SignatureNonceUsed"),
            Kind::Download => (206, ""),
        }
    }
}

/// Responses by (kind, status, code), and the rest of a run's figures.
#[derive(Default)]
struct Tally {
    counts: Mutex<BTreeMap<(Kind, u16, String), u64>>,
    io_errors: AtomicU64,
    late: AtomicU64,
    slow_closed: AtomicU64,
    slow_close_ms: AtomicU64,
    slow_unclosed: AtomicU64,
    requests: AtomicU64,
}

impl Tally {
    fn add(&self, kind: Kind, status: u16, code: String) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .counts
            .lock()
            .unwrap()
            .entry((kind, status, code))
            .or_default() += 1;
    }

    fn by_class(&self) -> String {
        let mut c = [0u64; 6];
        for ((_, status, _), n) in self.counts.lock().unwrap().iter() {
            c[(*status as usize / 100).min(5)] += n;
        }
        format!("2xx={} 4xx={} 5xx={}", c[2], c[4], c[5])
    }
}

/// The error code of a JSON (`"Code":"X"`) or XML (`<Code>X</Code>`) error body.
fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    for (open, close) in [("\"Code\":\"", "\""), ("<Code>", "</Code>")] {
        if let Some(i) = text.find(open) {
            let rest = &text[i + open.len()..];
            return rest[..rest.find(close).unwrap_or(rest.len())].to_owned();
        }
    }
    String::new()
}

/// The first `CrossBackupDownloadLink` of a JSON listing, as a path and query.
fn first_link(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let link = v["Items"]["Item"][0]["CrossBackupDownloadLink"].as_str()?;
    let after_scheme = link.split_once("://").map_or(link, |(_, r)| r);
    Some(after_scheme[after_scheme.find('/')?..].to_owned())
}

/// Only the first few unexpected answers are printed.
static UNEXPECTED_SHOWN: AtomicU64 = AtomicU64::new(0);

struct Conn {
    sender: SendRequest<Empty<Bytes>>,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .context("connect")?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Conn { sender })
    }

    async fn get(&mut self, addr: &str, path: &str, range: bool) -> anyhow::Result<(u16, Bytes)> {
        let mut req = hyper::Request::get(path).header("host", addr);
        if range {
            req = req.header("range", "bytes=0-4095");
        }
        self.sender.ready().await?;
        let resp = self.sender.send_request(req.body(Empty::new())?).await?;
        let status = resp.status().as_u16();
        Ok((status, resp.into_body().collect().await?.to_bytes()))
    }
}

struct Worker {
    args: Arc<MixArgs>,
    tally: Arc<Tally>,
    hist: Histogram<u64>,
    conn: Option<Conn>,
    last_accepted: Option<String>,
}

impl Worker {
    /// One request; `None` (counted as an I/O error, connection dropped) when it failed.
    async fn request(&mut self, kind: Kind, path: &str) -> Option<Bytes> {
        if self.conn.is_none() {
            match Conn::open(&self.args.addr).await {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    self.io_error(&e);
                    return None;
                }
            }
        }
        let conn = self.conn.as_mut()?;
        match conn
            .get(&self.args.addr, path, kind == Kind::Download)
            .await
        {
            Ok((status, body)) => {
                let code = if status >= 400 {
                    error_code(&body)
                } else {
                    String::new()
                };
                if (status, code.as_str()) != kind.expected()
                    && UNEXPECTED_SHOWN.fetch_add(1, Ordering::Relaxed) < 5
                {
                    eprintln!(
                        "unexpected {kind:?}: {status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    );
                }
                self.tally.add(kind, status, code);
                (status < 300).then_some(body)
            }
            Err(e) => {
                self.io_error(&e);
                self.conn = None;
                None
            }
        }
    }

    fn io_error(&self, e: &anyhow::Error) {
        if self.tally.io_errors.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!("first I/O error: {e:#}");
        }
    }

    async fn operation(&mut self, kind: Kind, n: u64) {
        let call = &self.args.call;
        match kind {
            Kind::Cached | Kind::Uncached | Kind::BadSignature | Kind::DownloadListing => {
                let mut c = call.clone();
                c.vary_window = kind == Kind::Uncached;
                c.bad_signature = kind == Kind::BadSignature;
                let path = signed_path(&c, n);
                if self.request(kind, &path).await.is_some() {
                    self.last_accepted = Some(path);
                }
            }
            Kind::Replay => {
                if let Some(path) = self.last_accepted.take() {
                    self.request(kind, &path).await;
                }
            }
            Kind::Download => {
                let mut c = call.clone();
                c.instances = 1;
                c.instance = self.args.download_instance.clone();
                let listing = signed_path(&c, n);
                let Some(body) = self.request(Kind::DownloadListing, &listing).await else {
                    return;
                };
                match first_link(&body) {
                    Some(link) => {
                        self.request(Kind::Download, &link).await;
                    }
                    None => self.tally.add(Kind::Download, 0, "NoLinkInListing".into()),
                }
            }
        }
    }
}

async fn worker(
    args: Arc<MixArgs>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    index: usize,
    start: Instant,
) -> Histogram<u64> {
    let mut w = Worker {
        hist: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"),
        args: args.clone(),
        tally,
        conn: None,
        last_accepted: None,
    };
    // Open loop: this connection's operations are due every `period`, staggered across connections;
    // latency counts from when an operation was due, so a slow answer is not hidden by the wait.
    let period =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.connections as f64 / args.rate));
    let offset = period.map(|p| p.mul_f64(index as f64 / args.connections as f64));
    let mut n = (index as u64) << 32;
    let mut k: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let due = match (period, offset) {
            (Some(p), Some(o)) => {
                let due = start + o + p * k;
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep_until(due.into()).await;
                } else if now - due > Duration::from_millis(50) {
                    w.tally.late.fetch_add(1, Ordering::Relaxed);
                }
                due
            }
            _ => Instant::now(),
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let kind = CYCLE[(n % CYCLE.len() as u64) as usize];
        w.operation(kind, n).await;
        let _ = w.hist.record(due.elapsed().as_micros().max(1) as u64);
        n += 1;
        k += 1;
    }
    w.hist
}

/// A connection sending `GET / HTTP/1.1\r\nX-Pad: aaaa…` one byte a second until the server
/// closes it, then again.
async fn slow_client(addr: String, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let head = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nX-Pad: {}",
        "a".repeat(4096)
    );
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
            tally.io_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let (mut rd, mut wr) = stream.into_split();
        let t0 = Instant::now();
        let mut sent = 0;
        let mut buf = [0u8; 1024];
        let closed = loop {
            if stop.load(Ordering::Relaxed) || sent == head.len() {
                break false;
            }
            tokio::select! {
                r = rd.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { break true },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if wr.write_all(&head.as_bytes()[sent..sent + 1]).await.is_err() {
                        break true;
                    }
                    sent += 1;
                }
            }
        };
        if closed {
            tally.slow_closed.fetch_add(1, Ordering::Relaxed);
            tally
                .slow_close_ms
                .fetch_add(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        } else if sent == head.len() {
            tally.slow_unclosed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::to_owned))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub fn run(mut args: MixArgs) -> anyhow::Result<()> {
    args.call = args.call.resolved()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let args = Arc::new(args);
    rt.block_on(async {
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let workers: Vec<_> = (0..args.connections)
            .map(|i| tokio::spawn(worker(args.clone(), tally.clone(), stop.clone(), i, start)))
            .collect();
        let slow: Vec<_> = (0..args.slow)
            .map(|_| tokio::spawn(slow_client(args.addr.clone(), tally.clone(), stop.clone())))
            .collect();
        let report = |t: u64| {
            let mem = args.server_pid.map_or(String::new(), |pid| {
                format!(
                    " VmRSS_kB={} RssAnon_kB={}",
                    status_kb(pid, "VmRSS"),
                    status_kb(pid, "RssAnon")
                )
            });
            println!(
                "minute t={t} requests={} {} io_errors={} late={} slow_closed={}{mem}",
                tally.requests.load(Ordering::Relaxed),
                tally.by_class(),
                tally.io_errors.load(Ordering::Relaxed),
                tally.late.load(Ordering::Relaxed),
                tally.slow_closed.load(Ordering::Relaxed),
            );
        };
        report(0);
        let mut t = 0;
        while t < args.seconds {
            let step = args.report_seconds.max(1).min(args.seconds - t);
            tokio::time::sleep_until((start + Duration::from_secs(t + step)).into()).await;
            t += step;
            report(t);
        }
        stop.store(true, Ordering::Relaxed);
        let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        for w in workers {
            hist.add(&w.await?)?;
        }
        for s in slow {
            s.abort();
        }
        let secs = start.elapsed().as_secs_f64();
        let ops = hist.len();
        let requests = tally.requests.load(Ordering::Relaxed);
        let closed = tally.slow_closed.load(Ordering::Relaxed);
        println!(
            "total ops={ops} requests={requests} seconds={secs:.1} ops_per_s={:.0} requests_per_s={:.0} {} io_errors={} late={} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} slow_closed={closed} slow_mean_close_s={:.1} slow_unclosed={}",
            ops as f64 / secs,
            requests as f64 / secs,
            tally.by_class(),
            tally.io_errors.load(Ordering::Relaxed),
            tally.late.load(Ordering::Relaxed),
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0,
            hist.max() as f64 / 1000.0,
            tally.slow_close_ms.load(Ordering::Relaxed) as f64 / 1000.0 / closed.max(1) as f64,
            tally.slow_unclosed.load(Ordering::Relaxed),
        );
        for ((kind, status, code), n) in tally.counts.lock().unwrap().iter() {
            let (want_status, want_code) = kind.expected();
            let verdict = if (*status, code.as_str()) == (want_status, want_code) {
                "expected"
            } else {
                "UNEXPECTED"
            };
            println!(
                "count kind={kind:?} status={status} code={} n={n} {verdict}",
                if code.is_empty() { "-" } else { code }
            );
        }
        anyhow::Ok(())
    })
}
