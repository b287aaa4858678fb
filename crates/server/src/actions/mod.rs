//! One file per action; [`dispatch`] routes a decoded action to it.

pub mod describe_cross_region_backups;

use crate::auth::Caller;
use crate::state::AppState;
use crate::Failure;
use xbak_protocol::actions::Action;
use xbak_protocol::{Format, RawParams};

/// Runs an authenticated action and returns the rendered success body.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &RawParams,
    request_id: &str,
    format: Format,
) -> Result<Vec<u8>, Failure> {
    match action {
        Action::DescribeCrossRegionBackups => {
            describe_cross_region_backups::run(state, caller, params, request_id, format).await
        }
    }
}
