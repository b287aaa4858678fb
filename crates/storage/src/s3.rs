//! S3-compatible regions (`s3://…`): AWS S3, Alibaba Cloud OSS, MinIO and friends, over
//! `object_store`'s `AmazonS3`.
//!
//! ```text
//! s3://[KEY_ID:SECRET@]BUCKET[/PREFIX]?endpoint=URL&region=R&path_style=true|false
//!      &copy_if_not_exists=multipart|header:NAME:VALUE|header-with-status:NAME:VALUE:STATUS|none
//!      &anonymous=true
//! ```
//!
//! - **credentials**: the URL's userinfo (percent-encoded), else `AWS_ACCESS_KEY_ID` /
//!   `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), else, for OSS endpoints,
//!   `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET`. Without any, opening fails
//!   (unless `anonymous=true`): instance-metadata credentials are never fetched, so a
//!   misconfigured region cannot make xbak reach for a link-local address.
//! - **endpoint**: default AWS's. Plain `http://` is refused except on loopback (tests, a local
//!   MinIO); anything else must be `https://`.
//! - **OSS** is recognised by an endpoint host under `aliyuncs.com`: virtual-hosted-style
//!   requests, OSS's `x-oss-forbid-overwrite` for publishing, and OSS-v1-style download links.
//! - **prefix**: every key of the region lives under it (`object_store`'s `PrefixStore`).
//! - **copy_if_not_exists**: how publishing refuses to overwrite (see [`crate::RegionStore::publish`]):
//!   `multipart` (AWS S3 and moto: a one-part multipart copy completed with `If-None-Match: *`),
//!   a header some stores honour on `CopyObject`, or `none`: HEAD, then copy (racy; see there).
//!   Stores that accept the conditional request but ignore its condition (Garage: it has no
//!   conditional writes) are found out by a probe before the first publish, and published to
//!   as with `none` ([`crate::RegionStore::publishes_conditionally`]); set `none` to skip the probe.

use crate::StorageError;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore};
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use std::time::Duration;

/// What an `s3://` region needs beyond its `ObjectStore`: the bucket-wide `AmazonS3` (resumable
/// multipart uploads and presigning work on it, with the region's prefix added by hand), and
/// what OSS-style links are signed with.
#[derive(Debug)]
pub(crate) struct S3Region {
    pub s3: Arc<AmazonS3>,
    /// The region's prefix inside the bucket (empty for the whole bucket).
    pub prefix: Path,
    /// Set when the endpoint is OSS's: links are then signed in OSS's v1 style.
    pub oss: Option<crate::presign::OssLinks>,
    /// A conditional copy is configured (`copy_if_not_exists` is not `none`).
    pub conditional_copy: bool,
    /// Whether the server honours it, once probed ([`crate::RegionStore::publishes_conditionally`]).
    pub honours_conditions: tokio::sync::OnceCell<bool>,
}

impl S3Region {
    /// The bucket path of a region key.
    pub fn full_path(&self, path: &Path) -> Path {
        self.prefix.parts().chain(path.parts()).collect()
    }
}

/// Parsed `s3://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<url::Url>,
    pub region: String,
    pub path_style: bool,
    pub copy_if_not_exists: Option<String>,
    pub anonymous: bool,
    pub credentials: Option<(String, String, Option<String>)>,
}

impl S3Url {
    /// Whether the endpoint is Alibaba Cloud OSS.
    pub fn is_oss(&self) -> bool {
        self.endpoint
            .as_ref()
            .and_then(|e| e.host_str())
            .is_some_and(|h| h == "aliyuncs.com" || h.ends_with(".aliyuncs.com"))
    }
}

/// Parses an `s3://` URL; credentials come from the URL, else from `env`.
pub(crate) fn parse(
    region_id: &str,
    url: &url::Url,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<S3Url, StorageError> {
    let bad = |what: String| StorageError::Unsupported(format!("region {region_id}: {what}"));
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("s3 URL without a bucket".into()))?
        .to_owned();
    let prefix = percent_decode_str(url.path().trim_matches('/'))
        .decode_utf8()
        .map_err(|_| bad("s3 URL prefix is not UTF-8".into()))?
        .into_owned();
    let mut parsed = S3Url {
        bucket,
        prefix,
        endpoint: None,
        region: "us-east-1".into(),
        path_style: true,
        copy_if_not_exists: None,
        anonymous: false,
        credentials: None,
    };
    let mut path_style = None;
    for (k, v) in url.query_pairs() {
        match &*k {
            "endpoint" => {
                let e = url::Url::parse(&v).map_err(|e| bad(format!("endpoint {v:?}: {e}")))?;
                parsed.endpoint = Some(e);
            }
            "region" => parsed.region = v.into_owned(),
            "path_style" => path_style = Some(flag(&k, &v).map_err(bad)?),
            "anonymous" => parsed.anonymous = flag(&k, &v).map_err(bad)?,
            "copy_if_not_exists" => parsed.copy_if_not_exists = Some(v.into_owned()),
            other => return Err(bad(format!("unknown s3 URL option {other:?}"))),
        }
    }
    if let Some(endpoint) = &parsed.endpoint {
        match endpoint.scheme() {
            "https" => {}
            "http" if is_loopback(endpoint) => {}
            "http" => {
                return Err(bad(
                    "plain http endpoints are allowed on loopback only".into()
                ))
            }
            s => return Err(bad(format!("endpoint scheme {s:?}"))),
        }
    }
    // OSS only serves virtual-hosted-style requests; AWS prefers them; local servers (MinIO,
    // moto) are easiest path-style. Explicit `path_style` wins.
    parsed.path_style = path_style.unwrap_or(!parsed.is_oss() && parsed.endpoint.is_some());
    if parsed.copy_if_not_exists.is_none() && parsed.is_oss() {
        parsed.copy_if_not_exists =
            Some("header-with-status: x-oss-forbid-overwrite: true: 409".into());
    }
    if parsed.copy_if_not_exists.is_none() {
        parsed.copy_if_not_exists = Some("multipart".into());
    }
    parsed.credentials = credentials(url, parsed.is_oss(), env).map_err(bad)?;
    if parsed.credentials.is_none() && !parsed.anonymous {
        return Err(bad(
            "no credentials: put them in the URL (s3://KEY:SECRET@bucket/…) or set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (ALIBABA_CLOUD_ACCESS_KEY_ID and \
             ALIBABA_CLOUD_ACCESS_KEY_SECRET for OSS), or add anonymous=true"
                .into(),
        ));
    }
    Ok(parsed)
}

fn flag(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("{key}={v:?} is not true or false")),
    }
}

/// Whether the URL's host is a loopback address (or `localhost`).
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

type Credentials = Option<(String, String, Option<String>)>;

fn credentials(
    url: &url::Url,
    oss: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    if !url.username().is_empty() {
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "credentials in the URL are not UTF-8".to_string())
        };
        let secret = url.password().ok_or("URL credentials without a secret")?;
        return Ok(Some((decode(url.username())?, decode(secret)?, None)));
    }
    let pair = |id: &str, secret: &str| Some((env(id)?, env(secret)?));
    if let Some((id, secret)) = pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") {
        return Ok(Some((id, secret, env("AWS_SESSION_TOKEN"))));
    }
    if oss {
        if let Some((id, secret)) = pair(
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ) {
            return Ok(Some((id, secret, env("ALIBABA_CLOUD_SECURITY_TOKEN"))));
        }
    }
    Ok(None)
}

/// Builds the region's stores: the prefixed `ObjectStore` every operation uses, and the
/// bucket-wide parts resumable uploads and presigning need.
pub(crate) fn build(
    region_id: &str,
    parsed: &S3Url,
) -> Result<(Arc<dyn ObjectStore>, S3Region), StorageError> {
    let bad = |e: object_store::Error| {
        StorageError::Unsupported(format!("region {region_id}: s3 store: {e}"))
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&parsed.bucket)
        .with_region(&parsed.region)
        .with_virtual_hosted_style_request(!parsed.path_style)
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(10))
                .with_timeout(Duration::from_secs(300))
                .with_allow_http(parsed.endpoint.as_ref().is_some_and(is_loopback)),
        );
    if let Some(endpoint) = &parsed.endpoint {
        builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
    }
    let conditional_mode = parsed
        .copy_if_not_exists
        .as_deref()
        .filter(|m| *m != "none");
    if let Some(mode) = conditional_mode {
        builder = builder.with_config(AmazonS3ConfigKey::CopyIfNotExists, mode);
    }
    match &parsed.credentials {
        Some((id, secret, token)) => {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
            if let Some(token) = token {
                builder = builder.with_token(token);
            }
        }
        None => builder = builder.with_skip_signature(true),
    }
    let s3 = Arc::new(builder.build().map_err(bad)?);
    let prefix = Path::parse(&parsed.prefix).map_err(|e| {
        StorageError::Unsupported(format!(
            "region {region_id}: s3 prefix {:?}: {e}",
            parsed.prefix
        ))
    })?;
    let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
        Arc::clone(&s3) as Arc<dyn ObjectStore>
    } else {
        let inner: Arc<dyn ObjectStore> = Arc::clone(&s3) as Arc<dyn ObjectStore>;
        Arc::new(PrefixStore::new(inner, prefix.clone()))
    };
    let oss =
        match (&parsed.credentials, parsed.is_oss(), &parsed.endpoint) {
            // With an STS token, v1 links would need it signed in too: SigV4 links then.
            (Some((id, secret, None)), true, Some(endpoint)) => Some(
                crate::presign::OssLinks::new(&parsed.bucket, endpoint, id, secret),
            ),
            _ => None,
        };
    Ok((
        store,
        S3Region {
            s3,
            prefix,
            oss,
            conditional_copy: conditional_mode.is_some(),
            honours_conditions: tokio::sync::OnceCell::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn p(url: &str, vars: &'static [(&'static str, &'static str)]) -> Result<S3Url, StorageError> {
        parse("cn-x", &url::Url::parse(url).unwrap(), &env(vars))
    }

    #[test]
    fn urls_with_credentials_endpoint_and_prefix() {
        let u = p(
            "s3://AKID:se%2Fcret@bkt/a/b%20c?endpoint=http://127.0.0.1:9000&region=cn-hangzhou",
            &[],
        )
        .unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("bkt", "a/b c"));
        assert_eq!(u.region, "cn-hangzhou");
        assert!(u.path_style, "custom endpoints default to path style");
        assert_eq!(u.credentials, Some(("AKID".into(), "se/cret".into(), None)));
        assert_eq!(u.copy_if_not_exists.as_deref(), Some("multipart"));
        assert!(!u.is_oss());
    }

    #[test]
    fn credentials_from_the_environment() {
        let vars = &[
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
        ];
        let u = p("s3://bkt", vars).unwrap();
        assert_eq!(
            u.credentials,
            Some(("A".into(), "S".into(), Some("T".into())))
        );
        assert!(!u.path_style, "AWS defaults to virtual-hosted style");
        let ali = &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "X"),
        ];
        let oss = p(
            "s3://bkt/p?endpoint=https://oss-cn-hangzhou.aliyuncs.com&region=oss-cn-hangzhou",
            ali,
        )
        .unwrap();
        assert!(oss.is_oss() && !oss.path_style);
        assert_eq!(oss.credentials, Some(("LTAI".into(), "X".into(), None)));
        assert!(oss
            .copy_if_not_exists
            .unwrap()
            .contains("x-oss-forbid-overwrite"));
        // Alibaba's variables are for OSS endpoints only.
        assert!(p("s3://bkt", ali).is_err());
    }

    #[test]
    fn refusals() {
        for url in [
            "s3:///prefix",
            "s3://bkt",
            "s3://k:s@bkt?endpoint=http://10.0.0.1:9000",
            "s3://k:s@bkt?endpoint=http://example.com",
            "s3://k:s@bkt?endpoint=ftp://127.0.0.1",
            "s3://k:s@bkt?path_style=maybe",
            "s3://k:s@bkt?what=1",
            "s3://k@bkt",
        ] {
            match p(url, &[]) {
                Err(StorageError::Unsupported(m)) => assert!(m.contains("cn-x"), "{m}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(p("s3://bkt?anonymous=true", &[])
            .unwrap()
            .credentials
            .is_none());
        assert!(p("s3://k:s@bkt?endpoint=http://localhost:1", &[]).is_ok());
        assert!(p("s3://k:s@bkt?endpoint=http://[::1]:1", &[]).is_ok());
    }
}
