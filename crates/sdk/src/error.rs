//! The SDK's one error type.

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The service answered with an error envelope (`Code`, `Message`, `RequestId`), or an object
    /// store refused a download with its XML `<Error>`. A non-JSON error body from the RPC
    /// endpoint (a proxy's HTML page, say) becomes code `SDK.UnknownServerError` with the body in
    /// the message, as aliyun-python-sdk-core does.
    #[error("{code}: {message} (RequestId: {request_id}, HTTP {http_status})")]
    Api {
        /// Alibaba's `Code`, e.g. `InvalidDBInstance.NotFound`.
        code: String,
        /// Alibaba's `Message`.
        message: String,
        /// `RequestId` (from the body, else the `x-acs-request-id` header; may be empty).
        request_id: String,
        /// The HTTP status.
        http_status: u16,
    },
    /// The request never got an answer: connection refused, timeout, reset mid-body.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 2xx body that is not what the action returns.
    #[error("cannot decode the response: {message}")]
    Decode {
        /// What went wrong, with a prefix of the body.
        message: String,
    },
    /// Client-side configuration: no credentials, a bad endpoint, an unreadable profile.
    #[error("configuration: {0}")]
    Config(String),
    /// A download could not be completed: the backup does not exist, has no link, or its bytes
    /// did not verify (size, checksum).
    #[error("download: {0}")]
    Download(String),
    /// Local file IO (downloads).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl SdkError {
    /// The Alibaba error code, for [`SdkError::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            SdkError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for throttling answers (`Throttling`, `Throttling.User`, `Throttling.Api`, …): the
    /// Node Tea SDK's rule, `code.includes("Throttling")`.
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(|c| c.contains("Throttling"))
    }

    /// True when an object store refused a signed link because it expired (OSS answers 403
    /// `AccessDenied` "Request has expired.").
    pub fn is_expired_link(&self) -> bool {
        match self {
            SdkError::Api {
                code,
                message,
                http_status,
                ..
            } => {
                *http_status == 403
                    && code == "AccessDenied"
                    && message.to_ascii_lowercase().contains("expired")
            }
            _ => false,
        }
    }
}

impl From<reqwest::Error> for SdkError {
    fn from(e: reqwest::Error) -> Self {
        SdkError::Transport(e)
    }
}
