//! Rendered `DescribeCrossRegionBackups` pages, kept as ready bytes for a short while so a popular
//! listing costs neither the signing of its download links nor its rendering on every call.
//!
//! A page is served from here only while
//!
//! - the catalog's change token it was rendered under is still the one in force (the same rule,
//!   and the same token, as the [`ListingCache`](crate::listing_cache::ListingCache): a commit by
//!   any process makes it invisible within about one poll interval), and
//! - it is younger than its lifetime, [`page_lifetime`]: at most [`MAX_PAGE_LIFETIME`] and a tenth
//!   of the links' lifetime. The download links inside were signed when the page was rendered, so
//!   a link handed out from the cache expires at most that much *earlier* than `link_ttl` after
//!   the call (never later than configured).
//!
//! Each response still gets its own RequestId: the page keeps the offset of the RequestId it was
//! rendered with and every hit writes a fresh one over it (RequestIds have a fixed length).

use crate::cache::TtlCache;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use xbak_domain::CopyQuery;
use xbak_protocol::Format;

/// Longest time a rendered page (and the links signed in it) is reused.
pub const MAX_PAGE_LIFETIME: Duration = Duration::from_secs(2);
/// Pages kept at most (~23 KB each for 30 items: ~12 MB).
const MAX_PAGES: usize = 512;
/// Keys the cache's doorkeeper remembers at most (8 bytes each).
const SEEN_ONCE: usize = 16 * 1024;

/// How long a page whose links live `link_ttl` may be reused.
pub fn page_lifetime(link_ttl: Duration) -> Duration {
    (link_ttl / 10).min(MAX_PAGE_LIFETIME)
}

/// Everything a rendered page depends on besides the catalog and the RequestId: the listing
/// query and the request values echoed in the body, as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub query: CopyQuery,
    pub format: Format,
    pub region_id: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// A rendered body and where its RequestId is.
pub struct RenderedPage {
    body: Bytes,
    request_id_at: usize,
    request_id_len: usize,
    token: u64,
}

impl RenderedPage {
    /// `body` as rendered with `request_id`, under change token `token`. `None` when the body
    /// does not contain the RequestId (then it cannot be reused).
    pub fn new(body: Bytes, request_id: &str, token: u64) -> Option<RenderedPage> {
        let id = request_id.as_bytes();
        if id.is_empty() {
            return None;
        }
        // The RequestId is the envelope's first field, so its first occurrence is the field.
        let at = body.windows(id.len()).position(|w| w == id)?;
        Some(RenderedPage {
            body,
            request_id_at: at,
            request_id_len: id.len(),
            token,
        })
    }

    /// The body with `request_id` in place of the one it was rendered with; `None` if the
    /// lengths differ. Only the head up to the RequestId is copied; the rest is shared.
    pub fn with_request_id(&self, request_id: &str) -> Option<PageBody> {
        let id = request_id.as_bytes();
        if id.len() != self.request_id_len {
            return None;
        }
        let mut head = Vec::with_capacity(self.request_id_at + id.len());
        head.extend_from_slice(&self.body[..self.request_id_at]);
        head.extend_from_slice(id);
        let tail = self.body.slice(self.request_id_at + id.len()..);
        Some(PageBody {
            head: Some(Bytes::from(head)),
            tail: Some(tail),
        })
    }
}

/// A response body of two frames (the head with this response's RequestId, then the shared rest
/// of the page) with an exact length, so it is sent with `Content-Length` like any other body.
pub struct PageBody {
    head: Option<Bytes>,
    tail: Option<Bytes>,
}

impl PageBody {
    /// The whole body in one buffer (tests, small callers).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() as usize);
        for part in [&self.head, &self.tail].into_iter().flatten() {
            out.extend_from_slice(part);
        }
        out
    }

    fn len(&self) -> u64 {
        [&self.head, &self.tail]
            .into_iter()
            .flatten()
            .map(|b| b.len() as u64)
            .sum()
    }
}

impl http_body::Body for PageBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = match self.head.take() {
            Some(head) => Some(head),
            None => self.tail.take(),
        };
        Poll::Ready(next.map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.tail.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len())
    }
}

/// Rendered pages by [`PageKey`].
pub struct PageCache {
    entries: TtlCache<PageKey, Arc<RenderedPage>>,
}

impl PageCache {
    /// Pages reused for [`page_lifetime`]`(link_ttl)`.
    pub fn new(link_ttl: Duration) -> PageCache {
        PageCache {
            entries: TtlCache::with_capacity(page_lifetime(link_ttl), MAX_PAGES)
                .admitting_on_second_offer(SEEN_ONCE),
        }
    }

    /// The body for `key` with `request_id` in it, if a page rendered under `token` is fresh.
    pub fn get(&self, key: &PageKey, token: u64, request_id: &str) -> Option<PageBody> {
        let page = self.entries.get(key)?;
        if page.token != token {
            return None;
        }
        page.with_request_id(request_id)
    }

    /// Keeps `page` if `key` was put before ([`TtlCache::admitting_on_second_offer`]).
    pub fn put(&self, key: PageKey, page: RenderedPage) {
        self.entries.insert(key, Arc::new(page));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_is_short_against_the_links() {
        assert_eq!(page_lifetime(Duration::from_secs(3600)), MAX_PAGE_LIFETIME);
        assert_eq!(
            page_lifetime(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn request_id_is_replaced_in_place() {
        let body = Bytes::from_static(br#"{"RequestId":"AAAA-1","X":"AAAA-1"}"#);
        let page = RenderedPage::new(body.clone(), "AAAA-1", 7).unwrap();
        let spliced = page.with_request_id("BBBB-2").unwrap();
        assert_eq!(
            http_body::Body::size_hint(&spliced).exact(),
            Some(body.len() as u64)
        );
        assert_eq!(
            spliced.to_vec(),
            br#"{"RequestId":"BBBB-2","X":"AAAA-1"}"#.to_vec()
        );
        // The page itself keeps the id it was rendered with; every hit gets its own.
        assert_eq!(
            page.with_request_id("CCCC-3").unwrap().to_vec(),
            br#"{"RequestId":"CCCC-3","X":"AAAA-1"}"#.to_vec()
        );
        assert!(page.with_request_id("short").is_none());
        assert!(RenderedPage::new(body, "DDDD", 7).is_none());
    }
}
