//! The v3 (`ACS3-HMAC-SHA256`) verifier: [`sign::claim`] then [`sign::verify`].
//!
//! Input: `secret \n METHOD \n query \n name: value lines \n\n body` (the corpus holds
//! PROTOCOL §3's test vector). The request as sent either verifies or is refused with a 4xx
//! error, and a claim is only made when every present header of [`V3_MUST_SIGN`] is signed.
//! Then it is re-signed with the secret over its own `SignedHeaders`, and: the re-signed request
//! verifies, also with an extra unsigned header; changing the signature, method, path, a query
//! key or value, adding a query pair, changing or repeating a signed header, the body or the
//! secret is always refused.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xbak_fuzz::{lines, other_method, replace_char};
use xbak_protocol::sign::{self, v3, Claim, IncomingRequest, V3_MUST_SIGN};
use xbak_protocol::{ApiError, RawParams};

fuzz_target!(|data: &[u8]| {
    let Some(([secret, method, query], rest)) = lines(data) else {
        return;
    };
    let (header_block, body) = rest.split_once("\n\n").unwrap_or((rest, ""));
    let mut req = Req {
        method: method.to_owned(),
        path: "/".into(),
        query: RawParams::parse_urlencoded(query.as_bytes()),
        headers: header_block
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    };
    let (auth, content_sha256) = match sign::claim(&req.incoming()) {
        Ok(Claim::V3 {
            auth,
            content_sha256,
            ..
        }) => (auth, content_sha256),
        Ok(Claim::V1 { .. }) => return,
        Err(e) => {
            assert!((400..500).contains(&e.http_status()), "{e:?}");
            return;
        }
    };
    for name in V3_MUST_SIGN {
        if req.incoming().header(name).is_some() {
            assert!(
                auth.signed_headers.iter().any(|s| s == name),
                "{name} unsigned"
            );
        }
    }
    let claim = sign::claim(&req.incoming()).unwrap();
    match sign::verify(&req.incoming(), &claim, secret) {
        Ok(()) => {}
        Err(ApiError::ContentSha256Mismatch) => {
            assert!(!content_sha256.eq_ignore_ascii_case(&v3::content_sha256(&req.body)));
            return;
        }
        Err(e) => assert!(matches!(e, ApiError::SignatureDoesNotMatch { .. }), "{e:?}"),
    }
    if auth.signed_headers.iter().any(|h| h == "authorization") {
        return; // a signature over itself can never match
    }

    // Re-signed as the SDKs do, over the request's own SignedHeaders.
    let signed = auth.signed_headers.clone();
    let canonical = v3::canonical_request(
        &req.method,
        &req.path,
        &req.query,
        &req.headers,
        &signed,
        &content_sha256,
    );
    let signature = v3::sign(secret, &v3::string_to_sign(&canonical));
    req.headers.retain(|(n, _)| n != "authorization");
    let authorization = v3::authorization_header(&auth.access_key_id, &signed, &signature);
    req.headers.push(("authorization".into(), authorization));
    let claim = sign::claim(&req.incoming()).expect("the re-signed request makes the same claim");
    sign::verify(&req.incoming(), &claim, secret).expect("a correctly signed request verifies");

    let mut extra = req.clone();
    if !signed.iter().any(|s| s == "x-fuzz-unsigned") {
        extra
            .headers
            .insert(0, ("x-fuzz-unsigned".into(), "1".into()));
        sign::verify(&extra.incoming(), &claim, secret).expect("an unsigned header is ignored");
    }

    // As the server does: the claim (which carries the signature) is read from each request.
    let refused = |m: &Req, secret: &str, what: &str| {
        if let Ok(claim) = sign::claim(&m.incoming()) {
            if let Ok(()) = sign::verify(&m.incoming(), &claim, secret) {
                panic!("{what}: a tampered request verified");
            }
        }
    };
    let at = data.len();
    let auth_at = req.headers.len() - 1;
    let mut m = req.clone();
    let sig_at = m.headers[auth_at].1.len() - signature.len() + at % signature.len();
    if let Some(tampered) = replace_char(&m.headers[auth_at].1, sig_at, b"0123456789abcdef") {
        m.headers[auth_at].1 = tampered;
        refused(&m, secret, "signature");
    }
    let mut m = req.clone();
    m.method = other_method(&m.method);
    refused(&m, secret, "method");
    let mut m = req.clone();
    m.path.push('x');
    refused(&m, secret, "path");
    if !req.query.is_empty() {
        let i = at % req.query.len();
        let mut m = req.clone();
        m.query.0[i].1.push('x');
        refused(&m, secret, "query value");
        let mut m = req.clone();
        m.query.0[i].0.push('x');
        refused(&m, secret, "query key");
    }
    let mut m = req.clone();
    m.query.push("x", "");
    refused(&m, secret, "added query pair");
    let present: Vec<usize> = (0..auth_at)
        .filter(|&i| signed.contains(&req.headers[i].0))
        .collect();
    if !present.is_empty() {
        let i = present[at % present.len()];
        let mut m = req.clone();
        m.headers[i].1.push('x');
        refused(&m, secret, "signed header value");
        let mut m = req.clone();
        m.headers.insert(0, (req.headers[i].0.clone(), "x".into()));
        refused(&m, secret, "repeated signed header");
    }
    let mut m = req.clone();
    m.body.push(b'x');
    refused(&m, secret, "body");
    refused(&req, &format!("{secret}x"), "secret");
});

/// An owned request, so that a mutation can change any part of it.
#[derive(Clone)]
struct Req {
    method: String,
    path: String,
    query: RawParams,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn incoming(&self) -> IncomingRequest<'_> {
        IncomingRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            params: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}
