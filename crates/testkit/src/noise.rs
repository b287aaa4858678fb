//! Deterministic pseudo-random bytes (xorshift64): the same seed gives the same bytes, so a test
//! can regenerate what it wrote, and the bytes do not compress.

use std::io::Write;

/// A stream of pseudo-random bytes.
pub struct Noise {
    x: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise {
            x: 0x9E37_79B9_7F4A_7C15 ^ seed,
        }
    }

    /// Fills `buf` with the next bytes of the stream (eight per step; a short last step is cut).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 7;
            self.x ^= self.x << 17;
            chunk.copy_from_slice(&self.x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// `len` bytes of the stream of `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    Noise::new(seed).fill(&mut out);
    out
}

/// Writes `mib` MiB of the stream of `seed` to `w`, one MiB in memory at a time.
pub fn write_noise(w: &mut impl Write, mib: usize, seed: u64) -> std::io::Result<()> {
    let mut noise = Noise::new(seed);
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        noise.fill(&mut block);
        w.write_all(&block)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_written_in_blocks_as_generated_whole() {
        assert_eq!(noise(1000, 7), noise(1000, 7));
        assert_ne!(noise(1000, 7), noise(1000, 8));
        assert_eq!(noise(13, 7)[..], noise(16, 7)[..13]);
        let mut written = Vec::new();
        write_noise(&mut written, 2, 5).unwrap();
        assert_eq!(written, noise(2 << 20, 5));
    }
}
