//! Logical restores: download → gunzip → untar → the `mariadb` client, in one stream (a
//! blocking thread does the decompression and the tar walk; nothing is written to disk).

use super::fetch::HashingReader;
use super::scratch::ScratchServer;
use super::{
    check_and_roll_forward, require_empty_dir, ChainLink, Checked, Ctx, RestoreError,
    RestoreProgress, RestoreTarget, Restored,
};
use crate::backup::{parse_tar_header, tar_padding, Manifest, DUMP_DIR, LOGICAL_MANIFEST_ENTRY};
use crate::db::Endpoint;
use crate::tools::{check_status, pipe_command, spawn_error, OptionFile, StderrTail};
use flate2::read::GzDecoder;
use std::io::{self, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader as AsyncBufReader};
use tokio_util::io::SyncIoBridge;

pub(super) async fn restore(
    ctx: &Ctx<'_>,
    link: &ChainLink,
    target: &RestoreTarget,
) -> Result<Restored, RestoreError> {
    match target {
        RestoreTarget::Server(dsn) => {
            let endpoint = Endpoint::Tcp(dsn.clone());
            let (manifest, fetched) = load(ctx, link, &endpoint).await?;
            let checked = check_and_roll_forward(ctx, &endpoint, &manifest).await?;
            Ok(Restored::new(manifest, fetched, dsn.to_string(), checked))
        }
        RestoreTarget::DataDir(dir) => {
            require_empty_dir(dir)?;
            let (m, f, checked) = into_scratch(ctx, link, dir).await?;
            Ok(Restored::new(m, f, dir.display().to_string(), checked))
        }
        RestoreTarget::Drill => {
            let tmp = ctx.temp_dir("xbak-drill-")?;
            let (m, f, checked) = into_scratch(ctx, link, &tmp.path().join("datadir")).await?;
            Ok(Restored::new(
                m,
                f,
                "a scratch server (removed)".into(),
                checked,
            ))
        }
    }
}

/// Initialises `dir`, starts a server on it, loads and verifies (and rolls forward), shuts it
/// down cleanly.
async fn into_scratch(
    ctx: &Ctx<'_>,
    link: &ChainLink,
    dir: &std::path::Path,
) -> Result<(Manifest, u64, Checked), RestoreError> {
    (ctx.progress)(RestoreProgress::Step(
        "initialising a data directory".into(),
    ));
    ScratchServer::install(&ctx.config.tools, dir).await?;
    let server = ScratchServer::start(&ctx.config.tools, dir, false).await?;
    let result = async {
        let (manifest, fetched) = load(ctx, link, &server.endpoint()).await?;
        let checked = check_and_roll_forward(ctx, &server.endpoint(), &manifest).await?;
        Ok::<_, RestoreError>((manifest, fetched, checked))
    }
    .await;
    server.shutdown().await?;
    result
}

/// Streams the set into `endpoint` with the `mariadb` client; returns its manifest and the
/// bytes fetched.
async fn load(
    ctx: &Ctx<'_>,
    link: &ChainLink,
    endpoint: &Endpoint,
) -> Result<(Manifest, u64), RestoreError> {
    let tools = &ctx.config.tools;
    (ctx.progress)(RestoreProgress::Step(format!(
        "loading set {} into {endpoint}",
        link.backup_set.id
    )));
    let reader = ctx.fetcher.open(&link.region_id, &link.object_key).await?;
    let counter = Arc::new(AtomicU64::new(0));
    let source = SyncIoBridge::new(HashingReader::new(reader, counter.clone()));
    let options = OptionFile::for_endpoint(endpoint)?;
    let mut child = pipe_command(&tools.mariadb, Stdio::piped(), Stdio::null())
        .arg(options.arg())
        .args(["--binary-mode", "--batch", "--max-allowed-packet=1G"])
        .spawn()
        .map_err(spawn_error(&tools.mariadb))?;
    let sink = SyncIoBridge::new(child.stdin.take().expect("piped stdin"));
    let stderr = child.stderr.take().expect("piped stderr");
    let stderr_task = tokio::spawn(async move {
        let mut tail = StderrTail::default();
        let mut lines = AsyncBufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tail.push(&line);
        }
        tail
    });
    let walk = tokio::task::spawn_blocking(move || {
        let mut gz = GzDecoder::new(BufReader::with_capacity(1 << 20, source));
        let mut sink = sink;
        let result = untar(&mut gz, &mut sink);
        drop(sink); // end of input for the client
        let hashed = gz.into_inner().into_inner().into_inner().finish();
        (result, hashed)
    });
    let total = link.backup_set.size_bytes.max(0) as u64;
    let ticker = ctx.report_fetching(0, &counter, total);
    let (result, hashed) = tokio::select! {
        r = walk => r.map_err(|e| RestoreError::Io(format!("restore thread: {e}")))?,
        _ = ticker => unreachable!("the ticker never ends"),
    };
    let status = child.wait().await?;
    let tail = stderr_task
        .await
        .map_err(|e| RestoreError::Io(format!("reading mariadb's stderr: {e}")))?;
    // The client's own error says more than the broken pipe it caused.
    check_status("mariadb", status, &tail)?;
    let manifest = result.map_err(|e| RestoreError::Io(format!("reading the set: {e}")))?;
    let fetched = ctx.check_fetched(0, link, hashed)?;
    let manifest = manifest.ok_or_else(|| {
        RestoreError::Integrity(format!(
            "{} holds no {LOGICAL_MANIFEST_ENTRY}",
            link.object_key
        ))
    })?;
    let manifest = Manifest::from_json(&manifest).map_err(RestoreError::Integrity)?;
    Ok((manifest, fetched))
}

/// Walks the tar: dump parts go to `sql` in order, the manifest is returned. Reads the stream
/// to its end, so gzip's own CRC is checked and every byte is hashed.
fn untar(gz: &mut impl Read, sql: &mut impl Write) -> io::Result<Option<Vec<u8>>> {
    let mut manifest = None;
    let mut header = [0u8; 512];
    let prefix = format!("{DUMP_DIR}/");
    loop {
        gz.read_exact(&mut header).map_err(|e| {
            io::Error::new(e.kind(), format!("truncated set (no end of archive): {e}"))
        })?;
        let Some(entry) = parse_tar_header(&header).map_err(io::Error::other)? else {
            break;
        };
        let mut data = (&mut *gz).take(entry.size);
        let copied = if entry.regular && entry.name.starts_with(&prefix) {
            io::copy(&mut data, sql)?
        } else if entry.name == LOGICAL_MANIFEST_ENTRY {
            let mut v = Vec::with_capacity(entry.size as usize);
            data.read_to_end(&mut v)?;
            let n = v.len() as u64;
            manifest = Some(v);
            n
        } else {
            io::copy(&mut data, &mut io::sink())?
        };
        if copied != entry.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated set: {} ends early", entry.name),
            ));
        }
        io::copy(
            &mut (&mut *gz).take(tar_padding(entry.size) as u64),
            &mut io::sink(),
        )?;
    }
    io::copy(gz, &mut io::sink())?;
    sql.flush()?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::part_name;

    fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in entries {
            out.extend_from_slice(&crate::backup::tar_header_for_tests(
                name,
                data.len() as u64,
            ));
            out.extend_from_slice(data);
            out.extend(std::iter::repeat_n(0u8, tar_padding(data.len() as u64)));
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    #[test]
    fn parts_are_concatenated_and_the_manifest_kept() {
        let t = tar(&[
            (&part_name(1), b"SELECT 1;\n"),
            (&part_name(2), b"SELECT 2;\n"),
            ("manifest.json", b"{}"),
        ]);
        let mut sql = Vec::new();
        let m = untar(&mut &t[..], &mut sql).unwrap();
        assert_eq!(sql, b"SELECT 1;\nSELECT 2;\n");
        assert_eq!(m.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn a_truncated_set_is_an_error() {
        let t = tar(&[(&part_name(1), b"SELECT 1;\n")]);
        for cut in [100, 512 + 5, t.len() - 1024] {
            assert!(
                untar(&mut &t[..cut], &mut Vec::new()).is_err(),
                "cut at {cut}"
            );
        }
    }
}
