//! What every typed request shares: [`Action`] (its wire name, its parameters in the order the
//! official SDKs send them, its response model), [`Params`] to list those parameters, and
//! [`Client::execute`], which signs, sends, retries and decodes any of them.

use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::SdkError;

/// A typed request of one API action.
pub trait Action {
    /// The action's wire name.
    const NAME: &'static str;
    /// The answer's model.
    type Response: DeserializeOwned;
    /// The wire parameters, in the order the official SDKs send them.
    fn to_params(&self) -> Vec<(String, String)>;
}

/// Wire parameters in the order they are added, each only when it has a value.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// No parameters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key` when `value` is set.
    pub fn put(mut self, key: &str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.0.push((key.to_owned(), v.to_string()));
        }
        self
    }

    /// Adds `key` as `1`/`0` when `value` is set.
    pub fn flag(self, key: &str, value: Option<bool>) -> Self {
        self.put(key, value.map(|on| if on { "1" } else { "0" }))
    }

    /// The parameters as sent.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

impl Client {
    /// Calls `req`'s action and decodes its answer. Adds `RegionId` from the client when the
    /// request has none; retries per the client's [`RetryPolicy`](crate::RetryPolicy).
    pub async fn execute<A: Action>(&self, req: &A) -> Result<A::Response, SdkError> {
        self.call_typed(A::NAME, &req.to_params()).await
    }
}

/// Implements [`Action`] for a request and adds the client method that sends it.
macro_rules! action {
    (
        $request:ident => $response:ty, $name:expr;
        $(#[$doc:meta])* fn $method:ident;
    ) => {
        impl $crate::action::Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;
            fn to_params(&self) -> Vec<(String, String)> {
                $request::to_params(self)
            }
        }

        impl $crate::client::Client {
            $(#[$doc])*
            pub async fn $method(
                &self,
                req: &$request,
            ) -> Result<$response, $crate::error::SdkError> {
                self.execute(req).await
            }
        }
    };
}

pub(crate) use action;
