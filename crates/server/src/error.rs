//! Why a request was not served. [`crate::rpc::error_response`] turns every [`HandlerError`] into
//! Alibaba's error envelope; only [`HandlerError::Api`] reaches the client as it is.

use xbak_catalog::CatalogError;
use xbak_protocol::ApiError;

/// A client-facing API error, or a failure of ours whose details are logged and never sent.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Answered as is.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Logged with the RequestId; answered as `InternalError`.
    #[error("internal: {0}")]
    Internal(String),
    /// Logged; answered as `ServiceUnavailable` (the same call may succeed later).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<CatalogError> for HandlerError {
    fn from(e: CatalogError) -> Self {
        if e.is_retryable() {
            HandlerError::Unavailable(e.to_string())
        } else {
            HandlerError::Internal(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_their_code() {
        let e = HandlerError::from(ApiError::InvalidDBInstanceNotFound);
        assert!(matches!(
            e,
            HandlerError::Api(ApiError::InvalidDBInstanceNotFound)
        ));
        assert_eq!(
            e.to_string(),
            ApiError::InvalidDBInstanceNotFound.to_string()
        );
    }

    #[test]
    fn only_a_busy_catalog_is_unavailable() {
        let busy = HandlerError::from(CatalogError::Unavailable("locked".into()));
        assert!(matches!(busy, HandlerError::Unavailable(m) if m.contains("locked")));
        let broken = HandlerError::from(CatalogError::Internal("corrupt".into()));
        assert!(matches!(broken, HandlerError::Internal(m) if m.contains("corrupt")));
    }
}
