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

use crate::encode::{rfc3986, rfc3986_into};
use crate::params::RawParams;

/// The parameter carrying the signature; it is the only one left out of the string-to-sign.
pub const SIGNATURE_PARAM: &str = "Signature";

/// The v1 string-to-sign for `method` (as received: `GET` or `POST`) over every parameter but
/// `Signature`, sorted by encoded key (then encoded value) in byte order.
pub fn string_to_sign(method: &str, params: &RawParams) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| *k != SIGNATURE_PARAM)
        .map(|(k, v)| (rfc3986(k), rfc3986(v)))
        .collect();
    encoded.sort_unstable();
    let mut canonical =
        String::with_capacity(encoded.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            canonical.push('&');
        }
        canonical.push_str(k);
        canonical.push('=');
        canonical.push_str(v);
    }
    let mut sts = String::with_capacity(method.len() + 6 + canonical.len() * 5 / 4);
    sts.push_str(method);
    sts.push_str("&%2F&");
    rfc3986_into(&mut sts, &canonical);
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
