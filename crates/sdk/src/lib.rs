//! A Rust client for xbak and for Alibaba Cloud RDS's RPC API (version 2014-08-15): the same
//! wire as the official SDKs, so it works against an xbak endpoint and against
//! `rds.aliyuncs.com` alike.
//!
//! What lives here: [`Client`] (endpoint, credentials, timeouts, [retries](retry)), both
//! [signature schemes](signing) (v3 `ACS3-HMAC-SHA256` by default, v1 `HMAC-SHA1` on request),
//! [credentials](credentials) the way Alibaba's tools keep them (environment variables,
//! `~/.aliyun/config.json` profiles), one module per action with a typed request and response
//! ([`describe_cross_region_backups`], [`modify_instance_cross_backup_policy`],
//! [`describe_instance_cross_backup_policy`], [`describe_available_cross_region`]), a page
//! walker for any listing ([`paging`]), and resumable, verified [downloads](download) of backup
//! sets.
//!
//! What does not: the server, the catalog, storage. This crate depends on `xbak-protocol` only,
//! whose response models and signing primitives it shares with the server.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use xbak_sdk::{Client, Credentials, DescribeCrossRegionBackupsRequest};
//!
//! # async fn run() -> Result<(), xbak_sdk::SdkError> {
//! let client = Client::builder()
//!     .endpoint("http://127.0.0.1:8080") // or "rds.aliyuncs.com"
//!     .credentials(Credentials::new("<AccessKeyId>", "<AccessKeySecret>"))
//!     .region_id("cn-hangzhou")
//!     .build()?;
//!
//! // One page.
//! let req = DescribeCrossRegionBackupsRequest::new("rm-demo")
//!     .window("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
//! let page = client.describe_cross_region_backups(&req).await?;
//! println!("{} backups, first page has {}", page.total_record_count, page.items.len());
//!
//! // Every item of every page.
//! let all: Vec<_> = client
//!     .describe_cross_region_backups_pages(req)
//!     .into_items()
//!     .try_collect()
//!     .await?;
//! for b in &all {
//!     println!("{} {} {} bytes", b.cross_backup_id, b.backup_start_time, b.cross_backup_set_size);
//! }
//!
//! // Any action, as raw JSON (what `xbak rds ACTION --Key value` uses).
//! let v = client
//!     .call("DescribeCrossRegionBackups", &[
//!         ("DBInstanceId".into(), "rm-demo".into()),
//!         ("CrossBackupId".into(), "7".into()),
//!     ])
//!     .await?;
//! println!("{v:#}");
//! # Ok(()) }
//! ```
//!
//! `Client::from_env()` builds the same client from `ALIBABA_CLOUD_ACCESS_KEY_ID`,
//! `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALIBABA_CLOUD_REGION_ID`, `XBAK_ENDPOINT` and the aliyun
//! CLI's profiles (see [`credentials`]).

pub mod action;
pub mod checksum;
pub mod client;
pub mod credentials;
pub mod describe_available_cross_region;
pub mod describe_available_recovery_time;
pub mod describe_binlog_files;
pub mod describe_cross_backup_meta_list;
pub mod describe_cross_region_backup_db_instance;
pub mod describe_cross_region_backups;
pub mod describe_cross_region_log_backup_files;
pub mod describe_instance_cross_backup_policy;
pub mod download;
pub mod endpoint;
pub mod error;
pub mod modify_instance_cross_backup_policy;
pub mod paging;
pub mod retry;
mod setters;
pub mod signing;

pub use action::{Action, Params};
pub use client::{Client, ClientBuilder, RawResponse, RDS_API_VERSION};
pub use credentials::{Credentials, Overrides, Settings};
pub use describe_available_cross_region::{
    DescribeAvailableCrossRegionRequest, DescribeAvailableCrossRegionResponse, RegionList,
};
pub use describe_available_recovery_time::{
    DescribeAvailableRecoveryTimeRequest, DescribeAvailableRecoveryTimeResponse,
};
pub use describe_binlog_files::{
    BinLogFile, BinLogFiles, DescribeBinlogFilesRequest, DescribeBinlogFilesResponse,
};
pub use describe_cross_backup_meta_list::{
    BackupMeta, DescribeCrossBackupMetaListRequest, DescribeCrossBackupMetaListResponse, MetaItems,
};
pub use describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceRequest, DescribeCrossRegionBackupDBInstanceResponse,
    InstanceCrossBackupPolicy, PolicyItems,
};
pub use describe_cross_region_backups::{
    CrossRegionBackupItem, CrossRegionBackupPages, DescribeCrossRegionBackupsRequest,
    DescribeCrossRegionBackupsResponse,
};
pub use describe_cross_region_log_backup_files::{
    CrossLogBackupItem, CrossLogBackupItems, DescribeCrossRegionLogBackupFilesRequest,
    DescribeCrossRegionLogBackupFilesResponse,
};
pub use describe_instance_cross_backup_policy::{
    DescribeInstanceCrossBackupPolicyRequest, DescribeInstanceCrossBackupPolicyResponse,
};
pub use download::{DownloadEvent, DownloadOptions, DownloadOutcome, DownloadRequest};
pub use endpoint::Endpoint;
pub use error::SdkError;
pub use modify_instance_cross_backup_policy::{
    ModifyInstanceCrossBackupPolicyRequest, ModifyInstanceCrossBackupPolicyResponse,
};
pub use paging::{MergedPages, PagerOptions};
pub use retry::RetryPolicy;
pub use signing::{HeaderSelection, HttpMethod, SignatureVersion};
