//! Signed, expiring download links, in OSS's v1 query-signing style. One signer,
//! [`OssV1Signer`], writes both kinds of link:
//!
//! - links to xbak's own `/download` route, for regions without a server of their own
//!   ([`LinkSigner`]):
//!
//!   ```text
//!   {public_url}/download/{region_id}/{key}?OSSAccessKeyId={key_id}&Expires={unix}&Signature={sig}
//!   sig = urlencode(base64(HMAC-SHA1(secret, "GET\n\n\n{Expires}\n/{region_id}/{key}")))
//!   ```
//!
//! - links an Alibaba OSS bucket answers itself (`crate::presign`), the same with
//!   `https://{bucket}.{endpoint host}/{key}` and `/{bucket}/{key}` signed.
//!
//! The key in the path is percent-encoded segment by segment (`/` kept); the string to sign holds
//! it raw, as the server sees it after decoding the path. Signing is on the hot path of every
//! listing (one link per row), so it clones a pre-keyed HMAC and writes the URL into one
//! pre-sized `String`, without intermediate strings.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use xbak_protocol::encode::{decimal, rfc3986, rfc3986_into, rfc3986_path_into};

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Correctly signed, but `Expires` is in the past.
    #[error("link expired")]
    Expired,
    /// Unknown key id, or a signature that does not match the region, key or expiry.
    #[error("link signature does not match")]
    SignatureMismatch,
    /// `Expires` is not a number or `Signature` is not base64 of a SHA-1 HMAC.
    #[error("malformed link")]
    Malformed,
}

/// OSS's v1 query signature for one AccessKey: signs `GET` of the resource `/{bucket}/{key}`
/// until a Unix time ([`LinkSigner::verify`] checks the same string to sign).
#[derive(Clone)]
pub(crate) struct OssV1Signer {
    key_id: String,
    /// HMAC-SHA1 already keyed with the secret; cloned per signature. The secret itself is not kept.
    mac: Hmac<Sha1>,
    /// `OSSAccessKeyId` value, percent-encoded once.
    key_id_query: String,
}

impl std::fmt::Debug for OssV1Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OssV1Signer")
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl OssV1Signer {
    pub(crate) fn new(key_id: &str, secret: &str) -> Self {
        OssV1Signer {
            key_id: key_id.to_owned(),
            mac: Hmac::<Sha1>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes keys of any length"),
            key_id_query: rfc3986(key_id),
        }
    }

    /// Appends `?OSSAccessKeyId=…&Expires=…&Signature=…` for `GET /{bucket}/{key}` until
    /// `expires_at_unix` to `url`.
    pub(crate) fn append_query(
        &self,
        url: &mut String,
        bucket: &str,
        key: &str,
        expires_at_unix: i64,
    ) {
        let mut digits = [0u8; 20];
        let expires = decimal(expires_at_unix, &mut digits);
        let mut signature = [0u8; 28];
        let signature = self.signature(bucket, key, expires, &mut signature);
        url.push_str("?OSSAccessKeyId=");
        url.push_str(&self.key_id_query);
        url.push_str("&Expires=");
        url.push_str(expires);
        url.push_str("&Signature=");
        rfc3986_into(url, signature);
    }

    /// The HMAC state after the string to sign.
    fn keyed(&self, bucket: &str, key: &str, expires: &str) -> Hmac<Sha1> {
        let mut mac = self.mac.clone();
        mac.update(b"GET\n\n\n");
        mac.update(expires.as_bytes());
        mac.update(b"\n/");
        mac.update(bucket.as_bytes());
        mac.update(b"/");
        mac.update(key.as_bytes());
        mac
    }

    /// base64 of the signature, written into `out`.
    fn signature<'a>(
        &self,
        bucket: &str,
        key: &str,
        expires: &str,
        out: &'a mut [u8; 28],
    ) -> &'a str {
        let tag = self.keyed(bucket, key, expires).finalize().into_bytes();
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(tag, out)
            .expect("28 bytes hold base64 of 20");
        std::str::from_utf8(&out[..n]).expect("base64 is ASCII")
    }
}

/// Signs and verifies links to xbak's `/download` route with the server's link key; the
/// region id stands where OSS has the bucket.
#[derive(Clone)]
pub struct LinkSigner {
    signer: OssV1Signer,
    /// `{public_url}/download/`.
    prefix: String,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("key_id", &self.signer.key_id)
            .field("secret", &"<redacted>")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl LinkSigner {
    /// `public_url` is where clients reach the server (`https://xbak.example.com`); a trailing
    /// `/` is ignored.
    pub fn new(key_id: String, secret: String, public_url: String) -> Self {
        LinkSigner {
            signer: OssV1Signer::new(&key_id, &secret),
            prefix: format!("{}/download/", public_url.trim_end_matches('/')),
        }
    }

    /// The `OSSAccessKeyId` links carry.
    pub fn key_id(&self) -> &str {
        &self.signer.key_id
    }

    /// The full download URL of `key` in `region_id`, valid until `expires_at_unix`.
    pub fn sign(&self, region_id: &str, key: &str, expires_at_unix: i64) -> String {
        let mut url = String::with_capacity(
            self.prefix.len()
                + region_id.len()
                + key.len() * 3 / 2
                + self.signer.key_id_query.len()
                + 100,
        );
        url.push_str(&self.prefix);
        rfc3986_into(&mut url, region_id);
        url.push('/');
        rfc3986_path_into(&mut url, key);
        self.signer
            .append_query(&mut url, region_id, key, expires_at_unix);
        url
    }

    /// Checks a link's query values (already percent-decoded) against the region and key of its
    /// path, at `now_unix`. The signature is compared in constant time.
    pub fn verify(
        &self,
        region_id: &str,
        key: &str,
        access_key_id: &str,
        expires: &str,
        signature: &str,
        now_unix: i64,
    ) -> Result<(), LinkError> {
        if expires.is_empty() || expires.len() > 19 || !expires.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(LinkError::Malformed);
        }
        let expires_at: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
        let mut tag = [0u8; 32];
        match base64::engine::general_purpose::STANDARD.decode_slice(signature.as_bytes(), &mut tag)
        {
            Ok(20) => {}
            _ => return Err(LinkError::Malformed),
        }
        if access_key_id != self.signer.key_id {
            return Err(LinkError::SignatureMismatch);
        }
        self.signer
            .keyed(region_id, key, expires)
            .verify_slice(&tag[..20])
            .map_err(|_| LinkError::SignatureMismatch)?;
        if now_unix > expires_at {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
