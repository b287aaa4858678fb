//! Bandwidth limits: one [`Limiter`] (a token bucket in its "theoretical arrival time" form) per
//! destination region, shared by every copy this process runs into that region (backup sets by
//! the replicator, binlog files by the log shipper: one [`Throttles`] for both), and
//! [`Throttled`], a reader that makes a copy's source stream wait for it. Rates are parsed by
//! [`xbak_domain::rate`].
//!
//! A reader pays after reading: `n` bytes read push the bucket's clock `n / rate` seconds ahead,
//! and the next read waits until that clock is reached; an idle bucket's clock is at most
//! `burst` behind now (a full bucket). Over any stretch of time the bytes read are therefore at
//! most `rate × elapsed + rate × burst + one read`.

use std::collections::HashMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A token bucket of `rate` bytes per second holding at most `burst` seconds' worth.
#[derive(Debug)]
pub struct Limiter {
    rate: u64,
    burst: Duration,
    /// When the bytes reserved so far will have been paid for at `rate`.
    paid_until: Mutex<Option<Instant>>,
}

impl Limiter {
    /// `rate` bytes per second (at least 1), bursts up to `burst` seconds' worth.
    pub fn new(rate: u64, burst: Duration) -> Self {
        Limiter {
            rate: rate.max(1),
            burst,
            paid_until: Mutex::new(None),
        }
    }

    /// Bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Records `n` bytes as sent at `now`; returns how long the sender must wait before the
    /// next send.
    pub fn reserve_at(&self, now: Instant, n: u64) -> Duration {
        let cost = Duration::from_secs_f64(n as f64 / self.rate as f64);
        let mut paid = self.paid_until.lock().unwrap_or_else(|p| p.into_inner());
        // An idle bucket fills up to `burst`, no further.
        let start = match *paid {
            Some(t) if t + self.burst > now => t,
            _ => now.checked_sub(self.burst).unwrap_or(now),
        };
        let until = start + cost;
        *paid = Some(until);
        until.saturating_duration_since(now)
    }

    /// [`Limiter::reserve_at`] now.
    pub fn reserve(&self, n: u64) -> Duration {
        self.reserve_at(Instant::now(), n)
    }
}

/// One [`Limiter`] per destination region, created on first use.
#[derive(Debug, Default)]
pub struct Throttles {
    rate: u64,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

/// Bursts allowed by the per-destination limiters.
const BURST: Duration = Duration::from_millis(250);

impl Throttles {
    /// `rate` bytes per second per destination; 0 means unlimited.
    pub fn new(rate: u64) -> Self {
        Throttles {
            rate,
            limiters: Mutex::default(),
        }
    }

    /// The limiter of `region_id`, or `None` when unlimited.
    pub fn for_region(&self, region_id: &str) -> Option<Arc<Limiter>> {
        if self.rate == 0 {
            return None;
        }
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        Some(Arc::clone(
            map.entry(region_id.to_owned())
                .or_insert_with(|| Arc::new(Limiter::new(self.rate, BURST))),
        ))
    }
}

/// A reader whose reads wait for a [`Limiter`] (passes through when it has none).
pub struct Throttled<R> {
    inner: R,
    limiter: Option<Arc<Limiter>>,
    wait: Option<Pin<Box<Sleep>>>,
}

impl<R> Throttled<R> {
    pub fn new(inner: R, limiter: Option<Arc<Limiter>>) -> Self {
        Throttled {
            inner,
            limiter,
            wait: None,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Throttled<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if let Some(wait) = this.wait.as_mut() {
            std::task::ready!(wait.as_mut().poll(cx));
            this.wait = None;
        }
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let n = (buf.filled().len() - before) as u64;
        if let (Some(limiter), true) = (&this.limiter, n > 0) {
            let delay = limiter.reserve(n);
            if !delay.is_zero() {
                this.wait = Some(Box::pin(tokio::time::sleep(delay)));
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_charges_each_byte_once_with_a_bounded_burst() {
        let l = Limiter::new(1000, Duration::from_millis(500));
        let t = Instant::now();
        // A full bucket lets 500 bytes through at once; the next 500 must wait 500 ms.
        assert_eq!(l.reserve_at(t, 500), Duration::ZERO);
        assert_eq!(l.reserve_at(t, 500), Duration::from_millis(500));
        // Paid up to t+1s: at t+1s the bucket is empty again, 250 bytes cost 250 ms.
        let t1 = t + Duration::from_secs(1);
        assert_eq!(l.reserve_at(t1, 750), Duration::from_millis(250));
        // Idle for a long time: the bucket refills to the burst only.
        let t2 = t + Duration::from_secs(100);
        assert_eq!(l.reserve_at(t2, 500), Duration::ZERO);
        assert_eq!(l.reserve_at(t2, 100), Duration::from_millis(100));
    }

    /// 10 KiB/s through a reader on the paused clock: 100 KiB take 10 s of virtual time, less
    /// the burst, give or take one read.
    #[tokio::test(start_paused = true)]
    async fn a_throttled_reader_runs_at_the_rate() {
        let rate = 10 * 1024;
        let limiter = Arc::new(Limiter::new(rate, Duration::from_millis(250)));
        let data = vec![7u8; 100 * 1024];
        let mut reader = Throttled::new(&data[..], Some(limiter));
        let start = Instant::now();
        let mut buf = [0u8; 1024];
        let mut total = 0;
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, data.len());
        let elapsed = start.elapsed();
        // 102_400 bytes at 10_240 B/s = 10 s; the first 250 ms are the burst and the last
        // read's wait comes after the end (the EOF read pays it).
        assert!(
            elapsed >= Duration::from_millis(9_650) && elapsed <= Duration::from_millis(10_000),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_readers_never_wait() {
        let data = vec![1u8; 1 << 20];
        let mut reader = Throttled::new(&data[..], None);
        let start = Instant::now();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), data.len());
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(Throttles::new(0).for_region("x").is_none());
        let t = Throttles::new(5);
        let a = t.for_region("a").unwrap();
        assert!(Arc::ptr_eq(&a, &t.for_region("a").unwrap()));
        assert!(!Arc::ptr_eq(&a, &t.for_region("b").unwrap()));
        assert_eq!(a.rate(), 5);
    }
}
