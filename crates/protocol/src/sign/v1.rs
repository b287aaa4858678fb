//! Signature v1: RPC `HMAC-SHA1` with the `Signature` parameter (PROTOCOL §2; Alibaba's docs call
//! it "V2 for RPC"). Used by aliyun-python-sdk-core, the Tea SDKs with `signature_algorithm='v2'`
//! and pop-core.
//!
//! ```text
//! canonical    = join("&", sorted: enc(key) "=" enc(value))   all params but Signature, blanks kept
//! StringToSign = METHOD "&%2F&" enc(canonical)
//! Signature    = base64(HMAC-SHA1(secret + "&", StringToSign))
//! ```

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::encode::{cmp_encoded, rfc3986_twice_into};
use crate::params::RawParams;

/// The parameter carrying the signature; it is the only one left out of the string-to-sign.
pub const SIGNATURE_PARAM: &str = "Signature";

/// The v1 string-to-sign for `method` (as received: `GET` or `POST`) over every parameter but
/// `Signature`, sorted by encoded key (then encoded value) in byte order.
pub fn string_to_sign(method: &str, params: &RawParams) -> String {
    string_to_sign_of(method, params.iter())
}

/// [`string_to_sign`] of `(key, value)` pairs as received (a client's own, before encoding).
///
/// Built in one pass over the sorted pairs: the canonical query is never written out, each
/// key and value is encoded twice at once, and sorting compares encodings without making them.
pub fn string_to_sign_of<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, _)| *k != SIGNATURE_PARAM)
        .collect();
    pairs.sort_unstable_by(|a, b| cmp_encoded(a.0, b.0).then_with(|| cmp_encoded(a.1, b.1)));
    let len: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut sts = String::with_capacity(method.len() + 5 + len * 5 / 4);
    sts.push_str(method);
    sts.push_str("&%2F&");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            sts.push_str("%26");
        }
        rfc3986_twice_into(&mut sts, k);
        sts.push_str("%3D");
        rfc3986_twice_into(&mut sts, v);
    }
    sts
}

/// `base64(HMAC-SHA1(key = secret + "&", string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret.as_bytes());
    key.push(b'&');
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
