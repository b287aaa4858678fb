//! Presigned download links that an S3-compatible region's own server answers, so downloads of
//! copies never pass through xbak:
//!
//! - AWS S3, MinIO and other S3-compatible stores: SigV4 query signing (`X-Amz-Algorithm`,
//!   `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//!   `X-Amz-Signature`), by `object_store`'s `Signer`;
//! - Alibaba Cloud OSS (endpoint under `aliyuncs.com`, no STS token): OSS's v1 style, as the
//!   `CrossBackupDownloadLink`s of Alibaba Cloud itself,
//!
//!   ```text
//!   https://{bucket}.{endpoint host}/{key}?OSSAccessKeyId={id}&Expires={unix}&Signature={sig}
//!   sig = urlencode(base64(HMAC-SHA1(secret, "GET\n\n\n{Expires}\n/{bucket}/{key}")))
//!   ```
//!
//! Local and in-memory regions have no server of their own: [`RegionStore::presigned_get`]
//! answers `None` there and xbak serves those downloads itself ([`crate::links`]).

use crate::links::OssV1Signer;
use crate::{keys, RegionStore, StorageError};
use object_store::signer::Signer;
use std::time::Duration;
use xbak_protocol::encode::rfc3986_path_into;

/// Longest validity of a presigned link (SigV4's limit: 7 days).
pub const MAX_LINK_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// What OSS v1 links of one bucket are signed with.
#[derive(Clone, Debug)]
pub(crate) struct OssLinks {
    bucket: String,
    /// `{scheme}://{bucket}.{endpoint host[:port]}/`.
    base: String,
    signer: OssV1Signer,
}

impl OssLinks {
    pub fn new(bucket: &str, endpoint: &url::Url, key_id: &str, secret: &str) -> Self {
        let host = endpoint.host_str().unwrap_or_default();
        let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
        OssLinks {
            bucket: bucket.to_owned(),
            base: format!("{}://{bucket}.{host}{port}/", endpoint.scheme()),
            signer: OssV1Signer::new(key_id, secret),
        }
    }

    /// The link to `object` (the full key in the bucket), valid until `expires_at_unix`.
    pub fn sign(&self, object: &str, expires_at_unix: i64) -> String {
        let mut url = self.base.clone();
        rfc3986_path_into(&mut url, object);
        self.signer
            .append_query(&mut url, &self.bucket, object, expires_at_unix);
        url
    }
}

impl RegionStore {
    /// A URL that downloads visible object `key` straight from the region's object store for
    /// `expires_in` (at most [`MAX_LINK_VALIDITY`]; HTTP `Range` works as usual), or `None` when
    /// the region has no server of its own (local and in-memory regions: sign a
    /// [`crate::links::LinkSigner`] link to xbak's `/download` route instead).
    ///
    /// No request is made: the URL is computed locally, so it is cheap enough for every row of
    /// a listing, and it does not check that the object exists. Staging keys are refused
    /// ([`StorageError::InvalidKey`]).
    pub async fn presigned_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<Option<String>, StorageError> {
        let Some(remote) = &self.s3 else {
            return Ok(None);
        };
        let path = remote.full_path(&keys::visible_path(key)?);
        let expires_in = expires_in.min(MAX_LINK_VALIDITY);
        if let Some(oss) = &remote.oss {
            let expires = chrono::Utc::now().timestamp() + expires_in.as_secs() as i64;
            return Ok(Some(oss.sign(path.as_ref(), expires)));
        }
        let url = remote
            .s3
            .signed_url(http::Method::GET, &path, expires_in)
            .await
            .map_err(|e| StorageError::from_store(key, e))?;
        Ok(Some(url.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oss_links(bucket: &str, endpoint: &str, key_id: &str, secret: &str) -> OssLinks {
        OssLinks::new(bucket, &url::Url::parse(endpoint).unwrap(), key_id, secret)
    }

    #[test]
    fn oss_links_match_the_oss_documentation_example() {
        // OSS API reference, "Add a signature to a URL": bucket oss-example, object oss-api.pdf.
        let links = oss_links(
            "oss-example",
            "https://oss-cn-hangzhou.aliyuncs.com",
            "44CF9590006BF252F707",
            "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
        );
        assert_eq!(
            links.sign("oss-api.pdf", 1141889120),
            "https://oss-example.oss-cn-hangzhou.aliyuncs.com/oss-api.pdf?OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D"
        );
    }

    #[test]
    fn oss_link_keys_are_encoded_by_segment() {
        let links = oss_links("b", "http://127.0.0.1:9000", "id", "secret");
        let url = links.sign("p/a b+c/f.xb", 1);
        assert!(
            url.starts_with(
                "http://b.127.0.0.1:9000/p/a%20b%2Bc/f.xb?OSSAccessKeyId=id&Expires=1&Signature="
            ),
            "{url}"
        );
    }
}
