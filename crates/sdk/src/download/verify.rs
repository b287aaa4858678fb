//! Checking a downloaded file: the size must equal `CrossBackupSetSize`; SHA-256 is compared
//! with the caller's expected value when there is one; CRC-64 with the object store's
//! `x-oss-hash-crc64ecma` when it sent one. The checksums run across attempts ([`Checksums`]),
//! and a prefix they do not cover (a resumed `.part`) is read back from disk.

use std::io::Read;
use std::path::Path;

use sha2::Digest;

use super::resume::PartFiles;
use crate::checksum::Hashes;
use crate::error::SdkError;

/// What the attempts so far know about the `.part` file's checksums.
#[derive(Debug, Default)]
pub(super) struct Checksums {
    /// Running checksums of the file's first `hashes.len` bytes, when an attempt left them.
    hashes: Option<Hashes>,
    /// The CRC-64 the object store announced (`x-oss-hash-crc64ecma`), once seen.
    crc64_expected: Option<u64>,
}

/// A file that passed every check.
#[derive(Debug)]
pub(super) struct Verified {
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// The store's CRC-64 was checked.
    pub crc64_verified: bool,
    /// The caller's SHA-256 was checked.
    pub sha256_verified: bool,
}

impl Checksums {
    /// Notes the object store's `x-oss-hash-crc64ecma`.
    pub fn expect_crc64(&mut self, crc: u64) {
        self.crc64_expected = Some(crc);
    }

    /// The checksums of the first `len` bytes of `part`: the running ones when they cover
    /// exactly that prefix (with a CRC-64 when one is expected), else read back from the file.
    pub async fn take_prefix(&mut self, part: &Path, len: u64) -> Result<Hashes, SdkError> {
        let need_crc = self.crc64_expected.is_some();
        match self.hashes.take() {
            Some(h) if h.len == len && (h.crc64.is_some() || !need_crc) => Ok(h),
            _ => hash_prefix(part, len, need_crc).await,
        }
    }

    /// Keeps `hashes` for the next attempt or the verification when they cover the `len` bytes
    /// on disk (after a write error the hasher may be ahead of the file: then the next use reads
    /// the prefix back instead).
    pub fn keep(&mut self, hashes: Hashes, len: u64) {
        self.hashes = (hashes.len == len).then_some(hashes);
    }

    /// Checks the `total` bytes of `files.part`. A mismatch removes the `.part` and its
    /// resume state (bad bytes are not kept) and is a [`SdkError::Download`].
    pub async fn verify(
        mut self,
        files: &PartFiles,
        total: u64,
        expected_sha256: Option<&str>,
    ) -> Result<Verified, SdkError> {
        let hashes = self.take_prefix(&files.part, total).await?;
        let size = files.len()?;
        let sha256 = hex::encode(hashes.sha256.clone().finalize());
        let fail = |msg: String| {
            files.discard();
            Err(SdkError::Download(msg))
        };
        if size != total {
            return fail(format!("size {size} != CrossBackupSetSize {total}"));
        }
        let crc64_verified = match (self.crc64_expected, &hashes.crc64) {
            (Some(want), Some(got)) if got.value() != want => {
                return fail(format!(
                    "CRC-64 {} != x-oss-hash-crc64ecma {want}",
                    got.value()
                ))
            }
            (Some(_), Some(_)) => true,
            _ => false,
        };
        let sha256_verified = match expected_sha256 {
            Some(want) if !want.eq_ignore_ascii_case(&sha256) => {
                return fail(format!("SHA-256 {sha256} != expected {want}"))
            }
            Some(_) => true,
            None => false,
        };
        Ok(Verified {
            size,
            sha256,
            crc64_verified,
            sha256_verified,
        })
    }
}

/// Hashes the first `len` bytes of `path` (off the async threads).
async fn hash_prefix(path: &Path, len: u64, with_crc: bool) -> Result<Hashes, SdkError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<Hashes> {
        let mut h = Hashes::new(with_crc);
        if len == 0 {
            return Ok(h);
        }
        let mut f = std::fs::File::open(&path)?.take(len);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h)
    })
    .await
    .map_err(|e| SdkError::Io(std::io::Error::other(e)))?
    .map_err(SdkError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::DownloadRequest;

    fn files(dir: &Path) -> PartFiles {
        let req = DownloadRequest {
            db_instance_id: "rm-x".into(),
            region_id: None,
            cross_backup_id: 1,
        };
        PartFiles::new(&dir.join("f"), &req)
    }

    #[tokio::test]
    async fn running_checksums_are_used_only_when_they_cover_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        std::fs::write(&f.part, b"hello world").unwrap();
        let mut c = Checksums::default();
        let mut wrong = Hashes::new(false);
        wrong.update(b"HELLO");
        c.keep(wrong.clone(), 5);
        // Covers the prefix: taken as is (even though the bytes differ).
        let h = c.take_prefix(&f.part, 5).await.unwrap();
        assert_eq!(h.sha256.finalize(), wrong.sha256.clone().finalize());
        // Another length, or a CRC-64 now expected: read back from the file.
        c.keep(wrong.clone(), 5);
        c.expect_crc64(1);
        let h = c.take_prefix(&f.part, 5).await.unwrap();
        assert_eq!(h.sha256.finalize(), sha2::Sha256::digest(b"hello"));
        assert!(h.crc64.is_some());
        c.keep(wrong, 4);
        assert!(c.hashes.is_none(), "hashes ahead of the file are dropped");
    }

    #[tokio::test]
    async fn size_crc_and_sha256_are_checked_and_a_mismatch_removes_the_part() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let sha = hex::encode(sha2::Sha256::digest(b"abc"));
        std::fs::write(&f.part, b"abc").unwrap();
        let ok = Checksums::default()
            .verify(&f, 3, Some(&sha.to_uppercase()))
            .await
            .unwrap();
        assert_eq!(
            (ok.size, ok.sha256_verified, ok.crc64_verified),
            (3, true, false)
        );
        assert_eq!(ok.sha256, sha);

        let e = Checksums::default().verify(&f, 4, None).await.unwrap_err();
        assert!(
            matches!(e, SdkError::Download(ref m) if m.contains("size 3")),
            "{e}"
        );
        assert!(!f.part.exists());

        std::fs::write(&f.part, b"abc").unwrap();
        let mut c = Checksums::default();
        c.expect_crc64(12345);
        let e = c.verify(&f, 3, None).await.unwrap_err();
        assert!(
            matches!(e, SdkError::Download(ref m) if m.contains("CRC-64")),
            "{e}"
        );
        assert!(!f.part.exists());
    }
}
