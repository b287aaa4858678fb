//! Signature v3: `ACS3-HMAC-SHA256` in the `Authorization` header (PROTOCOL §3), the Tea SDKs'
//! default. The server must use the `SignedHeaders` list it receives: Python signs every header
//! it sets, Node only `host`, `content-type` and `x-acs-*`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encode::rfc3986_into;
use crate::params::RawParams;

/// The scheme name that opens the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// A parsed `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The `Credential` value: the AccessKeyId.
    pub access_key_id: String,
    /// `SignedHeaders` split on `;`, lower-cased, in the order received.
    pub signed_headers: Vec<String>,
    /// The hex signature, lower-cased.
    pub signature: String,
}

/// Parses an `Authorization` header value. Returns `None` unless it starts with
/// `ACS3-HMAC-SHA256 ` and has exactly the three non-empty parts `Credential`, `SignedHeaders`
/// and `Signature` (hex), comma-separated, in any order, with optional spaces around commas.
pub fn parse_authorization(value: &str) -> Option<Authorization> {
    let rest = value.strip_prefix(ALGORITHM)?;
    let rest = rest.strip_prefix(' ')?.trim();
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let slot = match k {
            "Credential" => &mut cred,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return None,
        };
        if v.is_empty() || slot.replace(v).is_some() {
            return None;
        }
    }
    let signature = sig?;
    if !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let signed_headers: Vec<String> = signed?
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return None;
    }
    Some(Authorization {
        access_key_id: cred?.to_owned(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// The canonical request:
/// `METHOD \n path \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload`.
///
/// `query` holds the decoded query-string params (keys are not encoded, values are RFC 3986);
/// `headers` are `(lower-case name, value as received)`; several values for one name are
/// trimmed, sorted and joined with `,`; a signed header that is absent counts as empty.
/// `signed_headers` are sorted and de-duplicated here, as the SDKs do before signing.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &RawParams,
    headers: &[(String, String)],
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(method);
    out.push('\n');
    out.push_str(path);
    out.push('\n');

    let mut pairs: Vec<(&str, &str)> = query.iter().collect();
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        rfc3986_into(&mut out, v);
    }
    out.push('\n');

    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    for name in &names {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(hashed_payload);
    out
}

/// `"ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical_request))`.
pub fn string_to_sign(canonical_request: &str) -> String {
    let digest = Sha256::digest(canonical_request.as_bytes());
    format!("{ALGORITHM}\n{}", hex::encode(digest))
}

/// `hex(HMAC-SHA256(key = secret, string_to_sign))` (no `&` appended, unlike v1).
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `hex(SHA-256(body))`, the value of `x-acs-content-sha256`.
pub fn content_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Builds the `Authorization` header value (for clients and tests).
pub fn authorization_header(
    access_key_id: &str,
    signed_headers: &[String],
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={signature}",
        signed_headers.join(";")
    )
}
