//! The wire edge of xbak: everything needed to speak Alibaba Cloud's RPC protocol for RDS
//! `DescribeCrossRegionBackups` (version 2014-08-15) so the official SDKs work unchanged.
//!
//! What lives here: request-parameter decoding ([`params`]), RFC 3986 encoding and its
//! percent-encoding sets ([`encode`]), the wire's UTC times ([`mod@time`]),
//! both signature schemes ([`sign`]: v1 HMAC-SHA1 and v3 `ACS3-HMAC-SHA256`), the error catalogue
//! with Alibaba codes and HTTP statuses ([`error`]), response-format negotiation ([`mod@format`]),
//! RequestIds ([`request_id`]), secret redaction for anything shown ([`redact`]), error envelopes ([`render`]) and one module per action with its
//! typed params and response model ([`actions`]), with the [`actions::Request`] every call decodes
//! into before a handler sees it.
//!
//! What does not: IO of any kind, async runtimes, HTTP frameworks, domain logic, secrets storage.
//! The server feeds this crate bytes and headers and gets back typed values or rendered bodies.
//! Wire facts are taken from `shared/PROTOCOL.md`; section numbers in comments refer to it.

pub mod actions;
pub mod encode;
pub mod error;
pub mod format;
pub mod params;
pub mod redact;
pub mod render;
pub mod request_id;
pub mod sign;
pub mod time;
mod xml;

pub use error::ApiError;
pub use format::Format;
pub use params::RawParams;
