//! SDK clients for the test kit's seeded server, and SDK error helpers.

#![allow(dead_code)]

use std::time::Duration;
use xbak_sdk::{Client, Credentials, HttpMethod, RetryPolicy, SdkError, SignatureVersion};
use xbak_testkit::{Server, SRC};

/// SDK clients of a test server.
pub trait Clients {
    /// A client for this server (v3, POST, fast retries).
    fn client(&self) -> Client {
        self.client_with(SignatureVersion::V3, HttpMethod::Post)
    }

    fn client_with(&self, sig: SignatureVersion, method: HttpMethod) -> Client;
}

impl Clients for Server {
    fn client_with(&self, sig: SignatureVersion, method: HttpMethod) -> Client {
        Client::builder()
            .endpoint(&self.url)
            .credentials(Credentials::new(&self.ak, &self.secret))
            .region_id(SRC)
            .signature_version(sig)
            .method(method)
            .retry(fast_retries())
            .build()
            .unwrap()
    }
}

/// Retries fast enough for tests.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(50),
    }
}

/// The fields of an API error `(code, message, request id, HTTP status)`; panics on any other error.
pub fn api(e: SdkError) -> (String, String, String, u16) {
    match e {
        SdkError::Api {
            code,
            message,
            request_id,
            http_status,
        } => (code, message, request_id, http_status),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Checks that `e` is the API error `code` with HTTP `status` and a 36-character request id;
/// returns its message.
pub fn api_error_message(e: SdkError, code: &str, status: u16) -> String {
    let (got_code, message, request_id, got_status) = api(e);
    assert_eq!((got_code.as_str(), got_status), (code, status), "{message}");
    assert_eq!(request_id.len(), 36, "{request_id}");
    message
}
