//! The v1 (RPC HMAC-SHA1) verifier: [`sign::claim`] then [`sign::verify`].
//!
//! Input: `secret \n METHOD \n query string` (the corpus holds PROTOCOL §2.2's test vector).
//! Its string-to-sign equals the `percent-encoding` crate's step-by-step one. The request as sent
//! either verifies or is refused with a 4xx error. Then it is re-signed with the secret as the
//! SDKs do, and: the re-signed request verifies; changing one character of the signature, one
//! param's key or value, dropping or adding a param, the method or the secret is always refused
//! with `SignatureDoesNotMatch`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xbak_fuzz::{lines, other_method, reference_string_to_sign, replace_char, v1_incoming, BASE64};
use xbak_protocol::sign::{self, v1, Claim};
use xbak_protocol::{ApiError, RawParams};

fuzz_target!(|data: &[u8]| {
    let Some(([secret, method], query)) = lines(data) else {
        return;
    };
    let received = RawParams::parse_urlencoded(query.as_bytes());
    assert_eq!(
        v1::string_to_sign(method, &received),
        reference_string_to_sign(method, &received)
    );
    let claim = match sign::claim(&v1_incoming(method, &received)) {
        Ok(claim) => claim,
        Err(e) => {
            assert!((400..500).contains(&e.http_status()), "{e:?}");
            return;
        }
    };
    assert!(matches!(claim, Claim::V1 { .. }));
    if let Err(e) = sign::verify(&v1_incoming(method, &received), &claim, secret) {
        assert!(matches!(e, ApiError::SignatureDoesNotMatch { .. }), "{e:?}");
    }

    // Re-signed as the SDKs do: every param but Signature, then the signature last.
    let mut params: RawParams = received
        .iter()
        .filter(|(k, _)| *k != v1::SIGNATURE_PARAM)
        .collect();
    let signature = v1::sign(secret, &v1::string_to_sign(method, &params));
    params.push(v1::SIGNATURE_PARAM, signature.as_str());
    sign::verify(&v1_incoming(method, &params), &claim, secret)
        .expect("a correctly signed request verifies");

    let refused = |method: &str, params: &RawParams, secret: &str, what: &str| match sign::verify(
        &v1_incoming(method, params),
        &claim,
        secret,
    ) {
        Err(ApiError::SignatureDoesNotMatch { .. }) => {}
        other => panic!("{what}: a tampered request gave {other:?}"),
    };
    let signed = params.len() - 1;
    let at = data.len();
    if let Some(sig) = replace_char(&signature, at % (signature.len() - 1), BASE64) {
        let mut m = params.clone();
        m.0[signed].1 = sig;
        refused(method, &m, secret, "signature");
    }
    if signed > 0 {
        let mut m = params.clone();
        m.0[at % signed].1.push('x');
        refused(method, &m, secret, "value");
        let mut m = params.clone();
        m.0[at % signed].0.push('x');
        refused(method, &m, secret, "key");
        let mut m = params.clone();
        m.0.remove(at % signed);
        refused(method, &m, secret, "dropped param");
    }
    let mut m = params.clone();
    m.push("x", "");
    refused(method, &m, secret, "added param");
    refused(&other_method(method), &params, secret, "method");
    refused(method, &params, &format!("{secret}x"), "secret");
});
