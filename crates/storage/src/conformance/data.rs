//! Test bytes: a deterministic pattern, in memory or streamed without being held.

use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Deterministic pseudo-random bytes (xorshift), different for each `seed`.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in out.chunks_mut(8) {
        state = xorshift(state);
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// An [`AsyncRead`] producing `len` pattern bytes on the fly, never holding more than one
/// read's worth: for uploads larger than the memory they may use. Counts what was read.
pub struct PatternReader {
    remaining: u64,
    state: u64,
    hasher: Sha256,
    read: Arc<AtomicU64>,
}

impl PatternReader {
    pub fn new(len: u64, seed: u64) -> Self {
        PatternReader {
            remaining: len,
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            hasher: Sha256::new(),
            read: Arc::default(),
        }
    }

    /// Bytes handed out so far, readable while the reader is in use.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }

    /// SHA-256 (hex) of everything read, once it was read to the end.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl AsyncRead for PatternReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.remaining).min(1 << 20) as usize / 8 * 8;
        let n = if n == 0 {
            (self.remaining as usize).min(buf.remaining())
        } else {
            n
        };
        let start = buf.filled().len();
        let mut filled = 0;
        while filled < n {
            self.state = xorshift(self.state);
            let bytes = self.state.to_le_bytes();
            let take = (n - filled).min(8);
            buf.put_slice(&bytes[..take]);
            filled += take;
        }
        let this = &mut *self;
        this.hasher.update(&buf.filled()[start..]);
        this.remaining -= n as u64;
        this.read.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}
