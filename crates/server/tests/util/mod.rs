//! Test fixture: a real SQLite catalog and local regions in a temp dir, seeded with accounts,
//! instances and completed copies, and helpers that sign requests the way the official SDKs do.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, Response};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, NewBackupSet, NewInstance, Policy, Region,
    StorageType,
};
use xbak_protocol::sign::{v1, v3};
use xbak_protocol::{encode::rfc3986, RawParams};
use xbak_replicator::{Replicator, ReplicatorConfig};
use xbak_server::{app, AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::{RegionStore, Regions};

pub const SRC: &str = "cn-hangzhou";
pub const DEST: &str = "cn-shanghai";
pub const INSTANCE: &str = "rm-test0001";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub catalog: Arc<dyn Catalog>,
    pub regions: Regions,
    pub state: AppState,
    /// Account A's key: owns INSTANCE.
    pub ak: String,
    pub secret: String,
    /// Account B's key: owns `rm-other0001`.
    pub other_ak: String,
    pub other_secret: String,
    /// Start time of set i is `base + i hours`.
    pub base: DateTime<Utc>,
    /// Contents of each registered set, by index.
    pub contents: Vec<Vec<u8>>,
}

pub fn t(s: &str) -> DateTime<Utc> {
    xbak_domain::time::parse_utc(s).unwrap()
}

impl Fixture {
    /// `sets` backup sets on INSTANCE, all copied to DEST.
    pub async fn new(sets: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> = Arc::new(
            SqliteCatalog::open(&dir.path().join("catalog.db"))
                .await
                .unwrap(),
        );
        let regions = Regions::new();
        for r in [SRC, DEST, "cn-beijing"] {
            let path = dir.path().join("regions").join(r);
            std::fs::create_dir_all(&path).unwrap();
            let url = format!("file://{}", path.display());
            catalog
                .put_region(&Region {
                    region_id: r.into(),
                    store_url: url.clone(),
                })
                .await
                .unwrap();
            regions.insert(RegionStore::open(r, &url).unwrap());
        }
        let (acct, key) = catalog.create_account("alice").await.unwrap();
        let (other, other_key) = catalog.create_account("bob").await.unwrap();
        let mk = |id: &str, account_id: i64, version: &str, category: Category| NewInstance {
            db_instance_id: id.into(),
            region_id: SRC.into(),
            account_id,
            engine: "MySQL".into(),
            engine_version: version.into(),
            category,
            storage_type: StorageType::LocalSsd,
            instance_number: 7980000,
        };
        let inst = catalog
            .create_instance(&mk(INSTANCE, acct.id, "5.7", Category::HighAvailability))
            .await
            .unwrap();
        catalog
            .create_instance(&mk(
                "rm-other0001",
                other.id,
                "5.7",
                Category::HighAvailability,
            ))
            .await
            .unwrap();
        catalog
            .create_instance(&mk("rm-mysql8", acct.id, "8.0", Category::HighAvailability))
            .await
            .unwrap();
        catalog
            .put_policy(&Policy {
                instance_id: inst.id,
                enabled: true,
                dest_region_id: DEST.into(),
                retention_days: 7,
                updated_at: Utc::now(),
            })
            .await
            .unwrap();

        let base = t("2024-03-01T00:00:00Z");
        let src = regions.get(SRC).unwrap();
        let mut contents = Vec::new();
        for i in 0..sets {
            let started = base + Duration::hours(i as i64);
            let method = if i % 2 == 0 {
                BackupMethod::Physical
            } else {
                BackupMethod::Logical
            };
            let body: Vec<u8> = format!("backup set {i} ").repeat(100 + i).into_bytes();
            let name = backup_set_file_name(SRC, INSTANCE, 7980000, started, method);
            let key = backup_set_key(INSTANCE, &name);
            let staged = src
                .upload_staged(&key, std::io::Cursor::new(body.clone()), &|_| {})
                .await
                .unwrap();
            src.publish(&staged, &key).await.unwrap();
            catalog
                .record_backup_set(&NewBackupSet {
                    instance_id: inst.id,
                    method,
                    backup_type: if i % 3 == 0 {
                        BackupType::Full
                    } else {
                        BackupType::Incremental
                    },
                    scale: BackupSetScale::Instance,
                    started_at: started,
                    finished_at: started + Duration::minutes(5),
                    consistent_at: started + Duration::minutes(5),
                    instance_number: 7980000,
                    object_key: key,
                    size_bytes: staged.size as i64,
                    sha256: staged.sha256.clone(),
                })
                .await
                .unwrap();
            contents.push(body);
        }
        Replicator::new(
            catalog.clone(),
            regions.clone(),
            ReplicatorConfig::default(),
        )
        .run_once()
        .await
        .unwrap();
        let (kid, ksecret) = catalog.link_signing_key().await.unwrap();
        let links = LinkSigner::new(kid, ksecret, "http://127.0.0.1:9".into());
        let state = AppState::new(
            ServerConfig::default(),
            catalog.clone(),
            regions.clone(),
            links,
        )
        .await
        .unwrap();
        Fixture {
            dir,
            catalog,
            regions,
            state,
            ak: key.access_key_id,
            secret: key.secret,
            other_ak: other_key.access_key_id,
            other_secret: other_key.secret,
            base,
            contents,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> (u16, String, Vec<u8>, axum::http::HeaderMap) {
        send_to(&self.state, req).await
    }

    /// A v1-signed GET with `params` plus the common parameters, JSON.
    pub fn v1_get(&self, params: &[(&str, &str)]) -> Request<Body> {
        v1_request("GET", &self.ak, &self.secret, params, Utc::now())
    }

    /// A v1-signed call as the JSON body the server returned.
    pub async fn describe(&self, params: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let (status, _, body, _) = self.send(self.v1_get(params)).await;
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body))),
        )
    }
}

pub async fn send_to(
    state: &AppState,
    req: Request<Body>,
) -> (u16, String, Vec<u8>, axum::http::HeaderMap) {
    let resp: Response<Body> = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let ct = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ct, body, headers)
}

pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Common v1 params + `params`, signed; the query string as core builds it.
pub fn v1_params(
    method: &str,
    ak: &str,
    secret: &str,
    params: &[(&str, &str)],
    now: DateTime<Utc>,
) -> String {
    let ts = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut all: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeCrossRegionBackups".into()),
        ("Version".into(), "2014-08-15".into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), ak.into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), nonce()),
        ("SignatureType".into(), "".into()),
        ("Timestamp".into(), ts),
    ];
    for (k, v) in params {
        all.retain(|(kk, _)| kk != k);
        all.push(((*k).into(), (*v).into()));
    }
    let raw = RawParams(all.clone());
    let sig = v1::sign(secret, &v1::string_to_sign(method, &raw));
    all.push(("Signature".into(), sig));
    all.iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn v1_request(
    method: &str,
    ak: &str,
    secret: &str,
    params: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Request<Body> {
    let q = v1_params(method, ak, secret, params, now);
    Request::builder()
        .method(method)
        .uri(format!("/?{q}"))
        .body(Body::empty())
        .unwrap()
}

/// A v3 (ACS3-HMAC-SHA256) POST as the Python Tea SDK sends it.
pub fn v3_request(ak: &str, secret: &str, params: &[(&str, &str)]) -> Request<Body> {
    let query = RawParams(
        params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    );
    let headers: Vec<(String, String)> = vec![
        ("accept".into(), "application/json".into()),
        ("host".into(), "127.0.0.1:8080".into()),
        (
            "user-agent".into(),
            "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2".into(),
        ),
        ("x-acs-action".into(), "DescribeCrossRegionBackups".into()),
        (
            "x-acs-content-sha256".into(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        ),
        ("x-acs-credentials-provider".into(), "static_ak".into()),
        (
            "x-acs-date".into(),
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".into(), nonce()),
        ("x-acs-version".into(), "2014-08-15".into()),
    ];
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical = v3::canonical_request("POST", "/", &query, &headers, &signed, &headers[4].1);
    let sig = v3::sign(secret, &v3::string_to_sign(&canonical));
    let qs = params
        .iter()
        .map(|(k, v)| format!("{k}={}", rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::builder().method("POST").uri(format!("/?{qs}"));
    for (k, v) in &headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.header("authorization", v3::authorization_header(ak, &signed, &sig))
        .body(Body::empty())
        .unwrap()
}

/// Window covering every set of a fixture with `n` sets.
pub fn window(n: usize) -> (String, String) {
    let base = t("2024-03-01T00:00:00Z");
    let end = base + Duration::hours(n as i64);
    (
        xbak_domain::time::format_utc(base),
        xbak_domain::time::format_utc(end),
    )
}
