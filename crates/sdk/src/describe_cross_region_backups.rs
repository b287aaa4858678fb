//! `DescribeCrossRegionBackups`: typed request, the response model of the protocol crate, and a
//! paginator that yields every item across pages.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::Stream;
use xbak_protocol::time::format_utc;

pub use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsResponse,
};

use crate::action::action;
use crate::client::Client;
use crate::error::SdkError;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossRegionBackups";

/// The largest page the API serves (also what the paginator asks for by default).
pub const MAX_PAGE_SIZE: u32 = 100;

action! {
    /// One page of an instance's cross-region backups.
    fn describe_cross_region_backups(ACTION) -> DescribeCrossRegionBackupsResponse;

    /// Request parameters. `RegionId` falls back to the client's region when `None`. The service
    /// needs `CrossBackupId`, or both `StartTime` and `EndTime`.
    pub struct DescribeCrossRegionBackupsRequest: InstanceScope {
        /// `StartTime`, `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ`.
        start_time: String = "StartTime",
        /// `EndTime`, same format.
        end_time: String = "EndTime",
        /// `CrossBackupId`.
        cross_backup_id: i64 = "CrossBackupId",
        /// `CrossBackupRegion`: destination region filter.
        cross_backup_region: String = "CrossBackupRegion",
        /// `BackupId`: the source backup set.
        backup_id: i64 = "BackupId",
        /// `PageSize`: 30, 50 or 100.
        page_size: u32 = "PageSize",
        /// `PageNumber`, from 1.
        page_number: u32 = "PageNumber",
    }
}

impl DescribeCrossRegionBackupsRequest {
    /// `StartTime` and `EndTime` as strings (sent as given).
    pub fn window(mut self, start: impl Into<String>, end: impl Into<String>) -> Self {
        self.start_time = Some(start.into());
        self.end_time = Some(end.into());
        self
    }
    /// `StartTime` and `EndTime` from instants (formatted `yyyy-MM-ddTHH:mm:ssZ`).
    pub fn window_utc(self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.window(format_utc(start), format_utc(end))
    }
}

impl Client {
    /// Every page of a listing, from `req.page_number` (default 1) with `req.page_size`
    /// (default [`MAX_PAGE_SIZE`]).
    pub fn describe_cross_region_backups_pages(
        &self,
        req: DescribeCrossRegionBackupsRequest,
    ) -> CrossRegionBackupPages {
        CrossRegionBackupPages {
            client: self.clone(),
            next: Some(req.page_number.unwrap_or(1)),
            req: DescribeCrossRegionBackupsRequest {
                page_size: Some(req.page_size.unwrap_or(MAX_PAGE_SIZE)),
                ..req
            },
            seen: HashSet::new(),
            pages: 0,
        }
    }
}

/// Walks the pages of a `DescribeCrossRegionBackups` listing.
///
/// It stops after a page that is empty, shorter than the page size, or that reaches
/// `TotalRecordCount`. Items are de-duplicated by `CrossBackupId`: a copy completing while
/// the walk runs shifts the newest-first order by one, which would otherwise repeat an item on
/// the next page. (An item can still be missed that way; list again to be sure.)
pub struct CrossRegionBackupPages {
    client: Client,
    req: DescribeCrossRegionBackupsRequest,
    next: Option<u32>,
    seen: HashSet<i64>,
    pages: u32,
}

impl CrossRegionBackupPages {
    /// The next page (its `Items` already de-duplicated), or `None` after the last one. An
    /// error ends the walk.
    pub async fn next_page(
        &mut self,
    ) -> Option<Result<DescribeCrossRegionBackupsResponse, SdkError>> {
        let number = self.next.take()?;
        let req = self.req.clone().page_number(number);
        let mut page = match self.client.describe_cross_region_backups(&req).await {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        self.pages += 1;
        let size = u64::from(self.req.page_size.unwrap_or(MAX_PAGE_SIZE));
        let received = page.items.len() as u64;
        let reached_total = u64::from(number) * size >= page.total_record_count;
        if received > 0 && received >= size && !reached_total {
            self.next = number.checked_add(1);
        }
        page.items.retain(|i| self.seen.insert(i.cross_backup_id));
        Some(Ok(page))
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    /// Every item of every remaining page, as a stream.
    pub fn into_items(self) -> impl Stream<Item = Result<CrossRegionBackupItem, SdkError>> {
        futures::stream::unfold(
            (self, std::collections::VecDeque::new(), false),
            |(mut pages, mut buf, failed)| async move {
                loop {
                    if let Some(item) = buf.pop_front() {
                        return Some((Ok(item), (pages, buf, failed)));
                    }
                    if failed {
                        return None;
                    }
                    match pages.next_page().await? {
                        Ok(page) => buf.extend(page.items),
                        Err(e) => return Some((Err(e), (pages, buf, true))),
                    }
                }
            },
        )
    }

    /// Every item of every remaining page, collected.
    pub async fn collect_items(mut self) -> Result<Vec<CrossRegionBackupItem>, SdkError> {
        let mut out = Vec::new();
        while let Some(page) = self.next_page().await {
            out.extend(page?.items);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        let r = DescribeCrossRegionBackupsRequest::new("rm-1")
            .region_id("cn-hangzhou")
            .window("2024-01-01T00:00Z", "2024-01-02T00:00Z")
            .page_size(100)
            .page_number(2);
        let keys: Vec<String> = r.to_params().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "DBInstanceId",
                "RegionId",
                "StartTime",
                "EndTime",
                "PageSize",
                "PageNumber"
            ]
        );
        let r = DescribeCrossRegionBackupsRequest::new("rm-1").cross_backup_id(7);
        assert_eq!(
            r.to_params(),
            vec![
                ("DBInstanceId".to_owned(), "rm-1".to_owned()),
                ("CrossBackupId".to_owned(), "7".to_owned())
            ]
        );
    }
}
