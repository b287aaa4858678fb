//! The HTTP server: one Alibaba RPC endpoint (`/`, GET and POST), the download route for signed
//! links, and the wiring between them and the catalog.
//!
//! Every request goes the same way: decode params (query ∪ form body) → negotiate the format →
//! authenticate (signature, clock, nonce) → decode into a typed [`xbak_protocol::actions::Request`]
//! → [`actions::dispatch`] runs its handler → render (a read-only action runs while its nonce is
//! claimed, and is answered once the claim is won: [`rpc`]). Errors ([`error::HandlerError`])
//! become Alibaba's envelope in exactly one place ([`rpc::error_response`]); internal failures are
//! logged with the RequestId and answered as `InternalError` without details.

pub mod actions;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod download;
pub mod error;
pub mod exposition;
pub mod listen;
pub mod listing_cache;
pub mod metrics;
pub mod nonces;
pub mod page_cache;
pub mod rpc;
pub mod scrape;
pub mod state;

pub use listen::ListenerLimits;
pub use scrape::{metrics_app, MetricsToken};
pub use state::{AppState, ServerConfig};

use axum::routing::{any, get};
use axum::Router;

/// Largest accepted request body (form-encoded params). Alibaba's own limit for RPC bodies is far
/// larger, but no call of this API needs more than a few KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole API application. `/metrics` is not part of it (an unknown path, answered like
/// any other): the metrics have their own listener, [`scrape::metrics_app`].
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", any(rpc::handle))
        .route("/download/{region}/{*key}", get(download::handle))
        .fallback(rpc::not_found)
        .with_state(state)
}
