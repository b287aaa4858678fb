//! Black-box hardening: metrics on their own listener, private files whatever the umask,
//! secrets never printed, region changes picked up by a running server, logs without colour.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let data = DataDir::new();
    data.seed();
    let server = Server::start(&data);
    // The API port answers /metrics like any unknown path: the API's 404 envelope.
    let resp = http_get(&format!("{}/metrics", server.url())).await;
    assert_eq!(resp.status(), 404);
    let body = resp.text().await.unwrap();
    assert!(body.contains("InvalidAction.NotFound"), "{body}");
    assert!(!body.contains("rm-bb0001"), "{body}");
    let resp = http_get(&server.metrics_url()).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("xbak_copy_lag_seconds{instance=\"rm-bb0001\"} 0"),
        "{text}"
    );
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() {
    let data = DataDir::new();
    data.seed();
    let token_file = data.path().join("metrics.token");
    std::fs::write(&token_file, "tok-3f9a\n").unwrap();
    let server = Server::start_with(
        &data,
        &["--metrics-token-file", token_file.to_str().unwrap()],
        Stdio::null(),
    );
    let http = reqwest::Client::new();
    let scrape = |auth: Option<&str>| {
        let mut req = http.get(server.metrics_url());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    assert_eq!(scrape(Some("Bearer nope")).await.unwrap().status(), 401);
    assert_eq!(scrape(Some("Basic tok-3f9a")).await.unwrap().status(), 401);
    let ok = scrape(Some("Bearer tok-3f9a")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("rm-bb0001"));
}

/// `xbak args` on `data` under umask 000, as a careless shell would run it.
fn loose(data: &DataDir, args: &[&str]) -> Command {
    let inner = data.cmd(args);
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    c.env_remove("RUST_LOG").env_remove("XBAK_CATALOG");
    c
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every folder under `dir` is 0700 and every file 0600.
fn assert_private_tree(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            assert_private_tree(&p);
        } else {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
}

#[test]
fn files_are_private_whatever_the_umask() {
    let data = DataDir::new();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = |args: &[&str]| succeeded(args, loose(&data, args).output().unwrap());
    let out = loose(&data, &["region", "add", "cn-hangzhou"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("now 0700"), "no warning: {stderr}");
    ok(&["region", "add", "cn-shanghai"]);
    ok(&["account", "create", "alice"]);
    let mut instance = instance_args("rm-bb0001", "MySQL", "5.7");
    instance.extend(["--instance-number", "8161055"]);
    ok(&instance);
    ok(&POLICY_ARGS);
    let src = tempfile::tempdir().unwrap();
    let file = make_file(src.path(), "set.xb", 1);
    ok(&register_args(
        file.to_str().unwrap(),
        "P",
        "2026-01-02T03:04:05Z",
    ));
    ok(&["replicate", "--once"]);
    assert_eq!(data.visible_files("cn-shanghai").len(), 1);
    // A server started under umask 000 too.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut serve = spawn_quiet(&mut loose(
        &data,
        &["serve", "--listen", &listen, "--metrics-listen", &metrics],
    ));
    wait_for_listener(port);
    serve.kill().ok();
    serve.wait().ok();
    assert_private_tree(data.path());
    assert!(data.path().join("catalog.db").exists());
    assert!(data.path().join("catalog-nonces.db").exists());
}

#[test]
fn secrets_are_never_printed() {
    let data = DataDir::new();
    let url = "s3://AK:pw-one@bkt/p?endpoint=http://u:pw-two@127.0.0.1:9/&region=r";
    data.ok(&["region", "add", "cn-a", "--store", url]);
    let listed = data.ok(&["region", "list"]);
    assert!(
        listed.contains("cn-a") && listed.contains("AK:***@bkt"),
        "{listed}"
    );
    assert!(!listed.contains("pw-"), "{listed}");
    // Refused URLs: the error names them without their secrets.
    for (url, secrets) in [
        (
            "s3://AK:pw-three@bkt?endpoint=http://u:pw-four@10.0.0.1:9000",
            ["pw-three", "pw-four"],
        ),
        (
            "s3://AK:pw-five@bkt?endpoint=http%3A%2F%2Fu%3Apw-six%40h&what=1",
            ["pw-five", "pw-six"],
        ),
    ] {
        let out = data
            .cmd(&["region", "add", "cn-b", "--store", url])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stderr);
        for s in secrets {
            assert!(!text.contains(s), "{text}");
        }
    }
    // A stored URL that cannot be opened (written straight into the catalog).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use xbak_catalog::Catalog;
        let cat = xbak_catalog::sqlite::SqliteCatalog::open(&data.path().join("catalog.db"))
            .await
            .unwrap();
        cat.put_region(&xbak_domain::Region {
            region_id: "cn-c".into(),
            store_url: "s3://AK:pw-seven@bkt?bogus=pw-eight&password=pw-nine".into(),
        })
        .await
        .unwrap();
    });
    let out = data.cmd(&["replicate", "--once"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("cn-c"), "{text}");
    for s in ["pw-seven", "pw-nine"] {
        assert!(!text.contains(s), "{text}");
    }
    // A PostgreSQL catalog URL with a password that cannot be reached.
    let out = data
        .cmd(&["region", "list"])
        .env("XBAK_CATALOG", "postgres://xbak:pg-secret@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("pg-secret"), "{text}");
}

#[test]
fn a_changed_region_store_is_used_by_the_running_server() {
    let data = DataDir::new();
    data.seed();
    let server = Server::start(&data);
    let mut server = server;
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = server.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let moved = tempfile::tempdir().unwrap();
    let moved_url = format!("file://{}", moved.path().display());
    data.ok(&["region", "add", "cn-shanghai", "--store", &moved_url]);
    // The server says when it opened the new store (it must, and without colour codes).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("the server never opened the changed store");
        assert!(
            !line.contains('\u{1b}'),
            "colour codes in a piped log: {line:?}"
        );
        if line.contains("region store opened") && line.contains("cn-shanghai") {
            break;
        }
    }
    let file = make_file(data.path(), "set.xb", 1);
    data.register(&file, "2026-01-05T00:00:00Z");
    let deadline = Instant::now() + Duration::from_secs(60);
    let copied = loop {
        let mut found = Vec::new();
        walk(moved.path(), &mut found);
        found.retain(|p| {
            let rel = p.strip_prefix(moved.path()).unwrap().to_string_lossy();
            !rel.starts_with('.') && !rel.contains("/.") && !rel.contains('#')
        });
        if let Some(p) = found.pop() {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the copy never reached the region's new store"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sha256_file(&copied), sha256_file(&file));
    assert!(data.visible_files("cn-shanghai").is_empty());
}
