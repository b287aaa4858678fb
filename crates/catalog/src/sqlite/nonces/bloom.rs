//! A blocked Bloom filter over claim fingerprints: each fingerprint picks one 512-bit block (one
//! cache line) and sets 8 bits in it, so a lookup costs one memory access.
//!
//! The block of a fingerprint is `(h × blocks) >> 64` of its first word, so a filter of `2n`
//! blocks folds exactly into one of `n` ([`Filter::fold`]): block `b` of `2n` is block `b / 2` of
//! `n`. A filter can so be made large before its claims are counted, then halved to their size.
//!
//! Hand-written rather than from a crate: the keys are already uniform 128-bit hashes (a crate
//! would hash them again), and the bits are stored in the nonces file and read by every server on
//! it, so their layout is a file format fixed here, not a crate's internal layout that may change
//! between versions.

/// Bits per claim. With 8 bits set per claim in 512-bit blocks, about one lookup in a thousand
/// of a fingerprint not in the set answers "maybe".
pub(crate) const BITS_PER_CLAIM: usize = 16;
/// Bits in a block.
pub(crate) const BLOCK_BITS: usize = BLOCK_WORDS * 64;
const BLOCK_WORDS: usize = 8;
/// The first byte of a stored filter: its layout.
const FORMAT: u8 = 1;

/// A set of fingerprints that answers "surely not" or "maybe".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    blocks: Vec<[u64; BLOCK_WORDS]>,
}

impl Filter {
    /// An empty filter sized for `claims` fingerprints.
    pub(crate) fn with_capacity(claims: usize) -> Filter {
        let blocks = (claims.max(1) * BITS_PER_CLAIM).div_ceil(BLOCK_WORDS * 64);
        Filter {
            blocks: vec![[0; BLOCK_WORDS]; blocks],
        }
    }

    /// An empty filter of `blocks` blocks (at least one).
    pub(crate) fn with_blocks(blocks: usize) -> Filter {
        Filter {
            blocks: vec![[0; BLOCK_WORDS]; blocks.max(1)],
        }
    }

    /// Its blocks.
    pub(crate) fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Halves it (an even number of blocks): every fingerprint it held, it still holds; the
    /// false "maybe"s become as many as if its fingerprints had been inserted into the half.
    pub(crate) fn fold(&mut self) {
        debug_assert!(self.blocks.len().is_multiple_of(2));
        let half = self.blocks.len() / 2;
        for b in 0..half {
            let mut block = self.blocks[2 * b];
            for (word, other) in block.iter_mut().zip(self.blocks[2 * b + 1]) {
                *word |= other;
            }
            self.blocks[b] = block;
        }
        // A new allocation rather than `truncate` and `shrink_to_fit`: mimalloc's `realloc` keeps
        // a block shrunk by at most half where it is, so a filter folded once held all its memory.
        self.blocks = self.blocks[..half].to_vec();
    }

    /// The block and the 8 bits (0..512) of `fp`: the block from the first 8 bytes, the bits
    /// from 9-bit slices of the last 8 and one byte of the first.
    fn place(&self, fp: &[u8; 16]) -> (usize, [u16; 8]) {
        let (head, tail) = fp.split_at(8);
        let h1 = u64::from_le_bytes(head.try_into().unwrap_or_default());
        let h2 = u64::from_le_bytes(tail.try_into().unwrap_or_default());
        let block = ((u128::from(h1) * self.blocks.len() as u128) >> 64) as usize;
        let mut bits = [0u16; 8];
        for (i, bit) in bits.iter_mut().enumerate().take(7) {
            *bit = ((h2 >> (9 * i)) & 511) as u16;
        }
        bits[7] = (((h2 >> 63) | ((h1 & 0xff) << 1)) & 511) as u16;
        (block, bits)
    }

    pub(crate) fn insert(&mut self, fp: &[u8; 16]) {
        let (block, bits) = self.place(fp);
        let block = &mut self.blocks[block];
        for bit in bits {
            block[usize::from(bit / 64)] |= 1 << (bit % 64);
        }
    }

    /// `false`: `fp` was never inserted; `true`: it may have been.
    pub(crate) fn may_contain(&self, fp: &[u8; 16]) -> bool {
        let (block, bits) = self.place(fp);
        let block = &self.blocks[block];
        bits.iter()
            .all(|&bit| block[usize::from(bit / 64)] & (1 << (bit % 64)) != 0)
    }

    /// The stored form: the format byte, then every word little-endian.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.blocks.len() * BLOCK_WORDS * 8);
        out.push(FORMAT);
        for word in self.blocks.iter().flatten() {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Reads [`Filter::to_bytes`]; `None` for anything else.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Filter> {
        let (&format, words) = bytes.split_first()?;
        let block_bytes = BLOCK_WORDS * 8;
        if format != FORMAT || words.is_empty() || words.len() % block_bytes != 0 {
            return None;
        }
        let blocks = words
            .chunks_exact(block_bytes)
            .map(|block| {
                let mut out = [0u64; BLOCK_WORDS];
                for (word, bytes) in out.iter_mut().zip(block.chunks_exact(8)) {
                    *word = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                }
                out
            })
            .collect();
        Some(Filter { blocks })
    }

    /// Bytes of memory its bits take.
    pub(crate) fn bytes(&self) -> usize {
        self.blocks.len() * BLOCK_WORDS * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn fp(i: u64) -> [u8; 16] {
        let digest = Sha256::digest(i.to_le_bytes());
        digest[..16].try_into().unwrap()
    }

    #[test]
    fn holds_what_was_inserted_and_rarely_answers_maybe_for_the_rest() {
        let n = 50_000;
        let mut filter = Filter::with_capacity(n);
        (0..n as u64).for_each(|i| filter.insert(&fp(i)));
        assert!((0..n as u64).all(|i| filter.may_contain(&fp(i))));
        let others = 200_000u64;
        let maybes = (n as u64..n as u64 + others)
            .filter(|&i| filter.may_contain(&fp(i)))
            .count();
        // Expected about 0.1 %; a filter that sets too few bits or uses too few blocks fails.
        assert!(maybes < 600, "{maybes} false maybes of {others}");
        assert!(
            filter.bytes() - n * BITS_PER_CLAIM / 8 < 64,
            "2 bytes a claim, whole blocks"
        );
    }

    #[test]
    fn a_folded_filter_holds_what_the_large_one_held() {
        let n = 20_000;
        let mut filter = Filter::with_blocks(4 * n * BITS_PER_CLAIM / BLOCK_BITS);
        (0..n as u64).for_each(|i| filter.insert(&fp(i)));
        filter.fold();
        filter.fold();
        assert_eq!(filter.bytes(), n * BITS_PER_CLAIM / 8);
        assert!((0..n as u64).all(|i| filter.may_contain(&fp(i))));
        // Folded twice it is the filter the claims would have made at its size.
        let mut direct = Filter::with_blocks(n * BITS_PER_CLAIM / BLOCK_BITS);
        (0..n as u64).for_each(|i| direct.insert(&fp(i)));
        assert_eq!(filter, direct);
    }

    #[test]
    fn the_stored_form_reads_back_and_nothing_else_does() {
        let mut filter = Filter::with_capacity(1_000);
        (0..1_000).for_each(|i| filter.insert(&fp(i)));
        let bytes = filter.to_bytes();
        assert_eq!(Filter::from_bytes(&bytes), Some(filter));
        assert_eq!(Filter::from_bytes(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Filter::from_bytes(&[FORMAT]), None);
        let mut other_format = bytes.clone();
        other_format[0] = FORMAT + 1;
        assert_eq!(Filter::from_bytes(&other_format), None);
        assert_eq!(Filter::from_bytes(&[]), None);
    }
}
