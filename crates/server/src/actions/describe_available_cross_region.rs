//! `DescribeAvailableCrossRegion`: the configured regions other than `RegionId`, sorted.

use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
use xbak_protocol::actions::describe_available_cross_region::{
    DescribeAvailableCrossRegionParams, DescribeAvailableCrossRegionResponse,
};
use xbak_protocol::actions::render;

use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// Answers `DescribeAvailableCrossRegion`: every configured region except `RegionId`.
pub async fn run(
    call: &Call<'_>,
    params: DescribeAvailableCrossRegionParams,
) -> Result<Body, HandlerError> {
    let mut region: Vec<String> = call
        .state
        .catalog
        .regions()
        .await?
        .into_iter()
        .map(|r| r.region_id)
        .filter(|id| *id != params.region_id)
        .collect();
    region.sort();
    let response = DescribeAvailableCrossRegionResponse {
        request_id: call.request_id.to_owned(),
        regions: RegionList { region },
    };
    Ok(Body::from(render(&response, call.format)))
}
