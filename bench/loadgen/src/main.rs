//! `xbak-loadgen`: closed-loop HTTP/1.1 load over keep-alive connections, reporting requests per
//! second and latency percentiles. `signed` mode sends a freshly signed (v1, unique nonce)
//! `DescribeCrossRegionBackups` per request, as an SDK would; `static` mode GETs one URL, for the
//! nginx baseline measured in the same run.
//!
//! Hand-rolled rather than wrk/oha: neither can compute a fresh HMAC signature and nonce per request.

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_protocol::encode::rfc3986;
use xbak_protocol::sign::v1;
use xbak_protocol::RawParams;

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Signed,
    Static,
}

#[derive(Parser, Clone)]
struct Args {
    #[arg(long, value_enum)]
    mode: Mode,
    /// host:port
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Path for static mode.
    #[arg(long, default_value = "/")]
    path: String,
    #[arg(long, default_value = "")]
    ak: String,
    #[arg(long, default_value = "")]
    secret: String,
    #[arg(long, default_value = "rm-bench0")]
    instance: String,
    #[arg(long, default_value = "cn-hangzhou")]
    region: String,
    #[arg(long, default_value = "2020-01-01T00:00:00Z")]
    start: String,
    #[arg(long, default_value = "2030-01-01T00:00:00Z")]
    end: String,
    /// Number of distinct instances to spread calls over: rm-bench0 … rm-bench{N-1}.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn signed_path(a: &Args, n: u64) -> String {
    let instance = if a.instances > 1 {
        format!("rm-bench{}", n as usize % a.instances)
    } else {
        a.instance.clone()
    };
    let mut p: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeCrossRegionBackups".into()),
        ("Version".into(), "2014-08-15".into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), a.ak.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        (
            "SignatureNonce".into(),
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        (
            "Timestamp".into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("DBInstanceId".into(), instance),
        ("RegionId".into(), a.region.clone()),
        ("StartTime".into(), a.start.clone()),
        ("EndTime".into(), a.end.clone()),
        ("PageSize".into(), "30".into()),
    ];
    let sig = v1::sign(&a.secret, &v1::string_to_sign("GET", &RawParams(p.clone())));
    p.push(("Signature".into(), sig));
    let q: Vec<String> = p
        .iter()
        .map(|(k, v)| format!("{k}={}", rfc3986(v)))
        .collect();
    format!("/?{}", q.join("&"))
}

struct Outcome {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    bytes: u64,
}

async fn connection(a: Arc<Args>, stop: Arc<AtomicBool>, seed: u64) -> anyhow::Result<Outcome> {
    let stream = tokio::net::TcpStream::connect(&a.addr)
        .await
        .context("connect")?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut out = Outcome {
        hist: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        ok: 0,
        errors: 0,
        bytes: 0,
    };
    let mut n = seed;
    while !stop.load(Ordering::Relaxed) {
        let path = match a.mode {
            Mode::Signed => signed_path(&a, n),
            Mode::Static => a.path.clone(),
        };
        n += 1;
        let req = hyper::Request::get(path)
            .header("host", &a.addr)
            .body(Empty::<Bytes>::new())?;
        let t0 = Instant::now();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        out.hist.record(t0.elapsed().as_micros().max(1) as u64)?;
        out.bytes += body.len() as u64;
        if status.is_success() {
            out.ok += 1;
        } else {
            if out.errors == 0 {
                eprintln!("first error: {status} {}", String::from_utf8_lossy(&body));
            }
            out.errors += 1;
        }
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let a = Arc::new(Args::parse());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..a.connections)
            .map(|i| tokio::spawn(connection(a.clone(), stop.clone(), (i as u64) << 32)))
            .collect();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(a.seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut total = Outcome { hist: Histogram::new_with_bounds(1, 60_000_000, 3)?, ok: 0, errors: 0, bytes: 0 };
        for t in tasks {
            let o = t.await??;
            total.hist.add(&o.hist)?;
            total.ok += o.ok;
            total.errors += o.errors;
            total.bytes += o.bytes;
        }
        let secs = t0.elapsed().as_secs_f64();
        let n = total.ok + total.errors;
        println!(
            "requests={n} ok={} errors={} seconds={secs:.2} rps={:.0} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} bytes_per_response={}",
            total.ok,
            total.errors,
            n as f64 / secs,
            total.hist.value_at_quantile(0.5) as f64 / 1000.0,
            total.hist.value_at_quantile(0.99) as f64 / 1000.0,
            total.hist.max() as f64 / 1000.0,
            total.bytes / n.max(1),
        );
        anyhow::Ok(())
    })
}
