//! Signature v1 (RPC HMAC-SHA1) against the vectors and captures of PROTOCOL §1.1 and §2.2.

mod common;

use common::{reference_string_to_sign, Rng};
use xbak_protocol::sign::v1;
use xbak_protocol::RawParams;

/// PROTOCOL §2.2: params as the real core SDK sent them (pinned time and nonce).
fn vector_params() -> RawParams {
    [
        ("DBInstanceId", "rm-uf6wjk5xxxxxxx"),
        ("StartTime", "2024-03-05T02:21:00Z"),
        ("EndTime", "2024-03-05T02:24:37Z"),
        ("PageSize", "30"),
        ("PageNumber", "1"),
        ("Version", "2014-08-15"),
        ("Action", "DescribeCrossRegionBackups"),
        ("Format", "JSON"),
        ("RegionId", "cn-hangzhou"),
        ("Timestamp", "2024-03-05T03:00:00Z"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureType", ""),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("AccessKeyId", "testAK"),
    ]
    .into_iter()
    .collect()
}

const VECTOR_STS: &str = "POST&%2F&AccessKeyId%3DtestAK%26Action%3DDescribeCrossRegionBackups%26DBInstanceId%3Drm-uf6wjk5xxxxxxx%26EndTime%3D2024-03-05T02%253A24%253A37Z%26Format%3DJSON%26PageNumber%3D1%26PageSize%3D30%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureType%3D%26SignatureVersion%3D1.0%26StartTime%3D2024-03-05T02%253A21%253A00Z%26Timestamp%3D2024-03-05T03%253A00%253A00Z%26Version%3D2014-08-15";

#[test]
fn protocol_2_2_vector_string_to_sign_and_signature() {
    let params = vector_params();
    let sts = v1::string_to_sign("POST", &params);
    assert_eq!(sts, VECTOR_STS);
    assert_eq!(v1::sign("testSecret", &sts), "n1wEA6em1F2+bjjeRIMSXdVzJBE=");
}

#[test]
fn signature_param_is_excluded_and_order_does_not_matter() {
    let mut params = vector_params();
    params.push("Signature", "whatever");
    params.0.reverse();
    assert_eq!(v1::string_to_sign("POST", &params), VECTOR_STS);
}

#[test]
fn method_is_part_of_the_string() {
    let sts = v1::string_to_sign("GET", &vector_params());
    assert!(sts.starts_with("GET&%2F&AccessKeyId%3DtestAK"));
    assert_ne!(v1::sign("testSecret", &sts), "n1wEA6em1F2+bjjeRIMSXdVzJBE=");
}

/// PROTOCOL §1.1, core (dialect 1), captured in full: its signature must verify as sent.
#[test]
fn captured_core_query_verifies() {
    let query = b"DBInstanceId=rm-abc123&StartTime=2024-01-01T00%3A00%3A00Z&EndTime=2024-01-31T00%3A00%3A00Z&PageSize=30&Version=2014-08-15&Action=DescribeCrossRegionBackups&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-27T17%3A09%3A31Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=31d44155e5974a708009378c0a1de3c9&AccessKeyId=testAK&Signature=52gd5ZOaICs4xsa4H0brw9PJJyw%3D";
    let params = RawParams::parse_urlencoded(query);
    assert_eq!(params.get("SignatureType"), Some(""));
    assert_eq!(
        params.get("Signature"),
        Some("52gd5ZOaICs4xsa4H0brw9PJJyw=")
    );
    let sts = v1::string_to_sign("POST", &params);
    assert_eq!(v1::sign("testSecret", &sts), "52gd5ZOaICs4xsa4H0brw9PJJyw=");
}

/// PROTOCOL §1.1, tea-v2 (dialect 3). The capture's nonce is elided, so this checks decoding:
/// `+` and `%20` decode alike, a blank `SignatureType=` survives, and the decoded params
/// re-encode (RFC 3986) and decode back to the same pairs and the same signature.
#[test]
fn captured_tea_v2_query_round_trips() {
    let captured = "Action=DescribeCrossRegionBackups&Format=json&Version=2014-08-15&Timestamp=2026-11-27T17%3A09%3A31Z&SignatureNonce=f2c8%E2%80%A6&DBInstanceId=rm-abc123&EndTime=2024-01-31T00%3A00%3A00Z&PageSize=30&RegionId=cn-hangzhou&StartTime=2024-01-01T00%3A00%3A00Z&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=Gdr9m%2BQFTWabgVBwj%2FL9HqS8lWI%3D";
    let params = RawParams::parse_urlencoded(captured.as_bytes());
    assert_eq!(params.len(), 14);
    assert_eq!(params.get("Format"), Some("json"));
    assert_eq!(params.get("Timestamp"), Some("2026-11-27T17:09:31Z"));
    assert_eq!(params.get("SignatureNonce"), Some("f2c8…"));
    assert_eq!(
        params.get("Signature"),
        Some("Gdr9m+QFTWabgVBwj/L9HqS8lWI=")
    );

    let reencoded: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                xbak_protocol::encode::rfc3986(k),
                xbak_protocol::encode::rfc3986(v)
            )
        })
        .collect();
    assert_eq!(
        RawParams::parse_urlencoded(reencoded.join("&").as_bytes()),
        params
    );

    // Tea builds URLs with urlencode (`+` for space); core with `%20`. Same params, same signature.
    let with_plus = format!("{captured}&CrossBackupRegion=cn+shanghai&SignatureType=");
    let with_pct = format!("{captured}&CrossBackupRegion=cn%20shanghai&SignatureType=");
    let a = RawParams::parse_urlencoded(with_plus.as_bytes());
    let b = RawParams::parse_urlencoded(with_pct.as_bytes());
    assert_eq!(a, b);
    assert_eq!(a.get("CrossBackupRegion"), Some("cn shanghai"));
    assert_eq!(a.get("SignatureType"), Some(""));
    let sts = v1::string_to_sign("POST", &a);
    assert!(sts.contains("CrossBackupRegion%3Dcn%2520shanghai"), "{sts}");
    assert!(sts.contains("SignatureType%3D%26"), "{sts}");
    assert_eq!(
        v1::sign("s", &sts),
        v1::sign("s", &v1::string_to_sign("POST", &b))
    );
}

/// Encoding details every SDK agrees on: space `%20`, `*` `%2A`, `~` kept, UTF-8 bytes.
#[test]
fn special_characters_in_values() {
    let params: RawParams = [("K", "a b*c~d/é")].into_iter().collect();
    assert_eq!(
        v1::string_to_sign("GET", &params),
        "GET&%2F&K%3Da%2520b%252Ac~d%252F%25C3%25A9"
    );
}

#[test]
fn string_to_sign_equals_the_step_by_step_reference() {
    // Keys and values from an alphabet of kept, encoded and multi-byte characters, with keys
    // that repeat and share prefixes, so sorting meets every case (a key repeated with
    // different values, `%`-encoded bytes against kept ones at the first difference).
    let alphabet = [
        "a", "b", "Z", "0", "-", ".", "_", "~", " ", "%", "+", "=", "&", "*", "/", "é", "中", "😀",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let word = |rng: &mut Rng, max: usize| -> String {
        (0..rng.below(max))
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect()
    };
    for _ in 0..2000 {
        let mut params = RawParams::default();
        for _ in 0..rng.below(12) {
            let key = if rng.below(4) == 0 {
                v1::SIGNATURE_PARAM.to_owned()
            } else {
                word(&mut rng, 4)
            };
            let value = word(&mut rng, 5);
            params.push(key, value);
        }
        for method in ["GET", "POST"] {
            assert_eq!(
                v1::string_to_sign(method, &params),
                reference_string_to_sign(method, &params),
                "{params:?}"
            );
        }
    }
    assert_eq!(
        reference_string_to_sign("POST", &vector_params()),
        VECTOR_STS
    );
}
