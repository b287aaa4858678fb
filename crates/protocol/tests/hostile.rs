//! Hostile input: decoding and validation never panic on random, oversized or non-UTF-8 bytes.

mod common;

use common::{reference_parse, Rng};
use xbak_protocol::actions::describe_cross_region_backups::DescribeCrossRegionBackupsParams as P;
use xbak_protocol::sign::{claim, verify, IncomingRequest};
use xbak_protocol::time::parse_utc_seconds;
use xbak_protocol::{Format, RawParams};

const KEYS: &[&str] = &[
    "DBInstanceId",
    "RegionId",
    "CrossBackupId",
    "StartTime",
    "EndTime",
    "PageSize",
    "PageNumber",
    "BackupId",
    "CrossBackupRegion",
    "Signature",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Format",
];

#[test]
fn decoding_equals_the_crates() {
    // Every byte alone, after `%` and after `%4` (escapes whole, cut short or with a non-hex
    // digit), then random bytes biased towards `%`, `+`, hex digits and broken UTF-8.
    let mut inputs: Vec<Vec<u8>> = (0..=255u8)
        .flat_map(|b| {
            [
                vec![b],
                vec![b'%', b],
                vec![b'%', b'4', b],
                vec![b'%', b, b'1'],
            ]
        })
        .collect();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    inputs.extend((0..20_000).map(|_| rng.bytes(40)));
    for input in inputs {
        assert_eq!(
            RawParams::parse_urlencoded(&input),
            reference_parse(&input),
            "{input:?}"
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let input = rng.bytes(200);
        let params = RawParams::parse_urlencoded(&input);
        let _ = P::from_params(&params);
        let _ = Format::negotiate(params.get("Format"), None);
        let req = IncomingRequest {
            method: "POST",
            path: "/",
            query: &params,
            params: &params,
            headers: &[],
            body: &input,
        };
        if let Ok(c) = claim(&req) {
            let _ = verify(&req, &c, "secret");
            let _ = parse_utc_seconds(c.timestamp());
        }
    }
}

#[test]
fn random_values_for_known_keys_never_panic() {
    let mut rng = Rng(42);
    let mut outcomes = std::collections::BTreeSet::new();
    for _ in 0..20_000 {
        let mut query = Vec::new();
        for _ in 0..rng.below(10) {
            query.extend_from_slice(KEYS[rng.below(KEYS.len())].as_bytes());
            query.push(b'=');
            query.extend(rng.bytes(24));
            query.push(b'&');
        }
        let params = RawParams::parse_urlencoded(&query);
        outcomes.insert(
            P::from_params(&params)
                .map(|_| "ok".to_owned())
                .unwrap_or_else(|e| e.code()),
        );
        let _ = claim(&IncomingRequest {
            method: "GET",
            path: "/",
            query: &params,
            params: &params,
            headers: &[],
            body: b"",
        });
    }
    assert!(outcomes.len() > 3, "generator too weak: {outcomes:?}");
}

#[test]
fn random_v3_headers_never_panic() {
    let mut rng = Rng(7);
    let empty = RawParams::default();
    for _ in 0..5_000 {
        let junk = String::from_utf8_lossy(&rng.bytes(80)).into_owned();
        let auth = match rng.below(3) {
            0 => format!("ACS3-HMAC-SHA256 {junk}"),
            1 => {
                format!("ACS3-HMAC-SHA256 Credential={junk},SignedHeaders=host;{junk},Signature=ab")
            }
            _ => junk.clone(),
        };
        let headers = vec![
            ("authorization".to_owned(), auth),
            ("x-acs-date".to_owned(), junk.clone()),
            ("x-acs-signature-nonce".to_owned(), junk.clone()),
            ("x-acs-content-sha256".to_owned(), junk),
            ("host".to_owned(), "h".to_owned()),
        ];
        let req = IncomingRequest {
            method: "POST",
            path: "/",
            query: &empty,
            params: &empty,
            headers: &headers,
            body: b"",
        };
        if let Ok(c) = claim(&req) {
            let _ = verify(&req, &c, "k");
        }
    }
}

#[test]
fn oversized_inputs() {
    let big = vec![b'%'; 1 << 20];
    assert_eq!(
        RawParams::parse_urlencoded(&big).get(&"%".repeat(1 << 20)),
        Some("")
    );
    let many = "a=1&".repeat(100_000);
    assert_eq!(RawParams::parse_urlencoded(many.as_bytes()).len(), 100_000);
    let long_value = format!(
        "DBInstanceId={}&RegionId=cn-hangzhou&CrossBackupId=1&PageNumber={}",
        "x".repeat(1 << 20),
        "9".repeat(100_000)
    );
    assert!(P::from_params(&RawParams::parse_urlencoded(long_value.as_bytes())).is_err());
    let invalid_utf8: Vec<u8> = (0..=255u8).cycle().take(1 << 16).collect();
    let _ = P::from_params(&RawParams::parse_urlencoded(&invalid_utf8));
}
