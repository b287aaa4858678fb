//! [`Client`]: endpoint, credentials, timeouts, retries; sends signed RPC calls.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::credentials::{Credentials, Overrides, Settings};
use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::retry::{is_idempotent, AttemptFailure, RetryPolicy};
use crate::setters::setters;
use crate::signing::{
    prepare, HeaderSelection, HttpMethod, PreparedRequest, RequestSpec, SignatureVersion,
    SigningContext,
};

/// The RDS API version every call carries unless told otherwise.
pub const RDS_API_VERSION: &str = "2014-08-15";

/// A client for one endpoint and one AccessKey. Cheap to clone (shared connection pool).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// No overall deadline (a download may take hours), but a read timeout.
    pub(crate) download_http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) region_id: Option<String>,
    pub(crate) signature: SignatureVersion,
    pub(crate) method: HttpMethod,
    pub(crate) signed_headers: HeaderSelection,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: String,
    pub(crate) version: String,
}

/// Builds a [`Client`]. Defaults: v3 signatures, POST, connect timeout 5 s, call timeout 30 s,
/// download read timeout 60 s, [`RetryPolicy::default`], API version 2014-08-15.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    credentials: Option<Credentials>,
    region_id: Option<String>,
    signature_version: SignatureVersion,
    method: HttpMethod,
    signed_headers: HeaderSelection,
    connect_timeout: Duration,
    timeout: Duration,
    read_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    version: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: None,
            credentials: None,
            region_id: None,
            signature_version: SignatureVersion::default(),
            method: HttpMethod::default(),
            signed_headers: HeaderSelection::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: format!(
                "AlibabaCloud ({}; {}) xbak-sdk/{}",
                std::env::consts::OS,
                std::env::consts::ARCH,
                env!("CARGO_PKG_VERSION")
            ),
            version: RDS_API_VERSION.to_owned(),
        }
    }
}

impl ClientBuilder {
    /// Endpoint, region and credentials from resolved [`Settings`].
    pub fn settings(mut self, s: &Settings) -> Self {
        self.endpoint = Some(s.endpoint.clone());
        self.credentials = s.credentials.clone();
        self.region_id = s.region_id.clone();
        self
    }
    setters! {
        /// `http://127.0.0.1:8080`, `rds.aliyuncs.com`, … (see [`Endpoint::parse`]).
        endpoint: into String;
        /// The AccessKey to sign with.
        credentials: Credentials;
        /// `RegionId` added to calls that do not carry one (as aliyun-python-sdk-core does).
        region_id: into String;
        /// v3 (default) or v1.
        signature_version = SignatureVersion;
        /// POST (default) or GET.
        method = HttpMethod;
        /// v3: which headers to sign (default `host` + `x-acs-*`).
        signed_headers = HeaderSelection;
        /// TCP/TLS connect timeout.
        connect_timeout = Duration;
        /// Whole-call timeout of one API attempt.
        timeout = Duration;
        /// Longest silence while downloading before the attempt counts as failed.
        read_timeout = Duration;
        /// Retry rules.
        retry = RetryPolicy;
    }
    /// `user-agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }
    /// API `Version` (default `2014-08-15`).
    pub fn api_version(mut self, v: impl Into<String>) -> Self {
        self.version = v.into();
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, SdkError> {
        let endpoint = Endpoint::parse(
            self.endpoint
                .as_deref()
                .unwrap_or(crate::endpoint::ALIBABA_RDS_ENDPOINT),
        )?;
        if endpoint.scheme() == "https" && !cfg!(feature = "rustls") {
            return Err(SdkError::Config(format!(
                "{endpoint} needs https, and xbak-sdk was built without its `rustls` feature"
            )));
        }
        let credentials = self.credentials.ok_or_else(|| {
            SdkError::Config(
                "no AccessKey: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, \
                 or add a profile to ~/.aliyun/config.json (aliyun configure) and pass --profile"
                    .into(),
            )
        })?;
        // API calls are bounded as a whole; downloads only between reads.
        let http = http_client(self.connect_timeout, |b| b.timeout(self.timeout))?;
        let download_http =
            http_client(self.connect_timeout, |b| b.read_timeout(self.read_timeout))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                download_http,
                endpoint,
                credentials,
                region_id: self.region_id.filter(|r| !r.is_empty()),
                signature: self.signature_version,
                method: self.method,
                signed_headers: self.signed_headers,
                retry: self.retry,
                user_agent: self.user_agent,
                version: self.version,
            }),
        })
    }
}

/// A successful (2xx) answer as received.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// `x-acs-request-id` header (the body's `RequestId` is the same on Alibaba and xbak).
    pub request_id: String,
    /// The body, untouched.
    pub body: Vec<u8>,
    /// How many attempts it took (1 = no retry).
    pub attempts: u32,
}

/// An HTTP client that connects within `connect_timeout`, ignores proxy settings and has the
/// timeout `limit` sets.
fn http_client(
    connect_timeout: Duration,
    limit: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> Result<reqwest::Client, SdkError> {
    limit(reqwest::Client::builder().connect_timeout(connect_timeout))
        .no_proxy()
        .build()
        .map_err(|e| SdkError::Config(format!("http client: {e}")))
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured the way Alibaba's tools are: environment variables, then
    /// `~/.aliyun/config.json` (see [`crate::credentials`]).
    pub fn from_env() -> Result<Client, SdkError> {
        let settings = crate::credentials::resolve(&Overrides::default())?;
        Client::builder().settings(&settings).build()
    }

    /// Where calls go.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The default `RegionId`, if any.
    pub fn region_id(&self) -> Option<&str> {
        self.inner.region_id.as_deref()
    }

    /// The AccessKeyId calls are signed with.
    pub fn access_key_id(&self) -> &str {
        &self.inner.credentials.access_key_id
    }

    /// Signs `action` with `params` as this client would send it now (for `--dry-run`-style
    /// debugging and tests). Adds `RegionId` as [`Client::call_raw`] does.
    pub fn prepare(&self, action: &str, params: &[(String, String)]) -> PreparedRequest {
        let params = self.with_region(params);
        prepare(&self.spec(action, &params), &SigningContext::now())
    }

    fn spec<'a>(&'a self, action: &'a str, params: &'a [(String, String)]) -> RequestSpec<'a> {
        let i = &self.inner;
        RequestSpec {
            action,
            version: &i.version,
            params,
            method: i.method,
            signature: i.signature,
            signed_headers: i.signed_headers,
            endpoint: &i.endpoint,
            credentials: &i.credentials,
            user_agent: &i.user_agent,
            extra_headers: &[],
        }
    }

    fn with_region(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        let mut out = params.to_vec();
        if let Some(r) = &self.inner.region_id {
            if !out.iter().any(|(k, _)| k == "RegionId") {
                out.push(("RegionId".into(), r.clone()));
            }
        }
        out
    }

    /// Calls `action` and returns the raw 2xx answer; error envelopes become
    /// [`SdkError::Api`]. Retries per the client's [`RetryPolicy`], signing every attempt
    /// afresh. Adds `RegionId` from the client when `params` has none.
    pub async fn call_raw(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<RawResponse, SdkError> {
        let params = self.with_region(params);
        let spec = self.spec(action, &params);
        let idempotent = is_idempotent(action);
        let mut attempt = 1;
        loop {
            let prepared = prepare(&spec, &SigningContext::now());
            let (err, retry_after) = match self.send(&prepared).await {
                Ok((status, headers, body)) if (200..300).contains(&status) => {
                    return Ok(RawResponse {
                        status,
                        request_id: header(&headers, "x-acs-request-id").unwrap_or_default(),
                        body,
                        attempts: attempt,
                    })
                }
                Ok((status, headers, body)) => {
                    let retry_after = header(&headers, "x-acs-retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .filter(|ms| *ms > 0)
                        .map(Duration::from_millis);
                    (api_error(status, &headers, &body), retry_after)
                }
                Err(e) => (SdkError::Transport(e), None),
            };
            let delay = AttemptFailure::of(&err, retry_after)
                .and_then(|failure| self.inner.retry.decide(attempt, &failure, idempotent));
            match delay {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(err),
            }
        }
    }

    /// Calls `action` and parses the JSON body (for any action, typed or not).
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<serde_json::Value, SdkError> {
        self.call_typed(action, params).await
    }

    /// Calls `action` and deserializes the JSON body into `T`.
    pub async fn call_typed<T: DeserializeOwned>(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<T, SdkError> {
        let raw = self.call_raw(action, params).await?;
        serde_json::from_slice(&raw.body).map_err(|e| SdkError::Decode {
            message: format!("{e}; body starts {:?}", snippet(&raw.body)),
        })
    }

    async fn send(
        &self,
        p: &PreparedRequest,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), reqwest::Error> {
        let mut req = match p.method {
            HttpMethod::Get => self.inner.http.get(&p.url),
            HttpMethod::Post => self.inner.http.post(&p.url).body(Vec::<u8>::new()),
        };
        for (k, v) in &p.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        Ok((status, headers, body))
    }
}

pub(crate) fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An error envelope (JSON, or Alibaba's / OSS's XML `<Error>`) as [`SdkError::Api`].
pub(crate) fn api_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> SdkError {
    let header_id = header(headers, "x-acs-request-id")
        .or_else(|| header(headers, "x-oss-request-id"))
        .unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(code) = v.get("Code").and_then(|c| c.as_str()) {
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            return SdkError::Api {
                code: code.to_owned(),
                message: s("Message").unwrap_or_default(),
                request_id: s("RequestId").unwrap_or(header_id),
                http_status: status,
            };
        }
    }
    if let Some(e) = xml_error(&String::from_utf8_lossy(body)) {
        return SdkError::Api {
            code: e.code.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
            request_id: e.request_id.unwrap_or(header_id),
            http_status: status,
        };
    }
    SdkError::Api {
        code: "SDK.UnknownServerError".into(),
        message: format!("ServerResponseBody: {}", snippet(body)),
        request_id: header_id,
        http_status: status,
    }
}

/// The fields of an XML error envelope, `<Error><Code>…</Code><Message>…</Message>
/// <RequestId>…</RequestId>…</Error>` (Alibaba's and OSS's; other elements are ignored).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct XmlError {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
}

/// Reads `text` as an XML error envelope; `None` when it is not XML or has no `Code`.
fn xml_error(text: &str) -> Option<XmlError> {
    let e: XmlError = quick_xml::de::from_str(text).ok()?;
    let trim = |s: Option<String>| s.map(|s| s.trim().to_owned());
    Some(XmlError {
        code: Some(trim(e.code)?),
        message: trim(e.message),
        request_id: trim(e.request_id),
    })
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(200)]);
    s.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    #[test]
    fn error_envelopes_json_xml_oss_and_other() {
        let h = HeaderMap::new();
        let e = api_error(
            404,
            &h,
            br#"{"RequestId":"R1","Message":"m","Recommend":"x","HostId":"h","Code":"InvalidDBInstance.NotFound"}"#,
        );
        assert!(
            matches!(&e, SdkError::Api { code, request_id, http_status: 404, .. }
            if code == "InvalidDBInstance.NotFound" && request_id == "R1")
        );
        let e = api_error(
            400,
            &h,
            b"<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>R2</RequestId><Code>Throttling</Code><Message>a &amp; b</Message></Error>",
        );
        assert!(e.is_throttling());
        assert!(matches!(&e, SdkError::Api { message, .. } if message == "a & b"));
        let e = api_error(
            403,
            &h,
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>AccessDenied</Code>\n  <Message>Request has expired.</Message>\n  <RequestId>R3</RequestId>\n</Error>\n",
        );
        assert!(e.is_expired_link());
        let e = api_error(
            503,
            &h,
            b"<Error><Code><![CDATA[SlowDown]]></Code><Message>a &lt;b&gt;</Message></Error>",
        );
        assert!(matches!(&e, SdkError::Api { code, message, request_id, .. }
            if code == "SlowDown" && message == "a <b>" && request_id.is_empty()));
        let mut h = HeaderMap::new();
        h.insert("x-acs-request-id", "R4".parse().unwrap());
        let e = api_error(502, &h, b"<html>Bad Gateway</html>");
        assert!(matches!(&e, SdkError::Api { code, request_id, .. }
            if code == "SDK.UnknownServerError" && request_id == "R4"));
    }
}
