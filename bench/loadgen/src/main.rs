//! `xbak-loadgen`: closed-loop HTTP/1.1 load over keep-alive connections, reporting requests per
//! second and latency percentiles, and the benchmark catalogs it runs against.
//!
//! ```text
//! xbak-loadgen seed   --data-dir DIR --copies N --instances K [--catalog postgres://…]  catalog + DIR/bench-key.json
//! xbak-loadgen signed --key-file DIR/bench-key.json [--instances K] [load options]
//! xbak-loadgen static --path /file.json [load options]            the nginx baseline
//! xbak-loadgen fetch  --key-file … --out FILE                      one signed call, body saved
//! xbak-loadgen mix    --key-file … --rate R --seconds S --slow N     the soak's mixed load
//! ```
//!
//! `signed` sends a freshly signed (v1, unique nonce) `DescribeCrossRegionBackups` per request, as
//! an SDK would; `static` GETs one URL. (`--mode signed|static` still works: it is read as the
//! subcommand of that name.)
//!
//! Hand-rolled rather than wrk/oha: neither can compute a fresh HMAC signature and nonce per request.

mod mix;
mod seed;

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_protocol::encode::rfc3986_into;
use xbak_protocol::sign::v1;

#[derive(Parser)]
#[command(
    name = "xbak-loadgen",
    about = "Load generator and benchmark seeder for xbak"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a benchmark catalog (DIR/catalog.db) and its key (DIR/bench-key.json).
    Seed(seed::SeedArgs),
    /// Load with signed DescribeCrossRegionBackups calls (v1 HMAC-SHA1, fresh nonce each).
    Signed {
        #[command(flatten)]
        call: CallArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Load with GETs of one static URL (the nginx baseline).
    Static {
        /// Path to GET.
        #[arg(long, default_value = "/")]
        path: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// The soak's mixed load (cached/uncached listings, downloads, bad signatures, replays, slow
    /// clients), open loop at `--rate`, counted by status and error code.
    Mix(mix::MixArgs),
    /// Send one signed call and save its body (exit status 1 unless the answer is 2xx).
    Fetch {
        #[command(flatten)]
        call: CallArgs,
        /// host:port
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Where to write the body ("-": stdout).
        #[arg(long, default_value = "-")]
        out: String,
    },
}

/// What each signed call asks.
#[derive(clap::Args, Clone)]
struct CallArgs {
    /// `bench-key.json` written by `seed` (instead of --ak/--secret).
    #[arg(long)]
    key_file: Option<PathBuf>,
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
    #[arg(long, default_value_t = 30)]
    page_size: u32,
    /// JSON or XML.
    #[arg(long, default_value = "JSON")]
    format: String,
    /// Send a wrong signature: the server refuses the call after the key lookup (cached), before
    /// the nonce store and the catalog; measures everything but the listing.
    #[arg(long)]
    bad_signature: bool,
    /// Move EndTime back by a different number of seconds (under a year) on every call, so no two
    /// calls ask the same listing and a server-side listing cache never answers.
    #[arg(long)]
    vary_window: bool,
}

#[derive(clap::Args, Clone)]
struct LoadArgs {
    /// host:port (only 127.0.0.1 is meant to be targeted).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The first response of every connection must contain this text (else counted as an error).
    #[arg(long)]
    expect: Option<String>,
}

enum Mode {
    Signed(CallArgs),
    Static(String),
}

impl CallArgs {
    /// Fills ak/secret from `--key-file`.
    fn resolved(mut self) -> anyhow::Result<CallArgs> {
        if let Some(path) = &self.key_file {
            let (ak, secret) = seed::read_key(path)?;
            self.ak = ak;
            self.secret = secret;
        }
        anyhow::ensure!(!self.ak.is_empty(), "give --key-file or --ak/--secret");
        if self.vary_window {
            chrono::DateTime::parse_from_rfc3339(&self.end)
                .context("--end must be yyyy-MM-ddTHH:mm:ssZ")?;
        }
        Ok(self)
    }
}

/// The path and query of the `n`-th signed call: fresh nonce and timestamp, signed with v1.
///
/// Lean on purpose: the client shares the server's two cores, so every microsecond spent here
/// is one the server does not get (with a `Vec<(String, String)>` of the params, `format!` per
/// pair and a UUID from the OS per nonce, signing cost the client as much as its HTTP; see
/// bench/results.md, 2026-12-06T07:00Z). The parameters borrow; the request is the same as an
/// SDK's: a 32-hex-digit nonce never repeated in a run, the time to the second.
fn signed_path(a: &CallArgs, n: u64) -> String {
    let instance;
    let instance = if a.instances > 1 {
        instance = seed::instance_name(n % a.instances as u64);
        instance.as_str()
    } else {
        a.instance.as_str()
    };
    let end;
    let end = if a.vary_window {
        end = varied_end(&a.end, n);
        end.as_str()
    } else {
        a.end.as_str()
    };
    let nonce = next_nonce();
    let timestamp = xbak_protocol::time::format_utc(chrono::Utc::now());
    let page_size = a.page_size.to_string();
    let params = [
        ("Action", "DescribeCrossRegionBackups"),
        ("Version", "2014-08-15"),
        ("Format", a.format.as_str()),
        ("AccessKeyId", a.ak.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", timestamp.as_str()),
        ("DBInstanceId", instance),
        ("RegionId", a.region.as_str()),
        ("StartTime", a.start.as_str()),
        ("EndTime", end),
        ("PageSize", page_size.as_str()),
    ];
    let signature = if a.bad_signature {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()
    } else {
        v1::sign(&a.secret, &v1::string_to_sign_of("GET", params))
    };
    let mut path = String::with_capacity(512);
    path.push_str("/?");
    for (k, v) in params
        .into_iter()
        .chain([("Signature", signature.as_str())])
    {
        path.push_str(k);
        path.push('=');
        rfc3986_into(&mut path, v);
        path.push('&');
    }
    path.pop();
    path
}

/// A nonce no other call of this run uses: the run's random half, then a counter, in hex.
fn next_nonce() -> String {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = *RUN.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    format!("{run:016x}{:016x}", COUNT.fetch_add(1, Ordering::Relaxed))
}

/// Only the first failed response of a run is printed.
static FIRST_ERROR_SHOWN: AtomicBool = AtomicBool::new(false);

/// `end` minus `n mod 365 days` seconds.
fn varied_end(end: &str, n: u64) -> String {
    let end = xbak_protocol::time::parse_utc_seconds(end).expect("--end is yyyy-MM-ddTHH:mm:ssZ");
    let back = chrono::Duration::seconds((n % (365 * 86_400)) as i64);
    xbak_protocol::time::format_utc(end - back)
}

struct Outcome {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    bytes: u64,
}

impl Outcome {
    fn new() -> anyhow::Result<Outcome> {
        Ok(Outcome {
            hist: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            ok: 0,
            errors: 0,
            bytes: 0,
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

async fn connection(
    mode: Arc<Mode>,
    load: Arc<LoadArgs>,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> anyhow::Result<Outcome> {
    let stream = tokio::net::TcpStream::connect(&load.addr)
        .await
        .context("connect")?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut out = Outcome::new()?;
    let mut n = seed;
    let mut checked = load.expect.is_none();
    while !stop.load(Ordering::Relaxed) {
        let path = match &*mode {
            Mode::Signed(call) => signed_path(call, n),
            Mode::Static(path) => path.clone(),
        };
        n += 1;
        let req = hyper::Request::get(path)
            .header("host", &load.addr)
            .body(Empty::<Bytes>::new())?;
        let t0 = Instant::now();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        out.hist.record(t0.elapsed().as_micros().max(1) as u64)?;
        out.bytes += body.len() as u64;
        let mut ok = status.is_success();
        if ok && !checked {
            checked = true;
            let want = load.expect.as_deref().unwrap_or("");
            if !contains(&body, want.as_bytes()) {
                eprintln!(
                    "response lacks {want:?}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(400)])
                );
                ok = false;
            }
        }
        if ok {
            out.ok += 1;
        } else {
            if !FIRST_ERROR_SHOWN.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "first error: {status} {}",
                    String::from_utf8_lossy(&body[..body.len().min(600)])
                );
            }
            out.errors += 1;
        }
    }
    Ok(out)
}

fn run_load(mode: Mode, load: LoadArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(load.threads.max(1))
        .enable_all()
        .build()?;
    let (mode, load) = (Arc::new(mode), Arc::new(load));
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..load.connections)
            .map(|i| tokio::spawn(connection(mode.clone(), load.clone(), stop.clone(), (i as u64) << 32)))
            .collect();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(load.seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut total = Outcome::new()?;
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
            "requests={n} ok={} errors={} seconds={secs:.2} rps={:.0} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3} bytes_per_response={}",
            total.ok,
            total.errors,
            n as f64 / secs,
            total.hist.value_at_quantile(0.5) as f64 / 1000.0,
            total.hist.value_at_quantile(0.9) as f64 / 1000.0,
            total.hist.value_at_quantile(0.99) as f64 / 1000.0,
            total.hist.max() as f64 / 1000.0,
            total.bytes / n.max(1),
        );
        anyhow::Ok(())
    })
}

fn fetch(call: CallArgs, addr: String, out: String) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .context("connect")?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let req = hyper::Request::get(signed_path(&call, 0))
            .header("host", &addr)
            .body(Empty::<Bytes>::new())?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        anyhow::Ok((status, resp.into_body().collect().await?.to_bytes()))
    })?;
    if out == "-" {
        use std::io::Write as _;
        std::io::stdout().write_all(&body)?;
    } else {
        std::fs::write(&out, &body).with_context(|| format!("writing {out}"))?;
    }
    anyhow::ensure!(
        status.is_success(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// `--mode X …` (the former interface) becomes `X …`.
fn legacy_args() -> Vec<String> {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(i) = args
        .iter()
        .position(|a| a == "--mode" || a.starts_with("--mode="))
    {
        let mode = match args[i].strip_prefix("--mode=") {
            Some(m) => m.to_owned(),
            None if i + 1 < args.len() => args.remove(i + 1),
            None => return args,
        };
        args.remove(i);
        args.insert(1, mode);
    }
    args
}

fn main() -> anyhow::Result<()> {
    match Cli::parse_from(legacy_args()).command {
        Command::Seed(a) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(seed::run(a))
        }
        Command::Signed { call, load } => run_load(Mode::Signed(call.resolved()?), load),
        Command::Static { path, load } => run_load(Mode::Static(path), load),
        Command::Mix(a) => mix::run(a),
        Command::Fetch { call, addr, out } => fetch(call.resolved()?, addr, out),
    }
}
