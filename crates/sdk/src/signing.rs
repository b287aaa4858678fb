//! Turns an RPC call into a signed HTTP request, without sending it. Pure: the clock and the
//! nonce come in through [`SigningContext`], so tests pin them and compare with the vectors the
//! official SDKs produced (PROTOCOL §2.2, §3).
//!
//! Both schemes put the business parameters in the query string and send no body, like
//! aliyun-python-sdk-core (v1) and the Tea SDKs (v3); GET or POST as chosen.
//!
//! * **v1** (`HMAC-SHA1`, Alibaba's "V2 for RPC"): adds `Action`, `Version`, `Format=JSON`,
//!   `AccessKeyId`, `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `Timestamp`
//!   (+ `SecurityToken`) to the query and appends `Signature`. A `Format` given by the caller
//!   wins; the other common parameters are always ours.
//! * **v3** (`ACS3-HMAC-SHA256`, the default): `Action`/`Version` travel in `x-acs-action` /
//!   `x-acs-version`, the query holds the business parameters only, and the `Authorization`
//!   header signs `host` and every `x-acs-*` header, as the official Node SDK does
//!   ([`HeaderSelection::HostAndAcs`]); [`HeaderSelection::All`] signs every header, as the
//!   Python SDK does.

use xbak_protocol::encode::rfc3986;
use xbak_protocol::sign::{v1, v3};
use xbak_protocol::time::format_utc;
use xbak_protocol::RawParams;

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;

/// Which signature scheme to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// RPC `HMAC-SHA1` with the `Signature` parameter.
    V1,
    /// `ACS3-HMAC-SHA256` in the `Authorization` header (what the current official SDKs send).
    #[default]
    V3,
}

impl std::str::FromStr for SignatureVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" | "1.0" | "v2" | "hmac-sha1" => Ok(SignatureVersion::V1),
            "v3" | "3" | "acs3-hmac-sha256" => Ok(SignatureVersion::V3),
            _ => Err(format!("unknown signature version {s:?} (v1 or v3)")),
        }
    }
}

/// HTTP method of RPC calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST` with an empty body (the official SDKs' choice for RDS).
    #[default]
    Post,
}

impl HttpMethod {
    /// `GET` / `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl std::str::FromStr for HttpMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(HttpMethod::Get),
            "POST" => Ok(HttpMethod::Post),
            _ => Err(format!("unsupported method {s:?} (GET or POST)")),
        }
    }
}

/// Which headers a v3 signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderSelection {
    /// `host` and `x-acs-*` (the official Node SDK; our default).
    #[default]
    HostAndAcs,
    /// Every header sent (the official Python SDK).
    All,
}

/// What changes on every attempt: a retry is signed again with a new nonce and time, since
/// the server refuses a nonce it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningContext {
    /// `yyyy-MM-ddTHH:mm:ssZ`, UTC.
    pub timestamp: String,
    /// A fresh random string.
    pub nonce: String,
}

impl SigningContext {
    /// The current time and a random 32-hex-digit nonce.
    pub fn now() -> SigningContext {
        SigningContext {
            timestamp: format_utc(chrono::Utc::now()),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// One RPC call, before signing.
#[derive(Debug, Clone)]
pub struct RequestSpec<'a> {
    /// `Action`, e.g. `DescribeCrossRegionBackups`.
    pub action: &'a str,
    /// `Version`, e.g. `2014-08-15`.
    pub version: &'a str,
    /// Business parameters in order (blanks are sent as `k=`).
    pub params: &'a [(String, String)],
    /// GET or POST.
    pub method: HttpMethod,
    /// v1 or v3.
    pub signature: SignatureVersion,
    /// v3 only: which headers to sign.
    pub signed_headers: HeaderSelection,
    /// Where the request goes.
    pub endpoint: &'a Endpoint,
    /// Who signs.
    pub credentials: &'a Credentials,
    /// `user-agent` header.
    pub user_agent: &'a str,
    /// More headers to send (lower-case names); v3 signs them per `signed_headers`.
    pub extra_headers: &'a [(String, String)],
}

/// A signed request, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// GET or POST.
    pub method: HttpMethod,
    /// Full URL: `scheme://host/?query`.
    pub url: String,
    /// Headers to send, lower-case names (`host` included).
    pub headers: Vec<(String, String)>,
    /// The v3 canonical request (empty for v1), for debugging and tests.
    pub canonical_request: String,
    /// The string that was signed.
    pub string_to_sign: String,
    /// The signature (base64 for v1, hex for v3).
    pub signature: String,
}

/// Common parameters of v1 that the caller cannot set.
const V1_RESERVED: &[&str] = &[
    "Action",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "SecurityToken",
    "Signature",
];

/// `hex(sha256(""))`: every request here has an empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Signs `spec` at `ctx`.
pub fn prepare(spec: &RequestSpec<'_>, ctx: &SigningContext) -> PreparedRequest {
    match spec.signature {
        SignatureVersion::V1 => prepare_v1(spec, ctx),
        SignatureVersion::V3 => prepare_v3(spec, ctx),
    }
}

fn prepare_v1(spec: &RequestSpec<'_>, ctx: &SigningContext) -> PreparedRequest {
    let creds = spec.credentials;
    let mut all: Vec<(String, String)> = spec
        .params
        .iter()
        .filter(|(k, _)| !V1_RESERVED.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut common = vec![
        ("Action", spec.action),
        ("Version", spec.version),
        ("AccessKeyId", creds.access_key_id.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", ctx.nonce.as_str()),
        ("Timestamp", ctx.timestamp.as_str()),
    ];
    if !all.iter().any(|(k, _)| k == "Format") {
        common.push(("Format", "JSON"));
    }
    if let Some(token) = &creds.security_token {
        common.push(("SecurityToken", token.as_str()));
    }
    all.extend(
        common
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let raw = RawParams(all);
    let string_to_sign = v1::string_to_sign(spec.method.as_str(), &raw);
    let signature = v1::sign(&creds.access_key_secret, &string_to_sign);
    let mut query = encode_query(&raw.0);
    query.push_str("&Signature=");
    query.push_str(&rfc3986(&signature));

    let mut headers = vec![
        ("host".to_owned(), spec.endpoint.host().to_owned()),
        ("x-acs-action".to_owned(), spec.action.to_owned()),
        ("x-acs-version".to_owned(), spec.version.to_owned()),
        ("accept".to_owned(), "application/json".to_owned()),
        ("user-agent".to_owned(), spec.user_agent.to_owned()),
    ];
    headers.extend(spec.extra_headers.iter().cloned());
    PreparedRequest {
        method: spec.method,
        url: format!("{}/?{query}", spec.endpoint.base_url()),
        headers,
        canonical_request: String::new(),
        string_to_sign,
        signature,
    }
}

fn prepare_v3(spec: &RequestSpec<'_>, ctx: &SigningContext) -> PreparedRequest {
    let creds = spec.credentials;
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), spec.endpoint.host().to_owned()),
        ("x-acs-version".into(), spec.version.to_owned()),
        ("x-acs-action".into(), spec.action.to_owned()),
        ("user-agent".into(), spec.user_agent.to_owned()),
        ("x-acs-date".into(), ctx.timestamp.clone()),
        ("x-acs-signature-nonce".into(), ctx.nonce.clone()),
        ("accept".into(), "application/json".into()),
        ("x-acs-content-sha256".into(), EMPTY_SHA256.into()),
    ];
    if let Some(token) = &creds.security_token {
        headers.push(("x-acs-accesskey-id".into(), creds.access_key_id.clone()));
        headers.push(("x-acs-security-token".into(), token.clone()));
    }
    headers.extend(spec.extra_headers.iter().cloned());
    let mut signed: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| match spec.signed_headers {
            HeaderSelection::All => true,
            HeaderSelection::HostAndAcs => {
                k == "host" || k == "content-type" || k.starts_with("x-acs-")
            }
        })
        .collect();
    signed.sort_unstable();
    signed.dedup();
    let query = RawParams(spec.params.to_vec());
    let canonical_request = v3::canonical_request(
        spec.method.as_str(),
        "/",
        &query,
        &headers,
        &signed,
        EMPTY_SHA256,
    );
    let string_to_sign = v3::string_to_sign(&canonical_request);
    let signature = v3::sign(&creds.access_key_secret, &string_to_sign);
    headers.push((
        "authorization".into(),
        v3::authorization_header(&creds.access_key_id, &signed, &signature),
    ));
    let qs = encode_query(spec.params);
    let url = if qs.is_empty() {
        format!("{}/", spec.endpoint.base_url())
    } else {
        format!("{}/?{qs}", spec.endpoint.base_url())
    };
    PreparedRequest {
        method: spec.method,
        url,
        headers,
        canonical_request,
        string_to_sign,
        signature,
    }
}

fn encode_query(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&rfc3986(k));
        out.push('=');
        out.push_str(&rfc3986(v));
    }
    out
}

#[cfg(test)]
mod tests {
    //! The captured vectors of PROTOCOL §2.2 (v1, aliyun-python-sdk-core) and §3 (v3, the
    //! Python Tea SDK), reproduced through this module's request builder.

    use super::*;

    fn params(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const BUSINESS: &[(&str, &str)] = &[
        ("DBInstanceId", "rm-uf6wjk5xxxxxxx"),
        ("StartTime", "2024-03-05T02:21:00Z"),
        ("EndTime", "2024-03-05T02:24:37Z"),
        ("PageSize", "30"),
        ("PageNumber", "1"),
        ("RegionId", "cn-hangzhou"),
    ];

    fn authorization(req: &PreparedRequest) -> &str {
        let (_, value) = req
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .expect("an authorization header");
        value
    }

    fn spec<'a>(
        p: &'a [(String, String)],
        sig: SignatureVersion,
        endpoint: &'a Endpoint,
        creds: &'a Credentials,
        ua: &'a str,
        extra: &'a [(String, String)],
    ) -> RequestSpec<'a> {
        RequestSpec {
            action: "DescribeCrossRegionBackups",
            version: "2014-08-15",
            params: p,
            method: HttpMethod::Post,
            signature: sig,
            signed_headers: HeaderSelection::HostAndAcs,
            endpoint,
            credentials: creds,
            user_agent: ua,
            extra_headers: extra,
        }
    }

    #[test]
    fn v1_matches_the_core_sdk_vector() {
        let mut p = params(BUSINESS);
        p.push(("Format".into(), "JSON".into()));
        p.push(("SignatureType".into(), String::new())); // core sends it blank, and signs it
        let endpoint = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let creds = Credentials::new("testAK", "testSecret");
        let ctx = SigningContext {
            timestamp: "2024-03-05T03:00:00Z".into(),
            nonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf".into(),
        };
        let req = prepare(
            &spec(&p, SignatureVersion::V1, &endpoint, &creds, "ua", &[]),
            &ctx,
        );
        assert_eq!(
            req.string_to_sign,
            "POST&%2F&AccessKeyId%3DtestAK%26Action%3DDescribeCrossRegionBackups%26DBInstanceId%3Drm-uf6wjk5xxxxxxx%26EndTime%3D2024-03-05T02%253A24%253A37Z%26Format%3DJSON%26PageNumber%3D1%26PageSize%3D30%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureType%3D%26SignatureVersion%3D1.0%26StartTime%3D2024-03-05T02%253A21%253A00Z%26Timestamp%3D2024-03-05T03%253A00%253A00Z%26Version%3D2014-08-15"
        );
        assert_eq!(req.signature, "n1wEA6em1F2+bjjeRIMSXdVzJBE=");
        assert!(
            req.url
                .ends_with("&Signature=n1wEA6em1F2%2BbjjeRIMSXdVzJBE%3D"),
            "{}",
            req.url
        );
        assert!(req
            .url
            .starts_with("http://127.0.0.1:8080/?DBInstanceId=rm-uf6wjk5xxxxxxx&"));
        assert!(
            req.url.contains("&SignatureType=&"),
            "blank kept: {}",
            req.url
        );
        assert_eq!(req.method, HttpMethod::Post);
        // Format is added once (the caller's here), never duplicated.
        assert_eq!(req.url.matches("Format=").count(), 1);
    }

    #[test]
    fn v1_reserved_params_are_ours_and_get_is_signed_as_get() {
        let p = params(&[("AccessKeyId", "evil"), ("Timestamp", "x"), ("A", "b c*")]);
        let endpoint = Endpoint::parse("rds.aliyuncs.com").unwrap();
        let creds = Credentials::new("ak", "sk");
        let ctx = SigningContext {
            timestamp: "2024-01-01T00:00:00Z".into(),
            nonce: "n".into(),
        };
        let mut s = spec(&p, SignatureVersion::V1, &endpoint, &creds, "ua", &[]);
        s.method = HttpMethod::Get;
        let req = prepare(&s, &ctx);
        assert!(req
            .string_to_sign
            .starts_with("GET&%2F&A%3Db%2520c%252A%26AccessKeyId%3Dak%26"));
        assert!(!req.url.contains("evil"));
        assert!(req.url.starts_with("https://rds.aliyuncs.com/?A=b%20c%2A&"));
        // The server's check: recompute from the decoded query.
        let q = req.url.split_once('?').unwrap().1;
        let decoded = RawParams::parse_urlencoded(q.as_bytes());
        let sts = v1::string_to_sign("GET", &decoded);
        assert_eq!(v1::sign("sk", &sts), decoded.get("Signature").unwrap());
    }

    #[test]
    fn v3_matches_the_python_tea_sdk_vector() {
        let p = params(BUSINESS);
        let endpoint = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let creds = Credentials::new("testAK", "testSecret");
        let ua = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
        let extra = vec![(
            "x-acs-credentials-provider".to_owned(),
            "static_ak".to_owned(),
        )];
        let ctx = SigningContext {
            timestamp: "2024-03-05T03:00:00Z".into(),
            nonce: "d410180a5abf7fe235dd9b74aca91fc0".into(),
        };
        let mut s = spec(&p, SignatureVersion::V3, &endpoint, &creds, ua, &extra);
        s.signed_headers = HeaderSelection::All;
        let req = prepare(&s, &ctx);
        assert_eq!(
            req.canonical_request,
            "POST\n/\nDBInstanceId=rm-uf6wjk5xxxxxxx&EndTime=2024-03-05T02%3A24%3A37Z&PageNumber=1&PageSize=30&RegionId=cn-hangzhou&StartTime=2024-03-05T02%3A21%3A00Z\n\
             accept:application/json\nhost:127.0.0.1:8080\nuser-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2\n\
             x-acs-action:DescribeCrossRegionBackups\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-acs-credentials-provider:static_ak\nx-acs-date:2024-03-05T03:00:00Z\nx-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0\n\
             x-acs-version:2014-08-15\n\n\
             accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            req.string_to_sign,
            "ACS3-HMAC-SHA256\nc79a92fe0d13e1ab820c4f53a9b252ec74f0e752521cbd3e126ba601603fd51c"
        );
        assert_eq!(
            req.signature,
            "18764ba83de8e4b77656a0fd77edbe8717a4fb257e5e2e150de7ec8aa01087fe"
        );
        let auth = authorization(&req);
        assert_eq!(
            auth,
            "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=18764ba83de8e4b77656a0fd77edbe8717a4fb257e5e2e150de7ec8aa01087fe"
        );
        assert!(!req.url.contains("Action="), "v3 keeps Action in headers");
    }

    #[test]
    fn v3_default_signs_host_and_acs_headers_like_node() {
        let p = params(BUSINESS);
        let endpoint = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let mut creds = Credentials::new("testAK", "testSecret");
        creds.security_token = Some("tok".into());
        let ctx = SigningContext {
            timestamp: "2024-03-05T03:00:00Z".into(),
            nonce: "ab".repeat(32),
        };
        let req = prepare(
            &spec(&p, SignatureVersion::V3, &endpoint, &creds, "ua", &[]),
            &ctx,
        );
        let auth = authorization(&req);
        let parsed = v3::parse_authorization(auth).unwrap();
        assert_eq!(
            parsed.signed_headers.join(";"),
            "host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;\
             x-acs-security-token;x-acs-signature-nonce;x-acs-version"
        );
        // The server's check, from the wire: decoded query + received headers.
        let q = req.url.split_once('?').unwrap().1;
        let canonical = v3::canonical_request(
            "POST",
            "/",
            &RawParams::parse_urlencoded(q.as_bytes()),
            &req.headers,
            &parsed.signed_headers,
            EMPTY_SHA256,
        );
        assert_eq!(canonical, req.canonical_request);
        assert_eq!(
            v3::sign("testSecret", &v3::string_to_sign(&canonical)),
            parsed.signature
        );
    }
}
