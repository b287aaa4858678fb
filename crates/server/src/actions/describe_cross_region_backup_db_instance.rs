//! `DescribeCrossRegionBackupDBInstance`: the caller's instances in `RegionId` whose
//! cross-region backup is on, by `DBInstanceId`, each with the fields of
//! `DescribeInstanceCrossBackupPolicy` ([`policy_fields`]).
//!
//! `DBInstanceId` narrows the list to the instances it names; one that is unknown, another
//! account's, in another region or without cross-region backup on is simply not listed, so the
//! answer says nothing about what exists elsewhere. A page past the end is empty, with the same
//! `TotalRecords`.

use xbak_protocol::actions::describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceParams, DescribeCrossRegionBackupDBInstanceResponse,
    PolicyItems,
};
use xbak_protocol::actions::render;

use super::policy_fields::policy_fields;
use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// Answers `DescribeCrossRegionBackupDBInstance`: one page of the caller's instances.
pub async fn run(
    call: &Call<'_>,
    params: DescribeCrossRegionBackupDBInstanceParams,
) -> Result<Body, HandlerError> {
    let page = call
        .state
        .catalog
        .cross_backup_instances(
            call.caller.account_id,
            &params.region_id,
            &params.db_instance_ids,
            params.page_size,
            params.page_number,
        )
        .await?;
    let item: Vec<_> = page
        .items
        .iter()
        .map(|(instance, policy)| policy_fields(instance, Some(policy)))
        .collect();
    let response = DescribeCrossRegionBackupDBInstanceResponse {
        request_id: call.request_id.to_owned(),
        region_id: params.region_id,
        page_number: params.page_number,
        page_size: params.page_size,
        items_numbers: item.len() as u32,
        total_records: page.total,
        items: PolicyItems { item },
    };
    Ok(Body::from(render(&response, call.format)))
}
