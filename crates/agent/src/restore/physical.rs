//! Physical restores: each set of the chain is unpacked with `mbstream -x` as it downloads
//! (the full set into the data directory, incrementals beside it), then `mariabackup
//! --prepare` makes the full set consistent and applies each incremental in order. The
//! prepared directory is what `mariadbd` starts from; verification does exactly that.

use super::fetch::HashingReader;
use super::scratch::ScratchServer;
use super::{
    beside, check_and_roll_forward, require_empty_dir, ChainLink, Ctx, RestoreError,
    RestoreProgress, RestoreTarget, Restored,
};
use crate::backup::{Manifest, PHYSICAL_MANIFEST_FILE};
use crate::tools::{check_status, pipe_command, spawn_error, StderrTail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::process::Command;

pub(super) async fn restore(
    ctx: &Ctx<'_>,
    chain: &[ChainLink],
    target: &RestoreTarget,
) -> Result<Restored, RestoreError> {
    let mut drill_dir = None;
    let datadir: PathBuf = match target {
        RestoreTarget::Server(_) => return Err(RestoreError::Unsupported(
            "a physical set restores into a data directory: use --datadir DIR (or --verify-only)"
                .into(),
        )),
        RestoreTarget::DataDir(dir) => {
            require_empty_dir(dir)?;
            dir.clone()
        }
        RestoreTarget::Drill => {
            let tmp = ctx.temp_dir("xbak-drill-")?;
            let dir = tmp.path().join("datadir");
            drill_dir = Some(tmp);
            dir
        }
    };
    let work = ctx.temp_dir("xbak-restore-")?;
    let mut manifest = None;
    let mut fetched = 0;
    let mut incremental_dirs = Vec::new();
    for (i, link) in chain.iter().enumerate() {
        let dir = if i == 0 {
            datadir.clone()
        } else {
            work.path().join(format!("inc-{i}"))
        };
        std::fs::create_dir_all(&dir)?;
        (ctx.progress)(RestoreProgress::Step(format!(
            "fetching set {} ({}/{})",
            link.backup_set.id,
            i + 1,
            chain.len()
        )));
        fetched += unpack(ctx, i, link, &dir).await?;
        let path = dir.join(PHYSICAL_MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            RestoreError::Integrity(format!(
                "{} holds no {PHYSICAL_MANIFEST_FILE}: {e}",
                link.object_key
            ))
        })?;
        std::fs::remove_file(&path)?;
        manifest = Some(Manifest::from_json(&bytes).map_err(RestoreError::Integrity)?);
        if i > 0 {
            incremental_dirs.push(dir);
        }
    }
    let manifest = manifest.expect("a chain has at least one set");

    (ctx.progress)(RestoreProgress::Step("mariabackup --prepare".into()));
    prepare(ctx, &datadir, None).await?;
    for (i, inc) in incremental_dirs.iter().enumerate() {
        (ctx.progress)(RestoreProgress::Step(format!(
            "mariabackup --prepare --incremental-dir ({}/{})",
            i + 1,
            incremental_dirs.len()
        )));
        prepare(ctx, &datadir, Some(inc)).await?;
    }
    drop(work);
    // After the prepare, which gives a manifest still coming that much time to arrive.
    let last = chain.last().expect("a chain has at least one set");
    let (manifest, tables_from) = beside::with_tables(ctx, last, manifest).await?;

    (ctx.progress)(RestoreProgress::Step(
        "starting mariadbd on the prepared data".into(),
    ));
    let server = ScratchServer::start(&ctx.config.tools, &datadir, true).await?;
    let checked = check_and_roll_forward(ctx, &server.endpoint(), &manifest).await;
    server.shutdown().await?;
    let checked = checked?;
    let target = match drill_dir {
        Some(tmp) => {
            drop(tmp);
            "a scratch data directory (removed)".to_owned()
        }
        None => datadir.display().to_string(),
    };
    Ok(Restored {
        tables_from,
        ..Restored::new(manifest, fetched, target, checked)
    })
}

/// Streams set `index` of the chain into `mbstream -x -C dir`; returns the bytes fetched.
async fn unpack(
    ctx: &Ctx<'_>,
    index: usize,
    link: &ChainLink,
    dir: &Path,
) -> Result<u64, RestoreError> {
    let tools = &ctx.config.tools;
    let reader = ctx.fetcher.open(&link.region_id, &link.object_key).await?;
    let counter = Arc::new(AtomicU64::new(0));
    let mut source = HashingReader::new(reader, counter.clone());
    let mut child = pipe_command(&tools.mbstream, Stdio::piped(), Stdio::null())
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .spawn()
        .map_err(spawn_error(&tools.mbstream))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let total = link.backup_set.size_bytes.max(0) as u64;
    let copy = async {
        let r = tokio::io::copy(&mut source, &mut stdin).await;
        drop(stdin);
        r
    };
    let ticker = ctx.report_fetching(index, &counter, total);
    let copied = tokio::select! {
        r = copy => r,
        _ = ticker => unreachable!("the ticker never ends"),
    };
    let out = child.wait_with_output().await?;
    check_status(
        "mbstream",
        out.status,
        &StderrTail::from_output(&out.stderr),
    )?;
    copied.map_err(|e| RestoreError::Fetch {
        key: link.object_key.clone(),
        message: e.to_string(),
    })?;
    ctx.check_fetched(index, link, source.finish())
}

/// `mariabackup --prepare` of `datadir`, applying `incremental` when given.
async fn prepare(
    ctx: &Ctx<'_>,
    datadir: &Path,
    incremental: Option<&Path>,
) -> Result<(), RestoreError> {
    let tools = &ctx.config.tools;
    let mut cmd = Command::new(&tools.mariabackup);
    cmd.arg("--prepare")
        .arg(format!("--target-dir={}", datadir.display()));
    if let Some(inc) = incremental {
        cmd.arg(format!("--incremental-dir={}", inc.display()));
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(spawn_error(&tools.mariabackup))?;
    check_status(
        "mariabackup --prepare",
        out.status,
        &StderrTail::from_output(&out.stderr),
    )?;
    Ok(())
}
