//! `GET /download/{region}/{key}?OSSAccessKeyId=…&Expires=…&Signature=…`: the bytes behind a
//! signed link, for regions xbak stores itself. Errors follow OSS's XML shape, as a client that
//! follows an OSS link expects.

use crate::error::HandlerError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use futures::StreamExt;
use tracing::{debug, error, Instrument};
use xbak_protocol::request_id::new_request_id;
use xbak_protocol::RawParams;
use xbak_storage::links::LinkError;
use xbak_storage::StorageError;

/// Serves a signed download, honouring a single `Range` (see [`parse_range`] for the others).
pub async fn handle(
    State(state): State<AppState>,
    Path((region, key)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let request_id = new_request_id();
    let span = tracing::info_span!("download", request_id = %request_id, region = %region);
    async move {
        match serve(
            &state,
            &region,
            &key,
            query.as_deref().unwrap_or(""),
            &headers,
        )
        .await
        {
            Ok(resp) => resp,
            Err(e) => e.response(&request_id, &state.config.host_id),
        }
    }
    .instrument(span)
    .await
}

async fn serve(
    state: &AppState,
    region: &str,
    key: &str,
    query: &str,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let params = RawParams::parse_urlencoded(query.as_bytes());
    let (Some(ak), Some(expires), Some(sig)) = (
        params.get("OSSAccessKeyId"),
        params.get("Expires"),
        params.get("Signature"),
    ) else {
        return Err(OssError::AccessDenied(
            "Anonymous access is forbidden for this operation.",
        ));
    };
    state
        .links
        .verify(region, key, ak, expires, sig, Utc::now().timestamp())
        .map_err(|e| match e {
            LinkError::Expired => OssError::AccessDenied("Request has expired."),
            LinkError::SignatureMismatch => OssError::SignatureDoesNotMatch,
            LinkError::Malformed => OssError::AccessDenied("Invalid signed URL."),
        })?;
    let store = state
        .region_store(region)
        .await
        .map_err(OssError::Internal)?
        .ok_or(OssError::NoSuchKey)?;
    let size = store
        .head(key)
        .await
        .map_err(storage_error)?
        .ok_or(OssError::NoSuchKey)?;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) => match parse_range(spec, size) {
            RangeAnswer::Part(r) => Some(r),
            RangeAnswer::Whole => None,
            RangeAnswer::Unsatisfiable => return Err(OssError::InvalidRange(size)),
        },
        None => None,
    };
    let (total, stream) = store.get(key, range.clone()).await.map_err(storage_error)?;
    debug!(key, ?range, total, "download");
    let body = Body::from_stream(stream.map(|r| r.map_err(std::io::Error::other)));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let len = match &range {
        Some(r) => {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            let v = format!("bytes {}-{}/{}", r.start, r.end - 1, total);
            resp.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&v).expect("ascii"),
            );
            r.end - r.start
        }
        None => total,
    };
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}

fn storage_error(e: StorageError) -> OssError {
    match e {
        StorageError::NotFound(_) => OssError::NoSuchKey,
        other => OssError::Internal(HandlerError::Internal(other.to_string())),
    }
}

/// What a `Range` header asks of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// These bytes, answered 206.
    Part(std::ops::Range<u64>),
    /// The whole object, answered 200: the header is malformed or asks for several ranges, which
    /// OSS and S3 ignore (no `multipart/byteranges`).
    Whole,
    /// A well-formed single range that starts past the end (or `bytes=-0`): 416.
    Unsatisfiable,
}

/// Parses a `Range` header against an object of `size` bytes, as OSS and S3 answer it: one
/// well-formed `bytes=first-[last]` or `bytes=-suffix` (digits only) is served, one that starts
/// past the end is unsatisfiable, and anything else is ignored.
pub fn parse_range(spec: &str, size: u64) -> RangeAnswer {
    let digits = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // All digits but too large for u64: past any end.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let Some(spec) = spec.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first, last) {
        ("", suffix) => match digits(suffix) {
            Some(0) => return RangeAnswer::Unsatisfiable,
            Some(n) => size.saturating_sub(n)..size,
            None => return RangeAnswer::Whole,
        },
        (first, "") => match digits(first) {
            Some(f) => f..size,
            None => return RangeAnswer::Whole,
        },
        (first, last) => match (digits(first), digits(last)) {
            (Some(f), Some(l)) if f <= l => f..l.saturating_add(1).min(size),
            _ => return RangeAnswer::Whole,
        },
    };
    if range.start < size {
        RangeAnswer::Part(range)
    } else {
        RangeAnswer::Unsatisfiable
    }
}

enum OssError {
    AccessDenied(&'static str),
    SignatureDoesNotMatch,
    NoSuchKey,
    InvalidRange(u64),
    Internal(HandlerError),
}

impl OssError {
    fn response(&self, request_id: &str, host_id: &str) -> Response {
        let (status, code, message) = match self {
            OssError::AccessDenied(m) => (StatusCode::FORBIDDEN, "AccessDenied", (*m).to_owned()),
            OssError::SignatureDoesNotMatch => (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided."
                    .to_owned(),
            ),
            OssError::NoSuchKey => (
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.".to_owned(),
            ),
            OssError::InvalidRange(_) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range cannot be satisfied.".to_owned(),
            ),
            OssError::Internal(f) => {
                error!(cause = ?f, "download failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error. Please try again.".to_owned(),
                )
            }
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{request_id}</RequestId>\n  <HostId>{host_id}</HostId>\n</Error>\n"
        );
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-oss-request-id", v);
        }
        if let OssError::InvalidRange(size) = self {
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_range, RangeAnswer};

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-9", 100), Part(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Part(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Part(90..100));
        assert_eq!(parse_range("bytes=50-500", 100), Part(50..100));
        assert_eq!(parse_range("bytes=-500", 100), Part(0..100));
        for unsatisfiable in [
            "bytes=100-",
            "bytes=100-200",
            "bytes=-0",
            "bytes=99999999999999999999-",
        ] {
            assert_eq!(
                parse_range(unsatisfiable, 100),
                Unsatisfiable,
                "{unsatisfiable}"
            );
        }
        for ignored in [
            "bytes=5-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes=+5",
            "bytes=+5-",
            "bytes=-+5",
            "bytes=0-+9",
            "bytes=200-300,0-1",
        ] {
            assert_eq!(parse_range(ignored, 100), Whole, "{ignored}");
        }
    }
}
