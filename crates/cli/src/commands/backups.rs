//! `xbak backups list|download`: the everyday jobs, through the API (so they work against any
//! xbak endpoint and against Alibaba Cloud itself), with the SDK.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use xbak_sdk::{
    Client, CrossRegionBackupItem, DescribeAvailableRecoveryTimeRequest,
    DescribeCrossRegionBackupsRequest, DownloadEvent, DownloadOptions, DownloadRequest,
};

use super::api_client::{exit_with, CliError, ClientArgs, CREDENTIALS_HELP, EXIT_CODES_HELP};
use super::listing::{csv_cell, human_size, write_aligned, Output, WindowArgs};

#[derive(Subcommand)]
pub enum Cmd {
    /// List an instance's cross-region backups (every page).
    #[command(after_help = format!("{LIST_HELP}\n{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}"))]
    List(ListArgs),
    /// Download one cross-region backup set: resumable, renews expired links, verified.
    #[command(after_help = format!("{DOWNLOAD_HELP}\n{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}"))]
    Download(DownloadArgs),
    /// List an instance's binlog files copied to other regions (every page).
    #[command(after_help = format!("{}\n{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}", super::backup_logs::LOGS_HELP))]
    Logs(super::backup_logs::LogsArgs),
}

const LIST_HELP: &str = "\
Examples:
  xbak backups list rm-demo --region cn-hangzhou                  # the last 7 days
  xbak backups list rm-demo --since 30d --output csv > backups.csv
  xbak backups list rm-demo --start 2026-11-01T00:00Z --end 2026-12-01T00:00Z --output json
  xbak backups list rm-demo --since 1d --windows       # and how far each can be restored to

--windows asks DescribeAvailableRecoveryTime for each copy: a restore of it reaches from its
consistent time through the binlog files copied to its region (RESTORABLE in the table;
RecoveryBeginTime/RecoveryEndTime in json and csv). A failed copy has none.
";

const DOWNLOAD_HELP: &str = "\
Examples:
  xbak backups download rm-demo 14358 --region cn-hangzhou        # to ./<CrossBackupSetFile>
  xbak backups download rm-demo 14358 -o /backups/                # into a folder
  xbak backups download rm-demo 14358 -o set.tar.gz --sha256 9f86d08…

Bytes go to PATH.part (PATH.part.json says which backup they belong to); running the same
command again after an interruption continues where it stopped (HTTP Range) and asks for a
fresh link when the saved one expired. At the end the size must equal CrossBackupSetSize;
the SHA-256 is computed and printed (`<sha256>  <path>` on stdout, the sha256sum format) and
compared with --sha256 when given (xbak's listing carries no checksum; `xbak backup register`
prints the SHA-256 it stored). When the object store sends x-oss-hash-crc64ecma (Alibaba OSS
does), the CRC-64 is checked too. PATH appears only after every check passed.
";

#[derive(clap::Args)]
pub struct ListArgs {
    /// The instance (DBInstanceId).
    db_instance_id: String,
    /// Backups started in this window.
    #[command(flatten)]
    window: WindowArgs,
    /// Only copies in this destination region.
    #[arg(long, value_name = "REGION")]
    cross_region: Option<String>,
    /// With each copy's recovery window (DescribeAvailableRecoveryTime).
    #[arg(long)]
    windows: bool,
    /// table (for people), json (an array of the API's items) or csv.
    #[arg(long, short = 'O', value_enum, default_value = "table")]
    output: Output,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args)]
pub struct DownloadArgs {
    /// The instance (DBInstanceId).
    db_instance_id: String,
    /// The backup's CrossBackupId (see `xbak backups list`).
    cross_backup_id: i64,
    /// Destination file or existing folder (default: CrossBackupSetFile in the current folder).
    #[arg(short = 'o', long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Expected SHA-256 (hex); the download fails when the bytes differ.
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// Replace an existing destination file.
    #[arg(long)]
    force: bool,
    /// Discard a partial download instead of continuing it.
    #[arg(long)]
    no_resume: bool,
    /// Bandwidth cap, bytes per second (suffixes K, M, G, T: 1024-based), e.g. 20M; `0`:
    /// unlimited.
    #[arg(long, value_name = "RATE")]
    limit_rate: Option<String>,
    /// No progress bar and no messages; errors only.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    client: ClientArgs,
}

pub async fn run(cmd: Cmd) -> anyhow::Result<()> {
    let result = match cmd {
        Cmd::List(a) => list(a).await,
        Cmd::Download(a) => download(a).await,
        Cmd::Logs(a) => super::backup_logs::logs(a).await,
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => exit_with(e),
    }
}

async fn list(a: ListArgs) -> Result<(), CliError> {
    let (start, end) = a.window.resolve()?;
    let client = a.client.client()?;
    let mut req = DescribeCrossRegionBackupsRequest::new(&a.db_instance_id).window(&start, &end);
    req.cross_backup_region = a.cross_region.clone();
    let items = client
        .describe_cross_region_backups_pages(req)
        .collect_items()
        .await?;
    let windows = if a.windows {
        Some(recovery_windows(&client, &a.db_instance_id, &items).await?)
    } else {
        None
    };
    let windows = windows.as_deref();
    let mut out = std::io::stdout().lock();
    match a.output {
        Output::Json => {
            let mut values = Vec::with_capacity(items.len());
            for (n, item) in items.iter().enumerate() {
                let mut v =
                    serde_json::to_value(item).map_err(|e| CliError::Other(e.to_string()))?;
                if let (Some(w), Some(object)) = (window_of(windows, n), v.as_object_mut()) {
                    object.insert("RecoveryBeginTime".into(), w.0.clone().into());
                    object.insert("RecoveryEndTime".into(), w.1.clone().into());
                }
                values.push(v);
            }
            let text = serde_json::to_string_pretty(&values)
                .map_err(|e| CliError::Other(e.to_string()))?;
            writeln!(out, "{text}")?;
        }
        Output::Csv => write_csv(&mut out, &items, windows)?,
        Output::Table => {
            if items.is_empty() {
                eprintln!(
                    "no cross-region backups of {} started between {start} and {end}",
                    a.db_instance_id
                );
            } else {
                write_table(&mut out, &items, windows)?;
            }
        }
    }
    Ok(())
}

/// A copy's recovery window: `RecoveryBeginTime`, `RecoveryEndTime`.
type Window = (String, String);

/// The window of each listed copy (`None` for a failed one, which has no file to restore).
async fn recovery_windows(
    client: &Client,
    db_instance_id: &str,
    items: &[CrossRegionBackupItem],
) -> Result<Vec<Option<Window>>, CliError> {
    let mut windows = Vec::with_capacity(items.len());
    for item in items {
        if item.backup_set_status != 0 {
            windows.push(None);
            continue;
        }
        let req = DescribeAvailableRecoveryTimeRequest::new(item.cross_backup_id)
            .db_instance_id(db_instance_id);
        let w = client.describe_available_recovery_time(&req).await?;
        windows.push(Some((w.recovery_begin_time, w.recovery_end_time)));
    }
    Ok(windows)
}

/// The window of item `n`, when windows were asked for and it has one.
fn window_of(windows: Option<&[Option<Window>]>, n: usize) -> Option<&Window> {
    windows.and_then(|w| w.get(n)).and_then(Option::as_ref)
}

fn write_table(
    out: &mut impl Write,
    items: &[CrossRegionBackupItem],
    windows: Option<&[Option<Window>]>,
) -> std::io::Result<()> {
    let mut header = vec![
        "ID",
        "START (UTC)",
        "METHOD/TYPE",
        "SIZE",
        "STATUS",
        "REGION",
    ];
    if windows.is_some() {
        header.push("RESTORABLE (UTC)");
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let mut row = vec![
                i.cross_backup_id.to_string(),
                i.backup_start_time.clone(),
                format!(
                    "{}/{}",
                    method_name(&i.backup_method),
                    type_name(&i.backup_type)
                ),
                human_size(i.cross_backup_set_size),
                match i.backup_set_status {
                    0 => "ok".to_owned(),
                    1 => "failed".to_owned(),
                    n => n.to_string(),
                },
                i.cross_backup_region.clone(),
            ];
            if windows.is_some() {
                row.push(
                    window_of(windows, n).map_or("-".to_owned(), |(b, e)| format!("{b} .. {e}")),
                );
            }
            row
        })
        .collect();
    write_aligned(out, &header, &rows, &[0, 3])
}

fn write_csv(
    out: &mut impl Write,
    items: &[CrossRegionBackupItem],
    windows: Option<&[Option<Window>]>,
) -> std::io::Result<()> {
    let extra = if windows.is_some() {
        ",RecoveryBeginTime,RecoveryEndTime"
    } else {
        ""
    };
    writeln!(
        out,
        "CrossBackupId,BackupStartTime,BackupEndTime,BackupMethod,BackupType,CrossBackupSetSize,\
         BackupSetStatus,CrossBackupRegion,CrossBackupSetFile{extra}"
    )?;
    for (n, i) in items.iter().enumerate() {
        let mut cells = vec![
            i.cross_backup_id.to_string(),
            i.backup_start_time.clone(),
            i.backup_end_time.clone(),
            i.backup_method.clone(),
            i.backup_type.clone(),
            i.cross_backup_set_size.to_string(),
            i.backup_set_status.to_string(),
            i.cross_backup_region.clone(),
            i.cross_backup_set_file.clone(),
        ];
        if windows.is_some() {
            let (begin, end) = window_of(windows, n).cloned().unwrap_or_default();
            cells.extend([begin, end]);
        }
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn method_name(m: &str) -> &str {
    match m {
        "P" => "physical",
        "L" => "logical",
        other => other,
    }
}

fn type_name(t: &str) -> &str {
    match t {
        "F" => "full",
        "I" => "incremental",
        other => other,
    }
}

async fn download(a: DownloadArgs) -> Result<(), CliError> {
    let max_bytes_per_sec = a
        .limit_rate
        .as_deref()
        .map(xbak_domain::rate::parse_rate)
        .transpose()
        .map_err(CliError::Usage)?;
    let client = a.client.client()?;
    let req = DownloadRequest {
        db_instance_id: a.db_instance_id.clone(),
        region_id: a
            .client
            .region
            .clone()
            .or_else(|| client.region_id().map(str::to_owned)),
        cross_backup_id: a.cross_backup_id,
    };
    let (dest, item) = destination(&client, &req, a.output.as_ref()).await?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::Other(format!("cannot create the folder {}: {e}", dir.display()))
        })?;
    }
    if dest.exists() && !a.force {
        return Err(CliError::Other(format!(
            "{} already exists (use --force to replace it)",
            dest.display()
        )));
    }
    let mut opts = DownloadOptions::new(&dest);
    opts.resume = !a.no_resume;
    opts.overwrite = a.force;
    opts.expected_sha256 = a.sha256.as_ref().map(|s| s.to_ascii_lowercase());
    opts.item = item;
    opts.max_bytes_per_sec = max_bytes_per_sec;

    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        crate::progress::bytes_bar(&format!("backup {}", a.cross_backup_id), 0)
    };
    let began = Instant::now();
    let outcome = client
        .download_cross_region_backup(&req, &opts, &mut show_progress(bar.clone(), a.quiet))
        .await;
    bar.finish_and_clear();
    let out = outcome?;
    if !a.quiet {
        print_summary(&out, began.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Where the download goes, and the listing entry when it had to be described for that: the
/// `-o` file, else the backup's `CrossBackupSetFile` in the `-o` folder (an existing one, or any
/// path ending in `/`) or the current one. Missing folders are created by the caller.
async fn destination(
    client: &xbak_sdk::Client,
    req: &DownloadRequest,
    output: Option<&PathBuf>,
) -> Result<(PathBuf, Option<CrossRegionBackupItem>), CliError> {
    let is_folder = |p: &PathBuf| p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/');
    if let Some(file) = output.filter(|p| !is_folder(p)) {
        return Ok((file.clone(), None));
    }
    let item = client.cross_region_backup(req).await?;
    let name = std::path::Path::new(&item.cross_backup_set_file)
        .file_name()
        .filter(|n| !item.cross_backup_set_file.is_empty() && !n.is_empty())
        .ok_or_else(|| CliError::Other("the listing has no CrossBackupSetFile; use -o".into()))?
        .to_owned();
    let base = output.cloned().unwrap_or_else(|| PathBuf::from("."));
    Ok((base.join(name), Some(item)))
}

/// Renders download events on `bar`; messages go above it, or to stderr when it is hidden
/// (not a terminal), and nowhere when `quiet`.
fn show_progress(bar: indicatif::ProgressBar, quiet: bool) -> impl FnMut(DownloadEvent) + Send {
    let say = {
        let bar = bar.clone();
        move |msg: String| {
            if quiet {
            } else if bar.is_hidden() {
                eprintln!("{msg}");
            } else {
                bar.println(msg);
            }
        }
    };
    move |e: DownloadEvent| match e {
        DownloadEvent::Started { total, offset } => {
            bar.set_length(total);
            bar.set_position(offset);
            if offset > 0 {
                say(format!("resuming at byte {offset} of {total}"));
            }
        }
        DownloadEvent::Progress { done } => bar.set_position(done),
        DownloadEvent::LinkRenewed => say("the download link had expired; got a fresh one".into()),
        DownloadEvent::Retrying { offset, error } => {
            say(format!("retrying from byte {offset}: {error}"))
        }
        DownloadEvent::Verifying => bar.set_message("verifying"),
    }
}

/// What was downloaded and checked (stderr), and `<sha256>  <path>` (stdout, sha256sum's
/// format).
fn print_summary(out: &xbak_sdk::DownloadOutcome, secs: f64) {
    let secs = secs.max(1e-6);
    let fetched = out.size - out.resumed_from;
    let mut checks = vec!["size".to_owned()];
    if out.sha256_verified {
        checks.push("sha256".into());
    }
    if out.crc64_verified {
        checks.push("crc64".into());
    }
    let mut note = String::new();
    if out.resumed_from > 0 {
        note.push_str(&format!("; resumed from byte {}", out.resumed_from));
    }
    if out.links_renewed > 0 {
        note.push_str(&format!("; link renewed {}x", out.links_renewed));
    }
    eprintln!(
        "downloaded {} ({}, {} fetched in {secs:.1} s, {:.1} MiB/s{note}); verified: {}",
        out.path.display(),
        human_size(out.size as i64),
        human_size(fetched as i64),
        fetched as f64 / secs / (1024.0 * 1024.0),
        checks.join(", ")
    );
    println!("{}  {}", out.sha256, out.path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let item = |id, size, status| CrossRegionBackupItem {
            cross_backup_id: id,
            backup_start_time: "2026-11-27T10:00:00Z".into(),
            backup_method: "P".into(),
            backup_type: "F".into(),
            cross_backup_set_size: size,
            backup_set_status: status,
            cross_backup_region: "cn-shanghai".into(),
            ..Default::default()
        };
        let items = [item(7, 1536, 0), item(12, 5 << 30, 1)];
        let mut out = Vec::new();
        write_table(&mut out, &items, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "ID  START (UTC)           METHOD/TYPE       SIZE  STATUS  REGION\n \
             7  2026-11-27T10:00:00Z  physical/full  1.5 KiB  ok      cn-shanghai\n\
             12  2026-11-27T10:00:00Z  physical/full  5.0 GiB  failed  cn-shanghai\n"
        );
        // With windows: one more column, `-` for the failed copy.
        let windows = [
            Some((
                "2026-11-27T10:05:00Z".to_owned(),
                "2026-11-27T11:00:00Z".to_owned(),
            )),
            None,
        ];
        let mut out = Vec::new();
        write_table(&mut out, &items, Some(&windows)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("REGION       RESTORABLE (UTC)"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("cn-shanghai  2026-11-27T10:05:00Z .. 2026-11-27T11:00:00Z"),
            "{text}"
        );
        assert!(lines[2].ends_with("cn-shanghai  -"), "{text}");
    }
}
