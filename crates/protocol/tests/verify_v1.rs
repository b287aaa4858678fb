//! `claim` + `verify` for signature v1 (RPC HMAC-SHA1), the two-step check the server runs.

mod common;

use common::v1_incoming;
use xbak_protocol::sign::{claim, v1, verify, Claim, IncomingRequest};
use xbak_protocol::{ApiError, RawParams};

/// PROTOCOL §1.1 core capture: a complete, real v1 request.
const CORE_QUERY: &[u8] = b"DBInstanceId=rm-abc123&StartTime=2024-01-01T00%3A00%3A00Z&EndTime=2024-01-31T00%3A00%3A00Z&PageSize=30&Version=2014-08-15&Action=DescribeCrossRegionBackups&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-27T17%3A09%3A31Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=31d44155e5974a708009378c0a1de3c9&AccessKeyId=testAK&Signature=52gd5ZOaICs4xsa4H0brw9PJJyw%3D";

fn v1_check(method: &str, params: &RawParams, secret: &str) -> Result<Claim, ApiError> {
    let req = v1_incoming(method, params);
    let c = claim(&req)?;
    verify(&req, &c, secret)?;
    Ok(c)
}

#[test]
fn v1_good_request_verifies() {
    let params = RawParams::parse_urlencoded(CORE_QUERY);
    let c = v1_check("POST", &params, "testSecret").unwrap();
    assert_eq!(c.access_key_id(), "testAK");
    assert_eq!(c.nonce(), "31d44155e5974a708009378c0a1de3c9");
    assert_eq!(c.timestamp(), "2026-11-27T17:09:31Z");
    assert!(xbak_protocol::time::parse_utc_seconds(c.timestamp()).is_some());
}

/// pop-core POST: params only in the form body, URL is `/`.
#[test]
fn v1_form_body_params_are_signed() {
    let query = RawParams::default();
    let mut params = query.clone();
    params.extend(RawParams::parse_urlencoded(b"AccessKeyId=ak&Action=DescribeCrossRegionBackups&CrossBackupId=7&DBInstanceId=rm-abc123&Format=JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=n1&SignatureVersion=1.0&Timestamp=2026-11-27T17%3A09%3A37Z&Version=2014-08-15"));
    let sig = v1::sign("sk", &v1::string_to_sign("POST", &params));
    params.push("Signature", sig);
    let req = IncomingRequest {
        method: "POST",
        path: "/",
        query: &query,
        params: &params,
        headers: &[],
        body: b"",
    };
    let c = claim(&req).unwrap();
    assert_eq!(verify(&req, &c, "sk"), Ok(()));
    assert!(matches!(
        verify(
            &IncomingRequest {
                method: "GET",
                ..req
            },
            &c,
            "sk"
        ),
        Err(ApiError::SignatureDoesNotMatch { .. })
    ));
}

fn expect_mismatch(result: Result<Claim, ApiError>, method: &str, params: &RawParams) {
    let err = result.unwrap_err();
    let sts = v1::string_to_sign(method, params);
    assert_eq!(
        err,
        ApiError::SignatureDoesNotMatch {
            string_to_sign: sts.clone()
        }
    );
    assert_eq!(
        (err.code().as_str(), err.http_status()),
        ("SignatureDoesNotMatch", 400)
    );
    // What aliyun-python-sdk-core does: `message.split(':')[1] == string_to_sign`.
    let message = err.message();
    let parts: Vec<&str> = message.split(':').collect();
    assert_eq!(parts.len(), 2, "{message}");
    assert_eq!(parts[1], sts);
    assert!(message.starts_with(
        "Specified signature is not matched with our calculation. server string to sign is:"
    ));
}

#[test]
fn v1_tampered_param_is_rejected_with_the_servers_string_to_sign() {
    let mut params = RawParams::parse_urlencoded(CORE_QUERY);
    params.0[0].1 = "rm-other".into();
    expect_mismatch(v1_check("POST", &params, "testSecret"), "POST", &params);
}

#[test]
fn v1_wrong_secret_and_wrong_method_are_rejected() {
    let params = RawParams::parse_urlencoded(CORE_QUERY);
    expect_mismatch(v1_check("POST", &params, "otherSecret"), "POST", &params);
    expect_mismatch(v1_check("GET", &params, "testSecret"), "GET", &params);
}

#[test]
fn v1_missing_and_invalid_pieces() {
    let base = RawParams::parse_urlencoded(CORE_QUERY);
    let without = |key: &str, blank: bool| -> RawParams {
        base.iter()
            .filter_map(|(k, v)| match (k == key, blank) {
                (true, true) => Some((k, "")),
                (true, false) => None,
                _ => Some((k, v)),
            })
            .collect()
    };
    for (key, blank) in [
        ("Signature", false),
        ("AccessKeyId", true),
        ("SignatureMethod", false),
        ("SignatureVersion", true),
        ("SignatureNonce", false),
        ("Timestamp", true),
    ] {
        let err = v1_check("POST", &without(key, blank), "testSecret").unwrap_err();
        assert_eq!(err.code(), format!("Missing{key}"));
        assert_eq!(
            err.message(),
            format!("{key} is mandatory for this action.")
        );
        assert_eq!(err.http_status(), 400);
    }
    for (key, value) in [
        ("SignatureMethod", "HMAC-SHA256"),
        ("SignatureVersion", "2.0"),
    ] {
        let params: RawParams = base
            .iter()
            .map(|(k, v)| (k, if k == key { value } else { v }))
            .collect();
        assert_eq!(
            v1_check("POST", &params, "testSecret").unwrap_err(),
            ApiError::InvalidParameter(key.into())
        );
    }
}

#[test]
fn timestamp_parsing_is_strict() {
    assert!(xbak_protocol::time::parse_utc_seconds("2026-11-27T17:09:31Z").is_some());
    assert!(xbak_protocol::time::parse_utc_seconds("2026-11-27T17:09Z").is_none());
    assert!(xbak_protocol::time::parse_utc_seconds("2026-11-27 17:09:31").is_none());
}

#[test]
fn non_acs3_authorization_falls_back_to_v1() {
    let params = RawParams::parse_urlencoded(CORE_QUERY);
    let headers = vec![("authorization".to_owned(), "Bearer x".to_owned())];
    let req = IncomingRequest {
        method: "POST",
        path: "/",
        query: &params,
        params: &params,
        headers: &headers,
        body: b"",
    };
    assert!(matches!(claim(&req), Ok(Claim::V1 { .. })));
}
