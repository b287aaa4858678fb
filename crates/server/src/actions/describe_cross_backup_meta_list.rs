//! `DescribeCrossBackupMetaList`: the databases and tables of a cross-region backup set, from
//! the manifest its backup run stored beside the set in the source region ([`backup_meta`]).
//!
//! `BackupSetId` is a `CrossBackupId`. A copy that is unknown, another account's, still pending
//! (not listed by `DescribeCrossRegionBackups` yet) or whose instance is not in `Region` (when
//! given) is answered 404 `InvalidBackupSetID.NotFound`, the same answer in every case. A failed
//! copy has no cross-region file: 400 `NoAvailableDisasterRestoreBakset`. A set registered with
//! `xbak backup register` has no manifest: 403 `InvalidMeta.Empty` (Alibaba's "Meta information
//! is empty."), as does a set whose manifest object is gone.

use xbak_domain::{BackupSet, CopyStatus};
use xbak_protocol::actions::describe_cross_backup_meta_list::{
    DescribeCrossBackupMetaListParams, DescribeCrossBackupMetaListResponse, MetaItems,
};
use xbak_protocol::actions::render;
use xbak_protocol::ApiError;
use xbak_storage::StorageError;

use super::backup_meta::{self, Database};
use super::Call;
use crate::error::HandlerError;
use crate::state::AppState;
use axum::body::Body;

/// Largest manifest read (one of a few hundred thousand tables).
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// Answers `DescribeCrossBackupMetaList`: one page of the set's databases.
pub async fn run(
    call: &Call<'_>,
    params: DescribeCrossBackupMetaListParams,
) -> Result<Body, HandlerError> {
    let Call {
        state,
        caller,
        request_id,
        format,
    } = *call;
    let not_found = || HandlerError::from(ApiError::InvalidBackupSetIdNotFound);
    let id = params.cross_backup_id().ok_or_else(not_found)?;
    let copy = state.catalog.copy(id).await?.ok_or_else(not_found)?;
    let visible = copy.instance.account_id == caller.account_id
        && copy.status != CopyStatus::Pending
        && params
            .region
            .as_ref()
            .is_none_or(|r| *r == copy.instance.region_id);
    if !visible {
        return Err(not_found());
    }
    if copy.status == CopyStatus::Failed {
        return Err(ApiError::NoAvailableDisasterRestoreBakset.into());
    }
    let entries = backup_meta::select(databases(state, &copy.backup_set).await?, &params);
    let slice = params.slice(entries.len());
    let meta: Vec<_> = entries
        .iter()
        .skip(slice.skip)
        .take(slice.take)
        .cloned()
        .collect();
    let response = DescribeCrossBackupMetaListResponse {
        request_id: request_id.to_owned(),
        db_instance_name: copy.instance.db_instance_id.clone(),
        page_number: slice.page_number,
        page_record_count: meta.len() as u32,
        total_page_count: slice.total_pages,
        total_record_count: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        items: MetaItems { meta },
    };
    Ok(Body::from(render(&response, format)))
}

/// The databases of `set`'s manifest; `InvalidMeta.Empty` when it has none.
async fn databases(state: &AppState, set: &BackupSet) -> Result<Vec<Database>, HandlerError> {
    let run = state.catalog.backup_run_of_set(set.id).await?;
    let Some(details) = run.and_then(|r| r.details) else {
        return Err(ApiError::InvalidMetaEmpty.into());
    };
    let key = &details.manifest_key;
    let internal =
        |what: String| HandlerError::Internal(format!("manifest {key} of set {}: {what}", set.id));
    // The store may be down for a while: `ServiceUnavailable`, worth retrying, not an internal fault.
    let unreachable = |what: String| {
        HandlerError::Unavailable(format!("manifest {key} of set {}: {what}", set.id))
    };
    let store = state
        .region_store(&set.source_region_id)
        .await?
        .ok_or_else(|| internal(format!("region {} is gone", set.source_region_id)))?;
    let bytes = match store.read_small(key, MAX_MANIFEST_BYTES).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::warn!(set = set.id, key = %key, "the set's manifest is missing");
            return Err(ApiError::InvalidMetaEmpty.into());
        }
        Err(e @ StorageError::Unsupported(_)) => return Err(internal(e.to_string())),
        Err(e) => return Err(unreachable(e.to_string())),
    };
    backup_meta::databases(&bytes).map_err(internal)
}
