//! Request authentication in two steps, so the server can look the secret up in between:
//!
//! 1. [`claim`] reads what the request says about itself (scheme, AccessKeyId, nonce, timestamp)
//!    and rejects structurally broken requests without any secret;
//! 2. [`verify`] recomputes the signature with the secret and compares in constant time.
//!
//! The server checks the timestamp window ([`crate::time::parse_utc_seconds`]) and nonce replay itself, between
//! or after these steps; neither is done here because both need a clock or state.
//!
//! Choices (PROTOCOL leaves them open):
//! * v1 requires `SignatureMethod=HMAC-SHA1` and `SignatureVersion=1.0` (every SDK sends both);
//!   absent or blank -> `Missing<Param>`, any other value -> `InvalidParameter` naming the param.
//! * v3 without `x-acs-date`, `x-acs-signature-nonce` or `x-acs-content-sha256`, or with any of
//!   [`V3_MUST_SIGN`] headers present but not in `SignedHeaders` -> `IncompleteSignature`.
//!   Both official SDKs sign all of them, and leaving one unsigned would let a replayer change it.
//! * v3 with a body whose `content-type` is not in `SignedHeaders` -> `IncompleteSignature`: the
//!   content type decides whether the body's params count, so a man in the middle could otherwise
//!   drop them. Both official SDKs sign it whenever they send a body.
//! * v3 body hash mismatch -> [`ApiError::ContentSha256Mismatch`] (code `SignatureDoesNotMatch`).
//! * An AccessKeyId that cannot be one ([`plausible_access_key_id`]) -> `InvalidAccessKeyId.NotFound`
//!   and a nonce longer than [`MAX_NONCE_LEN`] -> `InvalidParameter("SignatureNonce")`, both before
//!   any lookup, so an unauthenticated caller cannot make the server remember large strings.

pub mod v1;
pub mod v3;

use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::params::RawParams;

/// What a request claims before we know the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// RPC HMAC-SHA1: everything comes from the merged params.
    V1 {
        /// `AccessKeyId`.
        access_key_id: String,
        /// `SignatureNonce`.
        nonce: String,
        /// `Timestamp`, unparsed.
        timestamp: String,
    },
    /// `ACS3-HMAC-SHA256`: everything comes from headers.
    V3 {
        /// The parsed `Authorization` header.
        auth: v3::Authorization,
        /// `x-acs-signature-nonce`.
        nonce: String,
        /// `x-acs-date`, unparsed.
        timestamp: String,
        /// `x-acs-content-sha256`.
        content_sha256: String,
    },
}

impl Claim {
    /// The AccessKeyId the request claims.
    pub fn access_key_id(&self) -> &str {
        match self {
            Claim::V1 { access_key_id, .. } => access_key_id,
            Claim::V3 { auth, .. } => &auth.access_key_id,
        }
    }

    /// The nonce, for replay detection.
    pub fn nonce(&self) -> &str {
        match self {
            Claim::V1 { nonce, .. } | Claim::V3 { nonce, .. } => nonce,
        }
    }

    /// The timestamp as sent; parse it with [`crate::time::parse_utc_seconds`].
    pub fn timestamp(&self) -> &str {
        match self {
            Claim::V1 { timestamp, .. } | Claim::V3 { timestamp, .. } => timestamp,
        }
    }
}

/// The parts of an HTTP request that authentication needs.
#[derive(Debug, Clone, Copy)]
pub struct IncomingRequest<'a> {
    /// HTTP method as received (`GET`, `POST`).
    pub method: &'a str,
    /// Request path (`/`).
    pub path: &'a str,
    /// Decoded query-string params only (v3 signs these).
    pub query: &'a RawParams,
    /// Query params followed by form-body params (v1 signs these).
    pub params: &'a RawParams,
    /// Headers as `(lower-case name, value)`; a name may repeat.
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

impl IncomingRequest<'_> {
    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Headers that must be in `SignedHeaders` whenever the request carries them (v3).
pub const V3_MUST_SIGN: &[&str] = &[
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
    "content-type",
];

/// Longest accepted AccessKeyId. Alibaba's are 24 characters (`LTAI` + 20), STS ones about 30.
pub const MAX_ACCESS_KEY_ID_LEN: usize = 64;
/// Longest accepted signature nonce. The SDKs send 32 (md5 hex, UUID without dashes) or 64 hex
/// characters; a UUID with dashes is 36.
pub const MAX_NONCE_LEN: usize = 64;

/// Whether `id` could be an AccessKeyId: 1 to [`MAX_ACCESS_KEY_ID_LEN`] ASCII letters, digits,
/// `.`, `_` or `-`.
pub fn plausible_access_key_id(id: &str) -> bool {
    (1..=MAX_ACCESS_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Reads the claim: v3 when the `Authorization` header starts with `ACS3-HMAC-SHA256`, else v1.
///
/// v1 errors, in this order: `MissingSignature`, `MissingAccessKeyId`, `MissingSignatureMethod`,
/// `InvalidParameter("SignatureMethod")`, `MissingSignatureVersion`,
/// `InvalidParameter("SignatureVersion")`, `MissingSignatureNonce`, `MissingTimestamp` (blank
/// values count as absent). v3 errors: `IncompleteSignature`. Then, for both, an implausible
/// AccessKeyId -> `InvalidAccessKeyId.NotFound` and an over-long nonce ->
/// `InvalidParameter("SignatureNonce")`. The timestamp is not parsed here.
pub fn claim(req: &IncomingRequest) -> Result<Claim, ApiError> {
    let claim = match req.header("authorization") {
        Some(value) if value.starts_with(v3::ALGORITHM) => claim_v3(req, value),
        _ => claim_v1(req.params),
    }?;
    if !plausible_access_key_id(claim.access_key_id()) {
        return Err(ApiError::InvalidAccessKeyIdNotFound);
    }
    if claim.nonce().len() > MAX_NONCE_LEN {
        return Err(ApiError::InvalidParameter("SignatureNonce".into()));
    }
    Ok(claim)
}

fn claim_v1(params: &RawParams) -> Result<Claim, ApiError> {
    let need = |name: &'static str| params.get_nonempty(name).ok_or(ApiError::Missing(name));
    need(v1::SIGNATURE_PARAM)?;
    let access_key_id = need("AccessKeyId")?;
    if need("SignatureMethod")? != "HMAC-SHA1" {
        return Err(ApiError::InvalidParameter("SignatureMethod".into()));
    }
    if need("SignatureVersion")? != "1.0" {
        return Err(ApiError::InvalidParameter("SignatureVersion".into()));
    }
    let nonce = need("SignatureNonce")?;
    let timestamp = need("Timestamp")?;
    Ok(Claim::V1 {
        access_key_id: access_key_id.to_owned(),
        nonce: nonce.to_owned(),
        timestamp: timestamp.to_owned(),
    })
}

fn claim_v3(req: &IncomingRequest, authorization: &str) -> Result<Claim, ApiError> {
    let auth = v3::parse_authorization(authorization).ok_or(ApiError::IncompleteSignature)?;
    check_v3_signed_headers(req, &auth)?;
    let need = |name: &str| {
        req.header(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_owned())
            .ok_or(ApiError::IncompleteSignature)
    };
    Ok(Claim::V3 {
        nonce: need("x-acs-signature-nonce")?,
        timestamp: need("x-acs-date")?,
        content_sha256: need("x-acs-content-sha256")?,
        auth,
    })
}

fn check_v3_signed_headers(
    req: &IncomingRequest,
    auth: &v3::Authorization,
) -> Result<(), ApiError> {
    let signed = |h: &str| auth.signed_headers.iter().any(|s| s == h);
    let unsigned = V3_MUST_SIGN
        .iter()
        .any(|h| req.header(h).is_some() && !signed(h))
        || (!req.body.is_empty() && !signed("content-type"));
    if unsigned {
        Err(ApiError::IncompleteSignature)
    } else {
        Ok(())
    }
}

/// Recomputes the signature of `req` with `secret` and compares it in constant time.
///
/// v1 mismatch -> `SignatureDoesNotMatch` carrying our string-to-sign (PROTOCOL §2.3 message
/// shape). v3: first `x-acs-content-sha256` must equal `hex(sha256(body))`
/// (`ContentSha256Mismatch`), then the header rules of [`claim`] are re-checked, then the
/// signature (`SignatureDoesNotMatch`).
pub fn verify(req: &IncomingRequest, claim: &Claim, secret: &str) -> Result<(), ApiError> {
    match claim {
        Claim::V1 { .. } => {
            let sts = v1::string_to_sign(req.method, req.params);
            let given = req.params.get(v1::SIGNATURE_PARAM).unwrap_or("");
            let expected = v1::sign(secret, &sts);
            check(&expected, given, sts)
        }
        Claim::V3 {
            auth,
            content_sha256,
            ..
        } => {
            if !content_sha256.eq_ignore_ascii_case(&v3::content_sha256(req.body)) {
                return Err(ApiError::ContentSha256Mismatch);
            }
            check_v3_signed_headers(req, auth)?;
            let canonical = v3::canonical_request(
                req.method,
                req.path,
                req.query,
                req.headers,
                &auth.signed_headers,
                content_sha256,
            );
            let sts = v3::string_to_sign(&canonical);
            let expected = v3::sign(secret, &sts);
            check(&expected, &auth.signature, sts)
        }
    }
}

fn check(expected: &str, given: &str, string_to_sign: String) -> Result<(), ApiError> {
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::SignatureDoesNotMatch { string_to_sign })
    }
}
