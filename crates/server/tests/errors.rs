//! Every refusal through the whole app: Alibaba's Code, HTTP status and a RequestId, in the caller's format.

use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, Utc};
use xbak_testkit::*;

/// Codes several refusals share.
const NOT_FOUND: &str = "InvalidDBInstance.NotFound";
const BAD_FORMAT: &str = "InvalidParameters.Format";

async fn expect(f: &Fixture, req: Request<Body>, status: u16, code: &str) -> serde_json::Value {
    let (got, ct, body, headers) = f.send(req).await;
    let text = String::from_utf8_lossy(&body).to_string();
    assert_eq!(got, status, "{code}: {text}");
    assert_eq!(ct, "application/json;charset=utf-8", "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(v["Code"], code, "{text}");
    let rid = v["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(
        headers.get("x-acs-request-id").unwrap().to_str().unwrap(),
        rid
    );
    assert!(!v["Message"].as_str().unwrap().is_empty());
    v
}

#[tokio::test]
async fn parameter_errors_follow_the_catalogue() {
    let f = Fixture::new(1).await;
    let ok_window = [
        ("StartTime", "2024-03-01T00:00:00Z"),
        ("EndTime", "2024-03-02T00:00:00Z"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![("DBInstanceId", INSTANCE), ("RegionId", SRC)];
        p.extend_from_slice(&ok_window);
        for (k, v) in extra {
            p.retain(|(kk, _)| kk != k);
            p.push((k, v));
        }
        p
    };
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let mut cases: Vec<Case> = vec![
        (
            vec![("RegionId", SRC), ("CrossBackupId", "1")],
            400,
            "MissingDBInstanceId",
        ),
        (
            vec![("DBInstanceId", INSTANCE), ("CrossBackupId", "1")],
            400,
            "MissingRegionId",
        ),
        (
            vec![("DBInstanceId", INSTANCE), ("RegionId", SRC)],
            400,
            "ParameterAbsence",
        ),
        (
            vec![
                ("DBInstanceId", INSTANCE),
                ("RegionId", SRC),
                ("StartTime", "2024-03-01T00:00:00Z"),
            ],
            400,
            "ParameterAbsence",
        ),
    ];
    // One parameter changed in an otherwise valid request.
    let changed = [
        ("DBInstanceId", "", 400, "MissingDBInstanceId"),
        ("StartTime", "2024-03-01", 400, "InvalidStartTime.Format"),
        ("EndTime", "yesterday", 400, "InvalidEndTime.Format"),
        (
            "EndTime",
            "2024-02-01T00:00:00Z",
            400,
            "InvalidStartTimeAndEndTime.Malformed",
        ),
        ("PageSize", "10", 400, BAD_FORMAT),
        ("PageSize", "abc", 400, BAD_FORMAT),
        ("PageNumber", "0", 400, BAD_FORMAT),
        ("PageNumber", "99999999999", 400, BAD_FORMAT),
        ("CrossBackupId", "x1", 400, BAD_FORMAT),
        ("RegionId", "CN HANGZHOU", 400, "InvalidRegion.Format"),
        ("DBInstanceId", "rm-nosuch", 404, NOT_FOUND),
        ("DBInstanceId", "rm-other0001", 404, NOT_FOUND),
        ("RegionId", "cn-beijing", 404, NOT_FOUND),
        ("DBInstanceId", "rm-mysql8", 403, "IncorrectDBInstanceType"),
        ("Action", "DescribeNothing", 404, "InvalidAction.NotFound"),
        ("Version", "2099-01-01", 400, "InvalidVersion"),
    ];
    cases.extend(
        changed
            .into_iter()
            .map(|(k, v, status, code)| (with(&[(k, v)]), status, code)),
    );
    for (params, status, code) in cases {
        expect(&f, f.v1_get(&params), status, code).await;
    }
}

/// A listing of set 1 of the seeded instance: what the signature tests sign.
const SET_1: [(&str, &str); 3] = [
    ("DBInstanceId", INSTANCE),
    ("RegionId", SRC),
    ("CrossBackupId", "1"),
];

/// A `method` request with the query string `q` as it stands.
fn raw(method: &str, q: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("/?{q}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn authentication_errors() {
    let f = Fixture::new(1).await;
    let p = SET_1;
    let now = Utc::now();
    let signed = |ak: &str, secret: &str, at| v1_request("GET", ak, secret, &p, at);
    // (request, HTTP status, Code); the message of the wrong secret's answer is checked after.
    let cases = [
        (
            signed("LTAInosuchkey", "x", now),
            404,
            "InvalidAccessKeyId.NotFound",
        ),
        (
            signed(&f.ak, &f.secret, now - Duration::minutes(20)),
            400,
            "InvalidTimeStamp.Expired",
        ),
        (
            signed(&f.ak, &f.secret, now + Duration::minutes(20)),
            400,
            "InvalidTimeStamp.Expired",
        ),
        (
            f.v1_get(&[p[0], p[1], p[2], ("Timestamp", "now")]),
            400,
            "InvalidTimeStamp.Format",
        ),
        // Signed as POST, sent as GET.
        (
            raw("GET", &v1_params("POST", &f.ak, &f.secret, &p, now)),
            400,
            "SignatureDoesNotMatch",
        ),
        // Tampered after signing.
        (
            raw(
                "GET",
                &v1_params("GET", &f.ak, &f.secret, &p, now)
                    .replace("CrossBackupId=1", "CrossBackupId=2"),
            ),
            400,
            "SignatureDoesNotMatch",
        ),
        // PUT is not an RPC method.
        (
            raw("PUT", &v1_params("PUT", &f.ak, &f.secret, &p, now)),
            400,
            "UnsupportedHTTPMethod",
        ),
    ];
    for (req, status, code) in cases {
        expect(&f, req, status, code).await;
    }

    let v = expect(
        &f,
        signed(&f.ak, "wrong-secret", now),
        400,
        "SignatureDoesNotMatch",
    )
    .await;
    let msg = v["Message"].as_str().unwrap();
    let sts = msg.split(':').nth(1).unwrap();
    assert!(sts.starts_with("GET&%2F&AccessKeyId%3D"), "{msg}");

    // No signature at all.
    let (status, _, body, _) = f
        .send(raw("GET", "Action=DescribeCrossRegionBackups&Version=2014-08-15&Format=JSON&DBInstanceId=rm-test0001&RegionId=cn-hangzhou&CrossBackupId=1"))
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // The same signed request twice: the second is a replay.
    let q = v1_params("GET", &f.ak, &f.secret, &p, now);
    let (status, _, _, _) = f.send(raw("GET", &q)).await;
    assert_eq!(status, 200);
    expect(&f, raw("GET", &q), 400, "SignatureNonceUsed").await;
}

#[tokio::test]
async fn replays_are_refused_after_a_restart() {
    let f = Fixture::new(1).await;
    let q = v1_params("GET", &f.ak, &f.secret, &SET_1, Utc::now());
    assert_eq!(f.send(raw("GET", &q)).await.0, 200);

    // A new server on the same catalog.
    let links = xbak_storage::links::LinkSigner::new("k".into(), "s".into(), "http://x".into());
    let restarted = xbak_server::AppState::new(
        xbak_server::ServerConfig::default(),
        f.catalog.clone(),
        f.regions.clone(),
        links,
    )
    .await
    .unwrap();
    let (status, _, body, _) = send_to(&restarted, raw("GET", &q)).await;
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Code"], "SignatureNonceUsed");
}

#[tokio::test]
async fn errors_come_back_in_the_callers_format() {
    let f = Fixture::new(1).await;
    let req = v1_request(
        "GET",
        "LTAInosuchkey",
        "x",
        &[
            ("DBInstanceId", INSTANCE),
            ("RegionId", SRC),
            ("Format", "xml"),
        ],
        Utc::now(),
    );
    let (xml, _) = f.send_xml(req, 404).await;
    assert!(
        xml.starts_with("<?xml version='1.0' encoding='UTF-8'?><Error>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Code>InvalidAccessKeyId.NotFound</Code>"),
        "{xml}"
    );

    // No Format and no Accept: XML, Alibaba's documented default.
    f.send_xml(raw("GET", "Action=Nope"), 404).await;
}
