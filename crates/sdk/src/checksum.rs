//! Checksums for downloads: SHA-256 always, CRC-64/ECMA (OSS's `x-oss-hash-crc64ecma`) when
//! the object store sends it.

use sha2::{Digest, Sha256};

/// CRC-64 as OSS computes it (ECMA-182 polynomial, reflected, init and xor-out all ones; the
/// "CRC-64/XZ" of the CRC catalogue). OSS sends it as a decimal `u64`.
#[derive(Debug, Clone)]
pub struct Crc64(u64);

const POLY: u64 = 0xC96C_5795_D787_0F42;

static TABLE: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl Default for Crc64 {
    fn default() -> Self {
        Crc64(!0)
    }
}

impl Crc64 {
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = TABLE[((c ^ u64::from(b)) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
    /// The checksum of everything added.
    pub fn value(&self) -> u64 {
        !self.0
    }
}

/// The running checksums of a file being written, covering its first `len` bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hashes {
    pub len: u64,
    pub sha256: Sha256,
    pub crc64: Option<Crc64>,
}

impl Hashes {
    pub fn new(with_crc: bool) -> Hashes {
        Hashes {
            len: 0,
            sha256: Sha256::new(),
            crc64: with_crc.then(Crc64::default),
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(c) = &mut self.crc64 {
            c.update(data);
        }
        self.len += data.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::Crc64;

    #[test]
    fn crc64_xz_check_value() {
        let mut c = Crc64::default();
        c.update(b"123456789");
        assert_eq!(c.value(), 0x995D_C9BB_DF19_39FA);
        let mut split = Crc64::default();
        split.update(b"1234");
        split.update(b"56789");
        assert_eq!(split.value(), c.value());
        assert_eq!(Crc64::default().value(), 0);
    }
}
