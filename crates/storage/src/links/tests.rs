//! Link signing against OSS's published example and independent vectors, then every way a link
//! can be tampered with.

use super::*;

const NOW: i64 = 1_700_000_000;

fn signer() -> LinkSigner {
    LinkSigner::new(
        "LTAIlink".into(),
        "s3cr3t-link".into(),
        "https://xbak.example.com/".into(),
    )
}

/// Splits a signed URL into (region, decoded key, key id, expires, decoded signature).
fn parts(url: &str) -> (String, String, String, String, String) {
    let rest = url
        .strip_prefix("https://xbak.example.com/download/")
        .expect("prefix");
    let (path, query) = rest.split_once('?').unwrap();
    let (region, key) = path.split_once('/').unwrap();
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    let mut q = query.split('&').map(|kv| kv.split_once('=').unwrap());
    let (a, e, s) = (q.next().unwrap(), q.next().unwrap(), q.next().unwrap());
    assert_eq!((a.0, e.0, s.0), ("OSSAccessKeyId", "Expires", "Signature"));
    (
        decode(region),
        decode(key),
        decode(a.1),
        decode(e.1),
        decode(s.1),
    )
}

#[test]
fn matches_the_oss_documentation_example() {
    // OSS API reference, "Add a signature to a URL": bucket oss-example, object oss-api.pdf.
    let s = LinkSigner::new(
        "44CF9590006BF252F707".into(),
        "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV".into(),
        "http://h".into(),
    );
    assert_eq!(
        s.sign("oss-example", "oss-api.pdf", 1141889120),
        "http://h/download/oss-example/oss-api.pdf?OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D"
    );
}

#[test]
fn matches_independent_vectors() {
    // Computed with Python's hmac/hashlib/base64 and urllib.parse.quote(safe="/-._~").
    let s = signer();
    assert_eq!(
        s.sign("cn-hangzhou", "cross/rm-bp1/cn-hangzhou_rm-bp1_hins1_data_20190611125201_qp.xb", 1560000000),
        "https://xbak.example.com/download/cn-hangzhou/cross/rm-bp1/cn-hangzhou_rm-bp1_hins1_data_20190611125201_qp.xb\
         ?OSSAccessKeyId=LTAIlink&Expires=1560000000&Signature=oKpwCAjPI2h734AP7HhgiIZKC1I%3D"
    );
    assert_eq!(
        s.sign("cn-shanghai", "cross/rm 1/a+b=c&d/é.xb", 1700000000),
        "https://xbak.example.com/download/cn-shanghai/cross/rm%201/a%2Bb%3Dc%26d/%C3%A9.xb\
         ?OSSAccessKeyId=LTAIlink&Expires=1700000000&Signature=4ej6DkDCdGFQryDAAxO%2BU68NvqA%3D"
    );
}

#[test]
fn a_signed_link_verifies_until_it_expires() {
    let s = signer();
    for key in ["cross/rm-bp1/f_qp.xb", "cross/rm 1/a+b=c&d/é.xb"] {
        let (region, k, id, exp, sig) = parts(&s.sign("cn-hangzhou", key, NOW + 60));
        assert_eq!((region.as_str(), k.as_str()), ("cn-hangzhou", key));
        assert_eq!(s.verify(&region, &k, &id, &exp, &sig, NOW), Ok(()));
        assert_eq!(
            s.verify(&region, &k, &id, &exp, &sig, NOW + 60),
            Ok(()),
            "valid through its last second"
        );
        assert_eq!(
            s.verify(&region, &k, &id, &exp, &sig, NOW + 61),
            Err(LinkError::Expired)
        );
    }
}

#[test]
fn tampering_with_any_part_is_refused() {
    let s = signer();
    let (region, key, id, exp, sig) = parts(&s.sign("cn-hangzhou", "cross/rm-1/f.xb", NOW + 60));
    let mismatch = Err(LinkError::SignatureMismatch);
    assert_eq!(
        s.verify("cn-beijing", &key, &id, &exp, &sig, NOW),
        mismatch,
        "region"
    );
    assert_eq!(
        s.verify(&region, "cross/rm-1/g.xb", &id, &exp, &sig, NOW),
        mismatch,
        "key"
    );
    assert_eq!(
        s.verify(&region, "cross/rm-1/f.xb/", &id, &exp, &sig, NOW),
        mismatch,
        "key suffix"
    );
    assert_eq!(
        s.verify(&region, &key, "LTAIother", &exp, &sig, NOW),
        mismatch,
        "key id"
    );
    assert_eq!(
        s.verify(&region, &key, &id, &(NOW + 3600).to_string(), &sig, NOW),
        mismatch,
        "expiry extended"
    );
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        s.verify(
            &region,
            &key,
            &id,
            &exp,
            std::str::from_utf8(&flipped).unwrap(),
            NOW
        ),
        mismatch,
        "signature"
    );
    let other = LinkSigner::new(
        "LTAIlink".into(),
        "another-secret".into(),
        "https://xbak.example.com".into(),
    );
    assert_eq!(
        other.verify(&region, &key, &id, &exp, &sig, NOW),
        mismatch,
        "secret"
    );
    // A tampered link that is also expired is reported as tampered.
    assert_eq!(
        s.verify("cn-beijing", &key, &id, &exp, &sig, NOW + 3600),
        mismatch
    );
}

#[test]
fn malformed_values_are_refused() {
    let s = signer();
    let (region, key, id, exp, sig) = parts(&s.sign("cn-hangzhou", "k", NOW + 60));
    for bad_exp in ["", "-1", "12a", "1e9", " 1", "99999999999999999999"] {
        assert_eq!(
            s.verify(&region, &key, &id, bad_exp, &sig, NOW),
            Err(LinkError::Malformed),
            "{bad_exp:?}"
        );
    }
    for bad_sig in ["", "!!!!", "AAAA", &format!("{sig}AAAA"), &sig[..27]] {
        assert_eq!(
            s.verify(&region, &key, &id, &exp, bad_sig, NOW),
            Err(LinkError::Malformed),
            "{bad_sig:?}"
        );
    }
}

#[test]
fn the_secret_is_never_printed() {
    let printed = format!("{:?}", signer());
    assert!(
        !printed.contains("s3cr3t") && printed.contains("LTAIlink"),
        "{printed}"
    );
}

#[test]
fn decimal_renders_every_i64() {
    let mut buf = [0u8; 20];
    for v in [0, 7, -7, 1_141_889_120, i64::MAX, i64::MIN] {
        assert_eq!(decimal(v, &mut buf), v.to_string());
    }
}
