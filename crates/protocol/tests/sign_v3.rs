//! Signature v3 (ACS3-HMAC-SHA256) against the vector of PROTOCOL §3.

use xbak_protocol::sign::v3;
use xbak_protocol::RawParams;

mod v3_vector;
use v3_vector::query;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn headers() -> Vec<(String, String)> {
    [
        ("accept-encoding", "identity"),
        ("host", "127.0.0.1:8080"),
        ("x-acs-version", "2014-08-15"),
        ("x-acs-action", "DescribeCrossRegionBackups"),
        (
            "user-agent",
            "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        ),
        ("x-acs-date", "2024-03-05T03:00:00Z"),
        ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
        ("accept", "application/json"),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-credentials-provider", "static_ak"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn python_signed() -> Vec<String> {
    "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version"
        .split(';')
        .map(str::to_owned)
        .collect()
}

const CANONICAL: &str = "POST
/
DBInstanceId=rm-uf6wjk5xxxxxxx&EndTime=2024-03-05T02%3A24%3A37Z&PageNumber=1&PageSize=30&RegionId=cn-hangzhou&StartTime=2024-03-05T02%3A21%3A00Z
accept:application/json
host:127.0.0.1:8080
user-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-action:DescribeCrossRegionBackups
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider:static_ak
x-acs-date:2024-03-05T03:00:00Z
x-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0
x-acs-version:2014-08-15

accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const STS: &str =
    "ACS3-HMAC-SHA256\nc79a92fe0d13e1ab820c4f53a9b252ec74f0e752521cbd3e126ba601603fd51c";
const SIGNATURE: &str = "18764ba83de8e4b77656a0fd77edbe8717a4fb257e5e2e150de7ec8aa01087fe";

#[test]
fn protocol_3_vector_step_by_step() {
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &query(),
        &headers(),
        &python_signed(),
        EMPTY_SHA256,
    );
    assert_eq!(canonical, CANONICAL);
    let sts = v3::string_to_sign(&canonical);
    assert_eq!(sts, STS);
    assert_eq!(v3::sign("testSecret", &sts), SIGNATURE);
    assert_eq!(v3::content_sha256(b""), EMPTY_SHA256);
}

#[test]
fn signed_headers_order_and_duplicates_do_not_matter() {
    let mut signed = python_signed();
    signed.reverse();
    signed.push("host".into());
    let canonical = v3::canonical_request("POST", "/", &query(), &headers(), &signed, EMPTY_SHA256);
    assert_eq!(canonical, CANONICAL);
}

#[test]
fn node_reduced_list_changes_the_canonical_request() {
    let node: Vec<String> = "host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version"
        .split(';')
        .map(str::to_owned)
        .collect();
    let canonical = v3::canonical_request("POST", "/", &query(), &headers(), &node, EMPTY_SHA256);
    assert!(!canonical.contains("accept:") && !canonical.contains("user-agent:"));
    assert!(canonical.contains("\n\nhost;x-acs-action;"));
    assert_ne!(
        v3::sign("testSecret", &v3::string_to_sign(&canonical)),
        SIGNATURE
    );
}

#[test]
fn repeated_header_values_are_trimmed_sorted_and_joined() {
    let headers = vec![
        ("x-acs-b".to_owned(), " 2 ".to_owned()),
        ("X-Acs-B".to_owned(), "1".to_owned()),
    ];
    let canonical = v3::canonical_request(
        "GET",
        "/",
        &RawParams::default(),
        &headers,
        &["x-acs-b".into()],
        "h",
    );
    assert_eq!(canonical, "GET\n/\n\nx-acs-b:1,2\n\nx-acs-b\nh");
}

#[test]
fn query_keys_raw_values_encoded_blanks_kept() {
    let q: RawParams = [("b", "x y*"), ("a", ""), ("c", "~/")]
        .into_iter()
        .collect();
    let canonical = v3::canonical_request("POST", "/", &q, &[], &[], "h");
    assert_eq!(canonical, "POST\n/\na=&b=x%20y%2A&c=~%2F\n\n\nh");
}

#[test]
fn authorization_header_round_trips() {
    let value = v3::authorization_header("testAK", &python_signed(), SIGNATURE);
    assert_eq!(
        value,
        format!(
            "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders={},Signature={SIGNATURE}",
            python_signed().join(";")
        )
    );
    let auth = v3::parse_authorization(&value).unwrap();
    assert_eq!(auth.access_key_id, "testAK");
    assert_eq!(auth.signed_headers, python_signed());
    assert_eq!(auth.signature, SIGNATURE);
}

#[test]
fn authorization_parsing_is_lenient_on_spacing_strict_on_content() {
    let ok = v3::parse_authorization(
        "ACS3-HMAC-SHA256 SignedHeaders=Host;x-acs-date, Signature=ABCD , Credential=ak",
    )
    .unwrap();
    assert_eq!(ok.signed_headers, ["host", "x-acs-date"]);
    assert_eq!(ok.signature, "abcd");
    for bad in [
        "",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 ",
        "ACS3-HMAC-SHA256Credential=a,SignedHeaders=h,Signature=ab",
        "ACS3-HMAC-SHA1 Credential=a,SignedHeaders=h,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=h",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=h,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=h,Signature=xyz",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=h;;x,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=h,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=h,Signature=ab,Extra=1",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=h,Signature",
    ] {
        assert_eq!(v3::parse_authorization(bad), None, "{bad}");
    }
}
