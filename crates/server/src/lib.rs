//! The HTTP server: one Alibaba RPC endpoint (`/`, GET and POST), the download route for signed
//! links, and the wiring between them and the catalog.
//!
//! Every request goes the same way: decode params (query ∪ form body) → negotiate the format →
//! authenticate (signature, clock, nonce) → decode into a typed action → run it → render. Errors
//! become Alibaba's envelope in exactly one place ([`rpc::error_response`]); internal failures are
//! logged with the RequestId and answered as `InternalError` without details.

pub mod actions;
pub mod auth;
pub mod cache;
pub mod download;
pub mod exposition;
pub mod listing_cache;
pub mod metrics;
pub mod nonces;
pub mod page_cache;
pub mod rpc;
pub mod scrape;
pub mod state;

pub use state::{AppState, ServerConfig};

use axum::routing::{any, get};
use axum::Router;

/// Largest accepted request body (form-encoded params). Alibaba's own limit for RPC bodies is far
/// larger, but no call of this API needs more than a few KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", any(rpc::handle))
        .route("/download/{region}/{*key}", get(download::handle))
        .route("/metrics", get(scrape::handle))
        .fallback(rpc::not_found)
        .with_state(state)
}

/// Why a request was not served: a client-facing API error, or a failure of ours whose details
/// are logged and never sent.
#[derive(Debug)]
pub enum Failure {
    /// Answered as is.
    Api(xbak_protocol::ApiError),
    /// Logged with the RequestId; answered as `InternalError`.
    Internal(String),
    /// Logged; answered as `ServiceUnavailable` (the same call may succeed later).
    Unavailable(String),
}

impl From<xbak_protocol::ApiError> for Failure {
    fn from(e: xbak_protocol::ApiError) -> Self {
        Failure::Api(e)
    }
}

impl From<xbak_catalog::CatalogError> for Failure {
    fn from(e: xbak_catalog::CatalogError) -> Self {
        if e.is_retryable() {
            Failure::Unavailable(e.to_string())
        } else {
            Failure::Internal(e.to_string())
        }
    }
}
