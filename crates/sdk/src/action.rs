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

/// How a request field is written on the wire: numbers and strings as they are, switches as
/// `1`/`0` (the official SDKs' spelling).
pub(crate) trait WireValue {
    fn to_wire(&self) -> String;
}

impl WireValue for String {
    fn to_wire(&self) -> String {
        self.clone()
    }
}

impl WireValue for bool {
    fn to_wire(&self) -> String {
        (if *self { "1" } else { "0" }).to_owned()
    }
}

macro_rules! wire_numbers {
    ($($t:ty),*) => {$(
        impl WireValue for $t {
            fn to_wire(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

wire_numbers!(i32, i64, u32, u64);

/// Declares one action's typed request from a single list of its parameters: the struct (one
/// `Option` field per optional parameter), `new` taking the required ones, a setter per optional
/// one, `to_params` (required parameters first, then the optional ones in the order listed),
/// the [`Action`] impl and the client method that sends it.
///
/// ```ignore
/// action! {
///     /// Client method docs.
///     fn describe_thing(ACTION) -> DescribeThingResponse;
///
///     /// Request docs.
///     pub struct DescribeThingRequest {
///         /// `new` docs.
///         new(db_instance_id: String = "DBInstanceId");
///         /// `RegionId`: the instance's region.
///         region_id: String = "RegionId",
///     }
/// }
/// ```
///
/// An instance-scoped action writes `pub struct XRequest: InstanceScope { … }` and lists only its
/// own parameters: `new(db_instance_id)` (`DBInstanceId`), `RegionId` first and
/// `ResourceGroupId` last come with the scope, as in the protocol's `InstanceScope`.
///
/// Field types are plain names (`String`, `bool`, `i64`, `u32`…): `String` setters and
/// arguments take anything `Into<String>`, `bool` parameters are sent as `1`/`0`.
macro_rules! action {
    (
        $(#[$method_doc:meta])*
        fn $method:ident($name:expr) -> $response:ty;

        $(#[$doc:meta])*
        pub struct $request:ident: InstanceScope { $($fields:tt)* }
    ) => {
        $crate::action::action! {
            $(#[$method_doc])*
            fn $method($name) -> $response;

            $(#[$doc])*
            pub struct $request {
                /// A request for `db_instance_id`.
                new(db_instance_id: String = "DBInstanceId");
                /// `RegionId`: the instance's region (the client's when `None`).
                region_id: String = "RegionId",
                $($fields)*
                /// `ResourceGroupId`.
                resource_group_id: String = "ResourceGroupId",
            }
        }
    };
    (
        $(#[$method_doc:meta])*
        fn $method:ident($name:expr) -> $response:ty;

        $(#[$doc:meta])*
        pub struct $request:ident {
            $(#[$new_doc:meta])*
            new($($req:ident: $req_ty:ident = $req_key:literal),* $(,)?);
            $(
                $(#[$field_doc:meta])*
                $field:ident: $ty:ident = $key:literal,
            )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $request {
            $(
                #[doc = concat!("`", $req_key, "` (required).")]
                pub $req: $req_ty,
            )*
            $(
                $(#[$field_doc])*
                pub $field: Option<$ty>,
            )*
        }

        impl $request {
            $(#[$new_doc])*
            pub fn new($($req: $crate::action::argument!($req_ty)),*) -> Self {
                $request {
                    $($req: $req.into(),)*
                    ..Default::default()
                }
            }
            $($crate::action::setter! { $(#[$field_doc])* $field: $ty })*

            /// The wire parameters, in the order the official SDKs send them.
            pub fn to_params(&self) -> Vec<(String, String)> {
                use $crate::action::WireValue;
                $crate::action::Params::new()
                    $(.put($req_key, Some(self.$req.to_wire())))*
                    $(.put($key, self.$field.as_ref().map(WireValue::to_wire)))*
                    .into_vec()
            }
        }

        impl $crate::action::Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;
            fn to_params(&self) -> Vec<(String, String)> {
                $request::to_params(self)
            }
        }

        impl $crate::client::Client {
            $(#[$method_doc])*
            pub async fn $method(
                &self,
                req: &$request,
            ) -> Result<$response, $crate::error::SdkError> {
                self.execute(req).await
            }
        }
    };
}

/// The argument type of a required parameter in `new`.
macro_rules! argument {
    (String) => { impl Into<String> };
    ($ty:ident) => { $ty };
}

/// One optional parameter's setter (see `setters!`).
macro_rules! setter {
    ($(#[$doc:meta])* $field:ident: String) => {
        $crate::setters::setters! { $(#[$doc])* $field: into String; }
    };
    ($(#[$doc:meta])* $field:ident: $ty:ident) => {
        $crate::setters::setters! { $(#[$doc])* $field: $ty; }
    };
}

pub(crate) use {action, argument, setter};
