//! The byte path from a tool's stdout to the region's staged upload: a bounded channel of
//! chunks read as an `AsyncRead`, so a tool's output is stored as it is produced and memory
//! stays bounded (a few chunks), however large the set.
//!
//! Logical sets are framed into a tar and gzip-compressed on a blocking thread
//! ([`spawn_tar_gz`]) so that compression runs beside the dump on another core, as
//! `mariadb-dump | gzip` would.

use super::framing::{part_name, tar_header, tar_padding, TAR_END, TAR_PART};
use super::manifest::LOGICAL_MANIFEST_ENTRY;
use bytes::{Bytes, BytesMut};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{self, Write};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// Chunks in flight between producer and upload.
const DEPTH: usize = 4;
/// Compressed bytes gathered before they are handed on.
const OUT_CHUNK: usize = 1024 * 1024;

pub(super) type ChunkSender = mpsc::Sender<io::Result<Bytes>>;

/// A sender of chunks and the reader that yields them in order. An `Err` chunk makes the
/// reader fail (the upload then stores nothing); dropping the sender ends the stream.
pub(super) fn channel() -> (ChunkSender, impl AsyncRead + Send + Unpin) {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(DEPTH);
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tx, tokio_util::io::StreamReader::new(stream))
}

/// Reads `reader` in chunks of up to `chunk` bytes and hands each to `send`; returns the
/// bytes read. `progress` sees the running total.
pub(super) async fn pump<F, Fut>(
    mut reader: impl AsyncRead + Unpin,
    chunk: usize,
    progress: &(dyn Fn(u64) + Sync),
    mut send: F,
) -> io::Result<u64>
where
    F: FnMut(Bytes) -> Fut,
    Fut: std::future::Future<Output = io::Result<()>>,
{
    let mut total = 0u64;
    loop {
        let mut buf = BytesMut::with_capacity(chunk);
        while buf.len() < chunk {
            if reader.read_buf(&mut buf).await? == 0 {
                break;
            }
        }
        if buf.is_empty() {
            return Ok(total);
        }
        total += buf.len() as u64;
        send(buf.freeze()).await?;
        progress(total);
    }
}

/// What the tar/gzip thread is told.
pub(super) enum Piece {
    /// The next bytes of the dump.
    Data(Bytes),
    /// The dump ended well: add the manifest entry and close the archive.
    Finish(Vec<u8>),
}

/// Starts the thread that frames dump bytes as tar entries, gzips them at `level` and sends
/// the result to `out`. Feed it [`Piece`]s; dropping the sender without `Finish` makes the
/// stream fail, so a dump that died never becomes a complete-looking archive.
pub(super) fn spawn_tar_gz(
    out: ChunkSender,
    level: u32,
    mtime: i64,
) -> (mpsc::Sender<Piece>, tokio::task::JoinHandle<io::Result<()>>) {
    let (tx, mut rx) = mpsc::channel::<Piece>(2);
    let handle = tokio::task::spawn_blocking(move || {
        let mut gz = GzEncoder::new(Vec::with_capacity(2 * OUT_CHUNK), Compression::new(level));
        let mut parts = 0u64;
        let zeros = [0u8; 512];
        let hand_on = |gz: &mut GzEncoder<Vec<u8>>, all: bool| -> io::Result<()> {
            if gz.get_ref().len() >= OUT_CHUNK || (all && !gz.get_ref().is_empty()) {
                let buf = std::mem::replace(gz.get_mut(), Vec::with_capacity(2 * OUT_CHUNK));
                out.blocking_send(Ok(Bytes::from(buf)))
                    .map_err(|_| io::Error::other("the upload stopped reading"))?;
            }
            Ok(())
        };
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Piece::Data(bytes) => {
                    debug_assert!(bytes.len() <= TAR_PART);
                    parts += 1;
                    gz.write_all(&tar_header(&part_name(parts), bytes.len() as u64, mtime))?;
                    gz.write_all(&bytes)?;
                    gz.write_all(&zeros[..tar_padding(bytes.len() as u64)])?;
                    hand_on(&mut gz, false)?;
                }
                Piece::Finish(manifest) => {
                    gz.write_all(&tar_header(
                        LOGICAL_MANIFEST_ENTRY,
                        manifest.len() as u64,
                        mtime,
                    ))?;
                    gz.write_all(&manifest)?;
                    gz.write_all(&zeros[..tar_padding(manifest.len() as u64)])?;
                    gz.write_all(&TAR_END)?;
                    gz.try_finish()?;
                    hand_on(&mut gz, true)?;
                    return Ok(());
                }
            }
        }
        let err = io::Error::other("the dump ended without a manifest");
        let _ = out.blocking_send(Err(io::Error::other(err.to_string())));
        Err(err)
    });
    (tx, handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::framing::parse_tar_header;
    use std::io::Read;

    /// Entries of a tar.gz: (name, bytes).
    fn entries(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut tar)
            .unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(e) = parse_tar_header(tar[at..at + 512].try_into().unwrap()).unwrap() {
            at += 512;
            out.push((e.name, tar[at..at + e.size as usize].to_vec()));
            at += e.size as usize + tar_padding(e.size);
        }
        out
    }

    #[tokio::test]
    async fn dump_bytes_become_tar_parts_and_a_manifest() {
        let (tx, mut reader) = channel();
        let (pieces, thread) = spawn_tar_gz(tx, 1, 0);
        let feed = async move {
            for part in [
                &b"CREATE TABLE t (id INT);\n"[..],
                b"INSERT INTO t VALUES (1);\n",
            ] {
                pieces
                    .send(Piece::Data(Bytes::copy_from_slice(part)))
                    .await
                    .unwrap();
            }
            pieces.send(Piece::Finish(b"{}".to_vec())).await.unwrap();
        };
        let mut out = Vec::new();
        let (_, read) = tokio::join!(feed, reader.read_to_end(&mut out));
        read.unwrap();
        thread.await.unwrap().unwrap();
        let e = entries(&out);
        assert_eq!(
            e.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            [
                "dump/part-000001.sql",
                "dump/part-000002.sql",
                "manifest.json"
            ]
        );
        assert_eq!(e[1].1, b"INSERT INTO t VALUES (1);\n");
    }

    #[tokio::test]
    async fn a_dump_that_ends_without_a_manifest_fails_the_stream() {
        let (tx, mut reader) = channel();
        let (pieces, thread) = spawn_tar_gz(tx, 1, 0);
        pieces
            .send(Piece::Data(Bytes::from_static(b"partial")))
            .await
            .unwrap();
        drop(pieces);
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).await.is_err());
        assert!(thread.await.unwrap().is_err());
    }
}
