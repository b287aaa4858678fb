//! Requests signed the way the official SDKs sign them: v1 (HMAC-SHA1 over the query, as the
//! core SDKs) and v3 (ACS3-HMAC-SHA256 over headers, as the Tea SDKs).

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use xbak_protocol::encode::rfc3986;
use xbak_protocol::sign::{v1, v3};
use xbak_protocol::RawParams;

/// A fresh `SignatureNonce`.
pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The common v1 parameters (a `DescribeCrossRegionBackups` call in JSON, timestamped `now`)
/// with `params` replacing or adding to them, signed: the query string as the core SDKs build it.
pub fn v1_params(
    method: &str,
    ak: &str,
    secret: &str,
    params: &[(&str, &str)],
    now: DateTime<Utc>,
) -> String {
    let mut all: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeCrossRegionBackups".into()),
        ("Version".into(), "2014-08-15".into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), ak.into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), nonce()),
        ("SignatureType".into(), "".into()),
        (
            "Timestamp".into(),
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
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

/// A v1-signed request to `/` with [`v1_params`] as its query.
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

/// SHA-256 of an empty body, hex: the `x-acs-content-sha256` of a POST without one.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A v3 (ACS3-HMAC-SHA256) `DescribeCrossRegionBackups` POST with `params` in the query, as
/// the Python Tea SDK sends it.
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
        ("x-acs-content-sha256".into(), EMPTY_SHA256.into()),
        ("x-acs-credentials-provider".into(), "static_ak".into()),
        (
            "x-acs-date".into(),
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".into(), nonce()),
        ("x-acs-version".into(), "2014-08-15".into()),
    ];
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical = v3::canonical_request("POST", "/", &query, &headers, &signed, EMPTY_SHA256);
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
