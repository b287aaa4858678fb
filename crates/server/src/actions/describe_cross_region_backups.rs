//! `DescribeCrossRegionBackups`: one page of an instance's cross-region copies.

use super::Call;
use crate::error::HandlerError;
use crate::page_cache::{PageKey, RenderedPage};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use xbak_domain::naming::file_name_of;
use xbak_domain::{CopyQuery, CrossRegionCopy, PageSize, StorageType};
use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsParams, DescribeCrossRegionBackupsResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::time::format_utc;
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
    let mut items = Vec::with_capacity(listing.items.len());
    for copy in &listing.items {
        let link = download_link(state, copy).await?;
        items.push(item(copy, link));
    }
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
async fn download_link(state: &AppState, copy: &CrossRegionCopy) -> Result<String, HandlerError> {
    if copy.status != xbak_domain::CopyStatus::Completed {
        return Ok(String::new());
    }
    let (link, _) =
        super::common::object_link(state, &copy.dest_region_id, &copy.object_key).await?;
    Ok(link)
}

fn item(copy: &CrossRegionCopy, download_link: String) -> CrossRegionBackupItem {
    let set = &copy.backup_set;
    let inst = &copy.instance;
    CrossRegionBackupItem {
        backup_end_time: format_utc(set.finished_at),
        backup_method: set.method.as_str().to_owned(),
        backup_set_scale: set.scale.as_i64(),
        backup_set_status: copy.status.backup_set_status(),
        backup_start_time: format_utc(set.started_at),
        backup_type: set.backup_type.as_str().to_owned(),
        category: inst.category.as_str().to_owned(),
        consistent_time: format_utc(set.consistent_at),
        cross_backup_download_link: download_link,
        cross_backup_id: copy.cross_backup_id,
        cross_backup_region: copy.dest_region_id.clone(),
        cross_backup_set_file: file_name_of(&copy.object_key).to_owned(),
        cross_backup_set_location: SET_LOCATION.to_owned(),
        cross_backup_set_size: set.size_bytes,
        db_instance_storage_type: wire_storage_type(inst.storage_type).to_owned(),
        engine: inst.engine.clone(),
        engine_version: inst.engine_version.clone(),
        instance_id: set.instance_number,
        restore_regions: copy
            .restore_regions()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// The seed reports a local-SSD instance's storage as `ssd`; cloud disks keep their own names.
fn wire_storage_type(t: StorageType) -> &'static str {
    match t {
        StorageType::LocalSsd => "ssd",
        other => other.as_str(),
    }
}
