//! The wire edge's per-request costs on the API hot path: signature checks (v1 and v3, `claim` +
//! `verify` as the server runs them), decoding the typed params, rendering a 30-item page.
//!
//! ```text
//! cargo bench -p xbak-protocol --bench wire                 # full run
//! cargo bench -p xbak-protocol --bench wire -- --quick      # a quick estimate
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsParams, DescribeCrossRegionBackupsResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::encode::rfc3986;
use xbak_protocol::sign::{claim, v1, v3, verify, IncomingRequest};
use xbak_protocol::{Format, RawParams};

const AK: &str = "LTAI5tBenchAccessKey00001";
const SECRET: &str = "benchSecretbenchSecretbenchSe";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The action's own parameters, in both requests.
const ACTION_PARAMS: [(&str, &str); 6] = [
    ("DBInstanceId", "rm-bp1xxxxxxxxxxxxx"),
    ("RegionId", "cn-hangzhou"),
    ("StartTime", "2026-11-01T00:00:00Z"),
    ("EndTime", "2026-11-28T00:00:00Z"),
    ("PageSize", "30"),
    ("PageNumber", "1"),
];

/// A v1 GET as aliyun-python-sdk-core sends it, decoded from its query string as the server does.
fn v1_params() -> RawParams {
    let mut p: RawParams = [
        ("Action", "DescribeCrossRegionBackups"),
        ("Version", "2014-08-15"),
        ("Format", "JSON"),
        ("AccessKeyId", AK),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureType", ""),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "6a1f3c2d9b0e4f5a8c7d6e5f4a3b2c1d"),
        ("Timestamp", "2026-11-27T10:15:00Z"),
    ]
    .into_iter()
    .chain(ACTION_PARAMS)
    .collect();
    let sig = v1::sign(SECRET, &v1::string_to_sign("GET", &p));
    p.push("Signature", sig);
    // Round-trip through the query string, as the server sees it.
    let q: Vec<String> = p
        .iter()
        .map(|(k, v)| format!("{k}={}", rfc3986(v)))
        .collect();
    RawParams::parse_urlencoded(q.join("&").as_bytes())
}

/// A v3 POST as the Tea Python SDK sends it (it signs every header it sets).
fn v3_request() -> (RawParams, Vec<(String, String)>) {
    let query: RawParams = ACTION_PARAMS.into_iter().collect();
    let mut headers: Vec<(String, String)> = [
        ("host", "127.0.0.1:8080"),
        ("x-acs-version", "2014-08-15"),
        ("x-acs-action", "DescribeCrossRegionBackups"),
        (
            "user-agent",
            "AlibabaCloud (Linux; x86_64) Python/3.11.2 Core/0.3.3 TeaDSL/1",
        ),
        ("x-acs-date", "2026-11-27T10:15:00Z"),
        ("x-acs-signature-nonce", "2d21a66ea3d682487c1f6fd37eda3909"),
        ("accept", "application/json"),
        ("x-acs-content-sha256", EMPTY_SHA256),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    signed.sort();
    let canonical = v3::canonical_request("POST", "/", &query, &headers, &signed, EMPTY_SHA256);
    let sig = v3::sign(SECRET, &v3::string_to_sign(&canonical));
    headers.push((
        "authorization".into(),
        v3::authorization_header(AK, &signed, &sig),
    ));
    (query, headers)
}

/// A full page shaped like xbak's own answers (signed download links included).
fn page_of_30() -> DescribeCrossRegionBackupsResponse {
    let items = (0..30)
        .map(|n| {
            let file = format!("bulk_rm-bench42_{:08}_qp.xb", 9999 - n);
            CrossRegionBackupItem {
                backup_end_time: "2021-02-21T15:10:00Z".into(),
                backup_method: "P".into(),
                backup_set_scale: 0,
                backup_set_status: 0,
                backup_start_time: "2021-02-21T15:00:00Z".into(),
                backup_type: "F".into(),
                category: "HighAvailability".into(),
                consistent_time: "2021-02-21T15:10:00Z".into(),
                cross_backup_download_link: format!(
                    "http://127.0.0.1:8080/download/cn-shanghai/copies/rm-bench42/{file}?OSSAccessKeyId=xbak-link-1&Expires=1795000000&Signature=q2Zr5Jx1xWvKj0m7v9mJ8m0d1Yw%3D"
                ),
                cross_backup_id: 424_242 + n,
                cross_backup_region: "cn-shanghai".into(),
                cross_backup_set_file: file,
                cross_backup_set_location: "oss".into(),
                cross_backup_set_size: 1_048_576,
                db_instance_storage_type: "ssd".into(),
                engine: "MySQL".into(),
                engine_version: "5.7".into(),
                instance_id: 10_000_042,
                restore_regions: vec!["cn-hangzhou".into(), "cn-shanghai".into()],
            }
        })
        .collect::<Vec<_>>();
    // The first of 10,000 sets, paged by 30.
    DescribeCrossRegionBackupsResponse {
        page_record_count: items.len() as u32,
        items,
        page_number: 1,
        total_record_count: 10_000,
        start_time: Some("2020-01-01T00:00:00Z".into()),
        end_time: Some("2030-01-01T00:00:00Z".into()),
        request_id: "60912B41-7579-4B5D-B289-8856030F0A6A".into(),
        region_id: "cn-hangzhou".into(),
    }
}

/// The request as the server sees it (the body empty), checked to verify before it is timed.
fn verified<'a>(
    method: &'a str,
    query: &'a RawParams,
    headers: &'a [(String, String)],
) -> IncomingRequest<'a> {
    let req = IncomingRequest {
        method,
        path: "/",
        query,
        params: query,
        headers,
        body: b"",
    };
    let cl = claim(&req).expect("claim");
    verify(&req, &cl, SECRET).expect("verifies");
    req
}

fn signatures(c: &mut Criterion) {
    let params = v1_params();
    let (query, headers) = v3_request();
    for (name, req) in [
        (
            "v1 claim+verify (15 params, HMAC-SHA1)",
            verified("GET", &params, &[]),
        ),
        (
            "v3 claim+verify (8 signed headers, ACS3-HMAC-SHA256)",
            verified("POST", &query, &headers),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let cl = claim(black_box(&req)).unwrap();
                verify(&req, &cl, black_box(SECRET)).unwrap()
            })
        });
    }
}

fn params(c: &mut Criterion) {
    let params = v1_params();
    c.bench_function("DescribeCrossRegionBackupsParams::from_params", |b| {
        b.iter(|| DescribeCrossRegionBackupsParams::from_params(black_box(&params)).unwrap())
    });
    let mut query = Vec::new();
    for (k, v) in params.iter() {
        query.push(format!("{k}={}", rfc3986(v)));
    }
    let query = query.join("&");
    c.bench_function("RawParams::parse_urlencoded (v1 query string)", |b| {
        b.iter(|| RawParams::parse_urlencoded(black_box(query.as_bytes())))
    });
}

fn rendering(c: &mut Criterion) {
    let page = page_of_30();
    let mut g = c.benchmark_group("render 30 items");
    for (name, format) in [("JSON", Format::Json), ("XML", Format::Xml)] {
        g.throughput(Throughput::Bytes(render(&page, format).len() as u64));
        g.bench_function(name, |b| b.iter(|| render(black_box(&page), format)));
    }
    g.finish();
}

criterion_group!(benches, signatures, params, rendering);
criterion_main!(benches);
