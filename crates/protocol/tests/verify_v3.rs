//! `claim` + `verify` for signature v3 (ACS3-HMAC-SHA256), the two-step check the server runs.

use xbak_protocol::sign::{claim, v3, verify, Claim, IncomingRequest};
use xbak_protocol::{ApiError, RawParams};

mod v3_vector;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct V3 {
    query: RawParams,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A v3 request shaped like the captures, signed with `signed` (lower-case names) and `secret`.
fn v3_request(signed: &[&str], secret: &str) -> V3 {
    let query: RawParams = [
        ("DBInstanceId", "rm-abc123"),
        ("RegionId", "cn-hangzhou"),
        ("CrossBackupId", "7"),
    ]
    .into_iter()
    .collect();
    let mut headers: Vec<(String, String)> = [
        ("host", "127.0.0.1:18081"),
        ("x-acs-version", "2014-08-15"),
        ("x-acs-action", "DescribeCrossRegionBackups"),
        (
            "user-agent",
            "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2",
        ),
        ("x-acs-date", "2026-11-27T17:09:31Z"),
        ("x-acs-signature-nonce", "2d21a66ea3d682487c1f6fd37eda3909"),
        ("accept", "application/json"),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-credentials-provider", "static_ak"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signed: Vec<String> = signed.iter().map(|s| s.to_string()).collect();
    let canonical = v3::canonical_request("POST", "/", &query, &headers, &signed, EMPTY_SHA256);
    let sig = v3::sign(secret, &v3::string_to_sign(&canonical));
    headers.push((
        "authorization".into(),
        v3::authorization_header("testAK", &signed, &sig),
    ));
    V3 {
        query,
        headers,
        body: Vec::new(),
    }
}

/// What the Node SDK signs: `host` and the `x-acs-*` headers (PROTOCOL §3).
const NODE: &[&str] = &[
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-credentials-provider",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

/// What the Python SDK signs: every header it sets, Node's and `accept` and `user-agent`, sorted.
fn python() -> Vec<&'static str> {
    let mut list = NODE.to_vec();
    list.extend(["accept", "user-agent"]);
    list.sort_unstable();
    list
}

fn incoming(r: &V3) -> IncomingRequest<'_> {
    IncomingRequest {
        method: "POST",
        path: "/",
        query: &r.query,
        params: &r.query,
        headers: &r.headers,
        body: &r.body,
    }
}

fn v3_check(r: &V3, secret: &str) -> Result<Claim, ApiError> {
    let req = incoming(r);
    let c = claim(&req)?;
    verify(&req, &c, secret)?;
    Ok(c)
}

#[test]
fn v3_python_and_node_signed_header_lists_verify() {
    for list in [&python()[..], NODE] {
        let c = v3_check(&v3_request(list, "testSecret"), "testSecret").unwrap();
        assert_eq!(c.access_key_id(), "testAK");
        assert_eq!(c.nonce(), "2d21a66ea3d682487c1f6fd37eda3909");
        assert_eq!(c.timestamp(), "2026-11-27T17:09:31Z");
        assert!(
            matches!(c, Claim::V3 { ref content_sha256, .. } if content_sha256 == EMPTY_SHA256)
        );
    }
}

#[test]
fn v3_tampering_and_wrong_secret_are_rejected() {
    let mismatch = |r: &V3, secret| matches!(v3_check(r, secret), Err(ApiError::SignatureDoesNotMatch { ref string_to_sign }) if string_to_sign.starts_with("ACS3-HMAC-SHA256\n"));
    assert!(mismatch(&v3_request(NODE, "testSecret"), "wrong"));
    let mut r = v3_request(NODE, "testSecret");
    r.query.0[0].1 = "rm-other".into();
    assert!(mismatch(&r, "testSecret"));
    let r = with_header(
        v3_request(NODE, "testSecret"),
        "x-acs-date",
        "2026-11-27T17:09:32Z",
    );
    assert!(mismatch(&r, "testSecret"));
    // Unsigned headers may change freely (Node does not sign user-agent).
    let r = with_header(v3_request(NODE, "testSecret"), "user-agent", "curl");
    assert!(v3_check(&r, "testSecret").is_ok());
}

/// `r` with the value of its (existing) header `name` replaced.
fn with_header(mut r: V3, name: &str, value: &str) -> V3 {
    r.headers.iter_mut().find(|(k, _)| k == name).unwrap().1 = value.into();
    r
}

#[test]
fn v3_body_hash_mismatch() {
    let with_content_type: Vec<&str> = NODE.iter().copied().chain(["content-type"]).collect();
    let mut r = v3_request(&with_content_type, "testSecret");
    r.body = b"DBInstanceId=rm-evil".to_vec();
    assert_eq!(
        v3_check(&r, "testSecret").unwrap_err(),
        ApiError::ContentSha256Mismatch
    );
    assert_eq!(
        ApiError::ContentSha256Mismatch.code(),
        "SignatureDoesNotMatch"
    );
}

#[test]
fn v3_incomplete_requests() {
    let without = |name: &str| {
        let mut r = v3_request(NODE, "testSecret");
        r.headers.retain(|(k, _)| k != name);
        v3_check(&r, "testSecret").unwrap_err()
    };
    for h in [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        assert_eq!(without(h), ApiError::IncompleteSignature, "{h}");
    }
    // A security-relevant header present but not signed.
    for h in [
        "host",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-action",
        "x-acs-version",
        "x-acs-content-sha256",
    ] {
        let list: Vec<&str> = NODE.iter().copied().filter(|x| *x != h).collect();
        assert_eq!(
            v3_check(&v3_request(&list, "k"), "k").unwrap_err(),
            ApiError::IncompleteSignature,
            "{h}"
        );
    }
    let mut r = v3_request(NODE, "k");
    r.headers.push(("x-acs-security-token".into(), "t".into()));
    assert_eq!(
        v3_check(&r, "k").unwrap_err(),
        ApiError::IncompleteSignature
    );
    let mut r = v3_request(NODE, "k");
    r.headers
        .iter_mut()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1 = "ACS3-HMAC-SHA256 garbage".into();
    assert_eq!(
        v3_check(&r, "k").unwrap_err(),
        ApiError::IncompleteSignature
    );
}

/// The PROTOCOL §3 vector, end to end through `claim` + `verify`.
#[test]
fn v3_protocol_vector_verifies() {
    let query = v3_vector::query();
    let headers: Vec<(String, String)> = [
        ("accept", "application/json"),
        ("host", "127.0.0.1:8080"),
        ("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"),
        ("x-acs-action", "DescribeCrossRegionBackups"),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-credentials-provider", "static_ak"),
        ("x-acs-date", "2024-03-05T03:00:00Z"),
        ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
        ("x-acs-version", "2014-08-15"),
        ("authorization", "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=18764ba83de8e4b77656a0fd77edbe8717a4fb257e5e2e150de7ec8aa01087fe"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let r = V3 {
        query,
        headers,
        body: Vec::new(),
    };
    assert_eq!(
        v3_check(&r, "testSecret").unwrap().access_key_id(),
        "testAK"
    );
    assert!(v3_check(&r, "testSecreT").is_err());
}

/// A body's params count only when `content-type` says so: it must be signed whenever there is
/// a body or the header is sent, or a man in the middle could drop (or add) them.
#[test]
fn v3_content_type_must_be_signed() {
    let mut r = v3_request(NODE, "k");
    r.headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    assert_eq!(
        v3_check(&r, "k").unwrap_err(),
        ApiError::IncompleteSignature
    );
    let mut r = v3_request(NODE, "k");
    r.body = b"CrossBackupId=7".to_vec();
    assert_eq!(
        v3_check(&r, "k").unwrap_err(),
        ApiError::IncompleteSignature
    );
}

/// An AccessKeyId that cannot be one, or an over-long nonce, is refused by `claim` (before the
/// server looks anything up).
#[test]
fn v3_implausible_key_ids_and_long_nonces_are_refused_by_claim() {
    let with_auth = |credential: &str| {
        let mut r = v3_request(NODE, "k");
        let auth = &mut r
            .headers
            .iter_mut()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        *auth = auth.replace("Credential=testAK", &format!("Credential={credential}"));
        r
    };
    let long = "A".repeat(65);
    for bad in [long.as_str(), "LTAI key", "LTAI\u{e9}", "a/b"] {
        let r = with_auth(bad);
        assert_eq!(
            claim(&incoming(&r)).unwrap_err(),
            ApiError::InvalidAccessKeyIdNotFound,
            "{bad}"
        );
    }
    let sixty_four = "A".repeat(64);
    let r = with_auth(&sixty_four);
    // Plausible (and `Credential` is not itself signed): accepted.
    assert_eq!(v3_check(&r, "k").unwrap().access_key_id(), sixty_four);
    let r = with_header(
        v3_request(NODE, "k"),
        "x-acs-signature-nonce",
        &"f".repeat(65),
    );
    assert_eq!(
        v3_check(&r, "k").unwrap_err(),
        ApiError::InvalidParameter("SignatureNonce".into())
    );
    let r = with_header(
        v3_request(NODE, "k"),
        "x-acs-signature-nonce",
        &"f".repeat(64),
    );
    assert!(
        v3_check(&r, "k").is_err_and(|e| e != ApiError::InvalidParameter("SignatureNonce".into()))
    );
}
