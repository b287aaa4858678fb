//! `DescribeCrossRegionBackups`: one page of an instance's cross-region copies.

use super::Call;
use crate::error::HandlerError;
use crate::page_cache::{PageKey, RenderedPage};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use xbak_domain::naming::file_name_of;
use xbak_domain::{CopyQuery, Instance, ListedCopy, PageSize, StorageType};
use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsParams, DescribeCrossRegionBackupsResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::time::push_utc;
use xbak_protocol::ApiError;

/// Where copies are stored, as Alibaba reports it (`CrossBackupSetLocation`).
const SET_LOCATION: &str = "oss";

/// Answers `DescribeCrossRegionBackups`: one page, from the rendered-page cache when it is current.
pub async fn run(
    call: &Call<'_>,
    params: DescribeCrossRegionBackupsParams,
) -> Result<Body, HandlerError> {
    let &Call {
        state,
        request_id,
        format,
        ..
    } = call;
    let instance = call.eligible_instance(&params.instance).await?;
    let query = CopyQuery {
        instance_id: instance.id,
        cross_backup_id: params.cross_backup_id,
        window: match (&params.start_time, &params.end_time) {
            (Some((_, s)), Some((_, e))) => Some((*s, *e)),
            _ => None,
        },
        dest_region_id: params.cross_backup_region.clone(),
        backup_set_id: params.backup_id,
        page_size: PageSize::from_u32(params.page_size).ok_or(ApiError::InvalidParametersFormat)?,
        page_number: params.page_number,
    };
    let key = PageKey {
        query,
        format,
        region_id: params.instance.region_id.clone(),
        start_time: params.start_time.as_ref().map(|(s, _)| s.clone()),
        end_time: params.end_time.as_ref().map(|(s, _)| s.clone()),
    };
    // Read before anything else: a page is stored under the token in force when it started, so
    // a commit racing with the rendering makes the page stale rather than a stale page current.
    let token = state.listings.token();
    if let Some(body) = state.pages.get(&key, token, request_id) {
        return Ok(Body::new(body));
    }
    let listing = match state.listings.get(&key.query) {
        Some(hit) => hit,
        None => {
            let token = state.listings.token();
            let listing = std::sync::Arc::new(state.catalog.list_copies(&key.query).await?);
            state
                .listings
                .put(key.query.clone(), token, listing.clone());
            listing
        }
    };
    let mut links = Vec::with_capacity(listing.items.len());
    for copy in &listing.items {
        links.push(download_link(state, copy).await?);
    }
    let times = Times::of(&listing.items);
    let items = listing
        .items
        .iter()
        .zip(&links)
        .enumerate()
        .map(|(i, (copy, link))| item(copy, &instance, link, times.of_item(i)))
        .collect::<Vec<_>>();
    let response = DescribeCrossRegionBackupsResponse {
        request_id: request_id.to_owned(),
        region_id: params.instance.region_id,
        start_time: key.start_time.clone(),
        end_time: key.end_time.clone(),
        total_record_count: listing.total,
        page_number: params.page_number,
        page_record_count: items.len() as u32,
        items,
    };
    let body = Bytes::from(render(&response, format));
    if let Some(page) = RenderedPage::new(body.clone(), request_id, token) {
        state.pages.put(key, page);
    }
    Ok(Body::from(body))
}

/// A completed copy's link: the object store's own presigned URL for S3-compatible regions,
/// else a link to this server's `/download` route. Failed copies have none.
async fn download_link(state: &AppState, copy: &ListedCopy) -> Result<String, HandlerError> {
    if copy.status != xbak_domain::CopyStatus::Completed {
        return Ok(String::new());
    }
    let (link, _) =
        super::common::object_link(state, &copy.dest_region_id, &copy.object_key).await?;
    Ok(link)
}

/// The three times each item shows, formatted into one buffer: items borrow their text rather
/// than own it, so a page allocates no string per field before it is rendered.
struct Times {
    text: String,
    /// Where each time starts in `text` (and the last ends), three per item: backup end, backup
    /// start, consistent time.
    bounds: Vec<usize>,
}

impl Times {
    fn of(copies: &[ListedCopy]) -> Times {
        let mut text = String::with_capacity(copies.len() * 60);
        let mut bounds = Vec::with_capacity(copies.len() * 3 + 1);
        bounds.push(0);
        for copy in copies {
            for t in [copy.finished_at, copy.started_at, copy.consistent_at] {
                push_utc(&mut text, t);
                bounds.push(text.len());
            }
        }
        Times { text, bounds }
    }

    /// Backup end, backup start and consistent time of item `i`.
    fn of_item(&self, i: usize) -> [&str; 3] {
        std::array::from_fn(|k| &self.text[self.bounds[3 * i + k]..self.bounds[3 * i + k + 1]])
    }
}

/// One item of the page: `copy` of `inst`, its link and its three times.
fn item<'a>(
    copy: &'a ListedCopy,
    inst: &'a Instance,
    download_link: &'a str,
    [backup_end_time, backup_start_time, consistent_time]: [&'a str; 3],
) -> CrossRegionBackupItem<&'a str> {
    CrossRegionBackupItem {
        backup_end_time,
        backup_method: copy.method.as_str(),
        backup_set_scale: copy.scale.as_i64(),
        backup_set_status: copy.status.backup_set_status(),
        backup_start_time,
        backup_type: copy.backup_type.as_str(),
        category: inst.category.as_str(),
        consistent_time,
        cross_backup_download_link: download_link,
        cross_backup_id: copy.cross_backup_id,
        cross_backup_region: &copy.dest_region_id,
        cross_backup_set_file: file_name_of(&copy.object_key),
        cross_backup_set_location: SET_LOCATION,
        cross_backup_set_size: copy.size_bytes,
        db_instance_storage_type: wire_storage_type(inst.storage_type),
        engine: &inst.engine,
        engine_version: &inst.engine_version,
        instance_id: copy.instance_number,
        restore_regions: copy.restore_regions(),
    }
}

/// The seed reports a local-SSD instance's storage as `ssd`; cloud disks keep their own names.
fn wire_storage_type(t: StorageType) -> &'static str {
    match t {
        StorageType::LocalSsd => "ssd",
        other => other.as_str(),
    }
}
