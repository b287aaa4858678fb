//! `DescribeAvailableCrossRegion`: the configured regions other than `RegionId`, sorted.

use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
use xbak_protocol::actions::describe_available_cross_region::{
    render, DescribeAvailableCrossRegionParams, DescribeAvailableCrossRegionResponse,
};
use xbak_protocol::{Format, RawParams};

use crate::auth::Caller;
use crate::state::AppState;
use crate::Failure;

pub async fn run(
    state: &AppState,
    _caller: &Caller,
    raw: &RawParams,
    request_id: &str,
    format: Format,
) -> Result<Vec<u8>, Failure> {
    let params = DescribeAvailableCrossRegionParams::from_params(raw)?;
    let mut region: Vec<String> = state
        .catalog
        .regions()
        .await?
        .into_iter()
        .map(|r| r.region_id)
        .filter(|id| *id != params.region_id)
        .collect();
    region.sort();
    let response = DescribeAvailableCrossRegionResponse {
        request_id: request_id.to_owned(),
        regions: RegionList { region },
    };
    Ok(render(&response, format))
}
