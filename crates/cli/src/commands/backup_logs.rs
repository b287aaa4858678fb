//! `xbak backups logs`: an instance's binlog files copied to other regions
//! (`DescribeCrossRegionLogBackupFiles`, every page), as a table, json or csv.

use std::io::Write;

use xbak_sdk::{CrossLogBackupItem, DescribeCrossRegionLogBackupFilesRequest};

use super::api_client::{CliError, ClientArgs};
use super::listing::{csv_cell, human_size, write_aligned, Output, WindowArgs};

pub const LOGS_HELP: &str = "\
Examples:
  xbak backups logs rm-demo --region cn-hangzhou                  # files with events in the last 7 days
  xbak backups logs rm-demo --since 2h --cross-region cn-shanghai --output csv

--region is the instance's region (RegionId); the files listed are its copies in other regions,
each with a signed download link (json and csv).
";

/// Pages asked for: the largest the API allows.
const PAGE_SIZE: u32 = 100;

#[derive(clap::Args)]
pub struct LogsArgs {
    /// The instance (DBInstanceId).
    db_instance_id: String,
    /// Files with events in this window.
    #[command(flatten)]
    window: WindowArgs,
    /// Only copies in this destination region.
    #[arg(long, value_name = "REGION")]
    cross_region: Option<String>,
    /// table (for people), json (an array of the API's items) or csv.
    #[arg(long, short = 'O', value_enum, default_value = "table")]
    output: Output,
    #[command(flatten)]
    client: ClientArgs,
}

pub async fn logs(a: LogsArgs) -> Result<(), CliError> {
    let (start, end) = a.window.resolve()?;
    let client = a.client.client()?;
    let region = client.region_id().map(str::to_owned).ok_or_else(|| {
        CliError::Usage(
            "say the instance's region: --region, ALIBABA_CLOUD_REGION_ID or a profile".into(),
        )
    })?;
    let mut items: Vec<CrossLogBackupItem> = Vec::new();
    for page in 1.. {
        let mut req = DescribeCrossRegionLogBackupFilesRequest::new(
            a.db_instance_id.clone(),
            region.clone(),
            start.clone(),
            end.clone(),
        )
        .page_size(PAGE_SIZE)
        .page_number(page);
        req.cross_backup_region = a.cross_region.clone();
        let resp = client.describe_cross_region_log_backup_files(&req).await?;
        let received = resp.items.item.len();
        items.extend(resp.items.item);
        if received < PAGE_SIZE as usize || items.len() as u64 >= resp.total_record_count {
            break;
        }
    }
    let mut out = std::io::stdout().lock();
    match a.output {
        Output::Json => {
            let text =
                serde_json::to_string_pretty(&items).map_err(|e| CliError::Other(e.to_string()))?;
            writeln!(out, "{text}")?;
        }
        Output::Csv => write_csv(&mut out, &items)?,
        Output::Table if items.is_empty() => eprintln!(
            "no binlog files of {} copied to other regions with events between {start} and {end}",
            a.db_instance_id
        ),
        Output::Table => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|i| {
                    vec![
                        i.cross_log_backup_id.to_string(),
                        i.log_file_name.clone(),
                        human_size(i.cross_log_backup_size),
                        format!("{} .. {}", i.log_begin_time, i.log_end_time),
                        i.cross_backup_region.clone(),
                    ]
                })
                .collect();
            let header = ["ID", "FILE", "SIZE", "EVENTS (UTC)", "REGION"];
            write_aligned(&mut out, &header, &rows, &[0, 2])?;
        }
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, items: &[CrossLogBackupItem]) -> std::io::Result<()> {
    writeln!(
        out,
        "CrossLogBackupId,LogFileName,CrossLogBackupSize,LogBeginTime,LogEndTime,\
         CrossBackupRegion,InstanceId,CrossDownloadLink,LinkExpiredTime"
    )?;
    for i in items {
        let cells = [
            i.cross_log_backup_id.to_string(),
            i.log_file_name.clone(),
            i.cross_log_backup_size.to_string(),
            i.log_begin_time.clone(),
            i.log_end_time.clone(),
            i.cross_backup_region.clone(),
            i.instance_id.to_string(),
            i.cross_download_link.clone(),
            i.link_expired_time.clone(),
        ];
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}
