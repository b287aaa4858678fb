//! The S3-compatible test servers, for the tests of this crate and the layers above:
//!
//! - **moto** ([`TestServer::moto`]), endpoint in [`ENDPOINT_VAR`] (`bash .ci/s3-server.sh
//!   start` prints it): a single-process mock that checks no signature;
//! - **Garage** ([`TestServer::garage`]), a real distributed store (`bash .ci/garage.sh start`
//!   prints its `XBAK_TEST_GARAGE_*` variables; `--nodes 3` a 3-node cluster's
//!   `XBAK_TEST_GARAGE3_*`, [`TestServer::garage_nodes`]): signatures checked, its own region
//!   name, no conditional writes.
//!
//! `scripts/test.sh` starts both. A test that needs a server and finds its variables unset
//! **fails**, it is not skipped: an untested backend must not look like a passing one.
//! [`crate::for_each_test_server`] runs a test once per server.

use crate::RegionStore;
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::HttpRequestBody;

/// Environment variable holding moto's endpoint (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "XBAK_TEST_S3_ENDPOINT";

/// Prefix of the variables `.ci/garage.sh start` exports for its 1-node cluster
/// (`_ENDPOINT`, `_ENDPOINTS`, `_REGION`, `_ACCESS_KEY`, `_SECRET_KEY_FILE`); an N-node
/// cluster's are `XBAK_TEST_GARAGE<N>_…`.
pub const GARAGE_VAR_PREFIX: &str = "XBAK_TEST_GARAGE";

/// What is percent-encoded in the credentials of a URL.
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One S3-compatible test server: where it is and how requests to it are signed.
#[derive(Clone)]
pub struct TestServer {
    /// `moto` or `garage`: what failures name.
    pub name: &'static str,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub endpoint: String,
    /// The region requests are signed for.
    pub region: String,
    pub access_key: String,
    secret_key: String,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// `value` as a loopback `http://` endpoint, or a panic saying how to start the server.
fn loopback_endpoint(var: &str, value: &str, start: &str) -> String {
    let parsed = url::Url::parse(value).ok();
    assert!(
        parsed.as_ref().is_some_and(crate::s3::is_loopback),
        "{var} is {value:?}: the S3 tests need a loopback S3-compatible server. \
         Start one with `eval \"$({start})\"` (scripts/test.sh does)."
    );
    value.trim_end_matches('/').to_owned()
}

impl TestServer {
    /// moto, from [`ENDPOINT_VAR`]; it accepts any credentials. Panics when it is unset.
    pub fn moto() -> TestServer {
        let value = std::env::var(ENDPOINT_VAR).unwrap_or_default();
        TestServer {
            name: "moto",
            endpoint: loopback_endpoint(ENDPOINT_VAR, &value, "bash .ci/s3-server.sh start"),
            region: "us-east-1".into(),
            access_key: "xbak-test".into(),
            secret_key: "xbak-test-secret".into(),
        }
    }

    /// The 1-node Garage cluster of `.ci/garage.sh start`. Panics when its variables are unset.
    pub fn garage() -> TestServer {
        Self::garage_nodes(1).swap_remove(0)
    }

    /// One server per node of the `nodes`-node Garage cluster of `.ci/garage.sh start --nodes
    /// N` (node 1 first): same bucket namespace, key and region, reached through each node's
    /// own S3 API. Panics when its variables are unset.
    pub fn garage_nodes(nodes: usize) -> Vec<TestServer> {
        let prefix = match nodes {
            1 => GARAGE_VAR_PREFIX.to_owned(),
            n => format!("{GARAGE_VAR_PREFIX}{n}"),
        };
        let start = match nodes {
            1 => "bash .ci/garage.sh start".to_owned(),
            n => format!("bash .ci/garage.sh start --nodes {n}"),
        };
        let var = |name: &str| {
            let var = format!("{prefix}_{name}");
            let value = std::env::var(&var).unwrap_or_default();
            assert!(
                !value.is_empty(),
                "{var} is unset: these tests need the {nodes}-node Garage cluster. Start it with \
                 `eval \"$({start})\"` (scripts/test.sh starts the 1-node one)."
            );
            (var, value)
        };
        let (secret_var, secret_file) = var("SECRET_KEY_FILE");
        let secret_key = std::fs::read_to_string(&secret_file)
            .unwrap_or_else(|e| panic!("{secret_var}: reading {secret_file}: {e}"))
            .trim()
            .to_owned();
        let (endpoints_var, endpoints) = var("ENDPOINTS");
        let servers: Vec<TestServer> = endpoints
            .split(',')
            .map(|e| TestServer {
                name: "garage",
                endpoint: loopback_endpoint(&endpoints_var, e, &start),
                region: var("REGION").1,
                access_key: var("ACCESS_KEY").1,
                secret_key: secret_key.clone(),
            })
            .collect();
        assert_eq!(servers.len(), nodes, "{endpoints_var} is {endpoints:?}");
        servers
    }

    /// The secret key (to check it leaks nowhere).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// `s3://KEY:SECRET@{bucket}[/{prefix}]?endpoint=…&region=…` (the secret percent-encoded).
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, USERINFO).to_string();
        let path = match prefix {
            "" => String::new(),
            p => format!("/{p}"),
        };
        format!(
            "s3://{}:{}@{bucket}{path}?endpoint={}&region={}",
            enc(&self.access_key),
            enc(&self.secret_key),
            self.endpoint,
            self.region
        )
    }

    /// URL of a fresh, empty region: a new random prefix `t-<uuid>` in `bucket` (created if
    /// needed).
    pub async fn region_url(&self, bucket: &str) -> String {
        self.create_bucket(bucket).await;
        self.url(bucket, &format!("t-{}", uuid::Uuid::new_v4().simple()))
    }

    /// A fresh, empty region `region_id` in `bucket`.
    pub async fn region(&self, region_id: &str, bucket: &str) -> RegionStore {
        let url = self.region_url(bucket).await;
        RegionStore::open(region_id, &url).unwrap_or_else(|e| panic!("opening {url}: {e}"))
    }

    /// Creates `bucket` unless it exists (`BucketAlreadyOwnedByYou` is fine).
    pub async fn create_bucket(&self, bucket: &str) {
        let (status, body) = self
            .request(http::Method::PUT, &format!("/{bucket}"), &[], Vec::new())
            .await;
        assert!(
            status.is_success() || body.contains("BucketAlreadyOwnedByYou"),
            "{}: creating bucket {bucket}: {status} {body}",
            self.name
        );
    }

    /// Writes `data` at `key` of `bucket` directly (no staging), with extra `headers`: for
    /// tests that need many objects, or to see how the server treats a request.
    pub async fn put_raw(
        &self,
        bucket: &str,
        key: &str,
        headers: &[(&str, &str)],
        data: Vec<u8>,
    ) -> (http::StatusCode, String) {
        let path = format!("/{bucket}/{}", encode_key(key));
        self.request_with(http::Method::PUT, &path, &[], headers, data)
            .await
    }

    /// Keys under `prefix` in `bucket`, as the server lists them (staging objects included).
    pub async fn raw_keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let body = self
            .ok_body(
                &format!("/{bucket}"),
                &[("list-type", "2"), ("prefix", prefix)],
            )
            .await;
        assert!(
            !body.contains("<IsTruncated>true"),
            "more keys than one page"
        );
        elements(&body, "Key")
    }

    /// Multipart uploads in progress under `prefix` in `bucket`.
    pub async fn open_uploads(&self, bucket: &str, prefix: &str) -> usize {
        let body = self
            .ok_body(
                &format!("/{bucket}"),
                &[("uploads", ""), ("prefix", prefix)],
            )
            .await;
        elements(&body, "UploadId").len()
    }

    async fn ok_body(&self, path: &str, query: &[(&str, &str)]) -> String {
        let (status, body) = self
            .request(http::Method::GET, path, query, Vec::new())
            .await;
        assert!(
            status.is_success(),
            "{}: GET {path} {query:?}: {status} {body}",
            self.name
        );
        body
    }

    /// A SigV4-signed request (as a real client makes; moto ignores the signature, Garage
    /// checks it) to `path` (already encoded) with `query`; answers the status and body.
    pub async fn request(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (http::StatusCode, String) {
        self.request_with(method, path, query, &[], body).await
    }

    /// [`TestServer::request`] with extra (signed) headers.
    pub async fn request_with(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (http::StatusCode, String) {
        let mut url = url::Url::parse(&format!("{}{path}", self.endpoint)).unwrap();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        // `uploads` is a bare flag: `?uploads=` is signed and sent alike, which S3 accepts.
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(HttpRequestBody::from(body.clone()))
            .expect("valid request");
        let credential = AwsCredential {
            key_id: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            token: None,
        };
        AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut request, None);
        let mut builder = reqwest::Client::new().request(method, url.as_str());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {url}: {e}", self.name));
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }
}

/// A key as a URL path: each segment percent-encoded.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|s| {
            percent_encoding::utf8_percent_encode(s, xbak_protocol::encode::RFC3986_PATH)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The texts of every `<tag>…</tag>` in an XML answer (none of ours hold markup).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next())
        .map(str::to_owned)
        .collect()
}

/// Runs each listed `async fn case(server: TestServer)` of the calling module once per test
/// server, as `moto::case` and `garage::case`, so a failure names both.
#[macro_export]
macro_rules! for_each_test_server {
    ($($case:ident),* $(,)?) => {
        $crate::for_each_test_server!(@server moto: $($case),*);
        $crate::for_each_test_server!(@server garage: $($case),*);
    };
    (@server $server:ident: $($case:ident),*) => {
        mod $server {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::conformance::s3::TestServer::$server()).await;
                }
            )*
        }
    };
}

/// moto's endpoint ([`TestServer::moto`]).
pub fn endpoint() -> String {
    TestServer::moto().endpoint
}

/// Creates `bucket` on moto.
pub async fn create_bucket(bucket: &str) {
    TestServer::moto().create_bucket(bucket).await
}

/// URL of a fresh, empty region on moto ([`TestServer::region_url`]).
pub async fn region_url(bucket: &str) -> String {
    TestServer::moto().region_url(bucket).await
}

/// A fresh, empty S3 region `region_id` in `bucket` on moto.
pub async fn region(region_id: &str, bucket: &str) -> RegionStore {
    TestServer::moto().region(region_id, bucket).await
}
