//! The error catalogue: every failure the wire can report, with its Alibaba `Code`, HTTP status
//! and `Message` assigned in exhaustive matches (PROTOCOL §7), so a new variant does not compile
//! until someone decides its code. Statuses and messages marked "inferred" in PROTOCOL are our choices.
//! Only codes xbak answers are here: PROTOCOL §7 lists more (`Forbidden.RAM`,
//! `InvalidPageNumbers.Malformed`, …) that nothing in xbak produces, and they join when something does.

use std::fmt;

/// An error answered to the client in Alibaba's error envelope (see [`crate::render`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A required parameter is absent or blank: `Missing<Param>`, 400. The payload is the
    /// parameter name (`"DBInstanceId"`, `"Signature"`, …).
    Missing(&'static str),
    /// A parameter has a value we do not accept (e.g. `SignatureMethod=HMAC-MD5`), 400.
    InvalidParameter(String),
    /// The signature is garbled or structurally incomplete (bad v3 `Authorization`, a v3 request
    /// without `x-acs-date`/`x-acs-signature-nonce`/`x-acs-content-sha256`, or a security-relevant
    /// header left out of `SignedHeaders`), 400.
    IncompleteSignature,
    /// The signature does not match ours, 400. The message carries our string-to-sign after the
    /// only `:` (PROTOCOL §2.3), which aliyun-python-sdk-core compares with its own.
    SignatureDoesNotMatch {
        /// The string-to-sign the server computed.
        string_to_sign: String,
    },
    /// v3: `x-acs-content-sha256` is not the SHA-256 of the body. Code `SignatureDoesNotMatch`, 400.
    ContentSha256Mismatch,
    /// Unknown AccessKeyId: `InvalidAccessKeyId.NotFound`, 404.
    InvalidAccessKeyIdNotFound,
    /// Disabled AccessKeyId: `InvalidAccessKeyId.Inactive`, 400.
    InvalidAccessKeyIdInactive,
    /// `Timestamp`/`x-acs-date` outside the accepted window: `InvalidTimeStamp.Expired`, 400.
    TimestampExpired,
    /// `Timestamp`/`x-acs-date` not `yyyy-MM-ddTHH:mm:ssZ`: `InvalidTimeStamp.Format`, 400.
    TimestampFormat,
    /// `(AccessKeyId, nonce)` seen before: `SignatureNonceUsed`, 400.
    SignatureNonceUsed,
    /// Unknown `Action`: `InvalidAction.NotFound`, 404.
    InvalidActionNotFound,
    /// Unsupported `Version`: `InvalidVersion`, 400.
    InvalidVersion,
    /// The request body exceeds the server's limit: `RequestEntityTooLarge`, 413 (inferred; the
    /// SDKs never send bodies this large).
    BodyTooLarge,
    /// The request body did not arrive within the server's deadline: `RequestTimeout`, 408
    /// (inferred; the SDKs send small bodies at once).
    RequestTimeout,
    /// The AccessKey spent its request budget: `Throttling.User`, 400. The response also carries
    /// `x-acs-retry-after: <ms>`, which turns it into the Tea SDKs' throttling exception.
    Throttling {
        /// Milliseconds until the budget allows another call (at least 1).
        retry_after_ms: u64,
    },
    /// HTTP method other than GET/POST: `UnsupportedHTTPMethod`, 400.
    UnsupportedHttpMethod,
    /// Anything internal: `InternalError`, 500 (log the cause; never put it in the message).
    InternalError,
    /// Temporarily unable to serve: `ServiceUnavailable`, 503.
    ServiceUnavailable,
    /// Neither `CrossBackupId` nor both times given: `ParameterAbsence`, 400.
    ParameterAbsence,
    /// A parameter is malformed (PageSize, PageNumber, ids): `InvalidParameters.Format`, 400.
    InvalidParametersFormat,
    /// `RegionId` malformed: `InvalidRegion.Format`, 400.
    InvalidRegionFormat,
    /// `StartTime` malformed: `InvalidStartTime.Format`, 400.
    InvalidStartTimeFormat,
    /// `EndTime` malformed: `InvalidEndTime.Format`, 400.
    InvalidEndTimeFormat,
    /// `EndTime` before `StartTime`: `InvalidStartTimeAndEndTime.Malformed`, 400.
    InvalidStartTimeAndEndTimeMalformed,
    /// Region without cross-region backup: `CrossBackupNotSupport`, 403.
    CrossBackupNotSupport,
    /// Instance unknown, elsewhere, someone else's or unsupported: `InvalidDBInstance.NotFound`, 404.
    InvalidDBInstanceNotFound,
    /// Instance type cannot do this: `IncorrectDBInstanceType`, 403 (metadata lists 400 and 403).
    IncorrectDBInstanceType,
    /// `BackupSetId` unknown, someone else's, not copied yet or elsewhere than `Region`:
    /// `InvalidBackupSetID.NotFound`, 404.
    InvalidBackupSetIdNotFound,
    /// The copy failed, so there is no cross-region file to describe:
    /// `NoAvailableDisasterRestoreBakset`, 400 (sic).
    NoAvailableDisasterRestoreBakset,
    /// The set has no manifest (registered, not taken by xbak): `InvalidMeta.Empty`, 403.
    InvalidMetaEmpty,
    /// `PageSize` (a string parameter) not a positive integer: `InvalidPageSize`, 400.
    InvalidPageSize,
    /// `PageIndex` not a positive integer: `InvalidPageIndex`, 400.
    InvalidPageIndex,
}

use ApiError as E;

impl ApiError {
    /// Alibaba's `Code` field.
    pub fn code(&self) -> String {
        let code = match self {
            E::Missing(name) => return format!("Missing{name}"),
            E::InvalidParameter(_) => "InvalidParameter",
            E::IncompleteSignature => "IncompleteSignature",
            E::SignatureDoesNotMatch { .. } | E::ContentSha256Mismatch => "SignatureDoesNotMatch",
            E::InvalidAccessKeyIdNotFound => "InvalidAccessKeyId.NotFound",
            E::InvalidAccessKeyIdInactive => "InvalidAccessKeyId.Inactive",
            E::TimestampExpired => "InvalidTimeStamp.Expired",
            E::TimestampFormat => "InvalidTimeStamp.Format",
            E::SignatureNonceUsed => "SignatureNonceUsed",
            E::InvalidActionNotFound => "InvalidAction.NotFound",
            E::InvalidVersion => "InvalidVersion",
            E::BodyTooLarge => "RequestEntityTooLarge",
            E::RequestTimeout => "RequestTimeout",
            E::Throttling { .. } => "Throttling.User",
            E::UnsupportedHttpMethod => "UnsupportedHTTPMethod",
            E::InternalError => "InternalError",
            E::ServiceUnavailable => "ServiceUnavailable",
            E::ParameterAbsence => "ParameterAbsence",
            E::InvalidParametersFormat => "InvalidParameters.Format",
            E::InvalidRegionFormat => "InvalidRegion.Format",
            E::InvalidStartTimeFormat => "InvalidStartTime.Format",
            E::InvalidEndTimeFormat => "InvalidEndTime.Format",
            E::InvalidStartTimeAndEndTimeMalformed => "InvalidStartTimeAndEndTime.Malformed",
            E::CrossBackupNotSupport => "CrossBackupNotSupport",
            E::InvalidDBInstanceNotFound => "InvalidDBInstance.NotFound",
            E::IncorrectDBInstanceType => "IncorrectDBInstanceType",
            E::InvalidBackupSetIdNotFound => "InvalidBackupSetID.NotFound",
            E::NoAvailableDisasterRestoreBakset => "NoAvailableDisasterRestoreBakset",
            E::InvalidMetaEmpty => "InvalidMeta.Empty",
            E::InvalidPageSize => "InvalidPageSize",
            E::InvalidPageIndex => "InvalidPageIndex",
        };
        code.to_owned()
    }

    /// The HTTP status of the error response.
    pub fn http_status(&self) -> u16 {
        match self {
            E::Missing(_)
            | E::InvalidParameter(_)
            | E::IncompleteSignature
            | E::SignatureDoesNotMatch { .. }
            | E::ContentSha256Mismatch
            | E::InvalidAccessKeyIdInactive
            | E::TimestampExpired
            | E::TimestampFormat
            | E::SignatureNonceUsed
            | E::InvalidVersion
            | E::UnsupportedHttpMethod
            | E::Throttling { .. }
            | E::ParameterAbsence
            | E::InvalidParametersFormat
            | E::InvalidRegionFormat
            | E::InvalidStartTimeFormat
            | E::InvalidEndTimeFormat
            | E::InvalidStartTimeAndEndTimeMalformed
            | E::NoAvailableDisasterRestoreBakset
            | E::InvalidPageSize
            | E::InvalidPageIndex => 400,
            E::CrossBackupNotSupport | E::IncorrectDBInstanceType | E::InvalidMetaEmpty => 403,
            E::InvalidAccessKeyIdNotFound
            | E::InvalidActionNotFound
            | E::InvalidDBInstanceNotFound
            | E::InvalidBackupSetIdNotFound => 404,
            E::RequestTimeout => 408,
            E::BodyTooLarge => 413,
            E::InternalError => 500,
            E::ServiceUnavailable => 503,
        }
    }

    /// Alibaba's `Message` field.
    pub fn message(&self) -> String {
        let msg = match self {
            E::Missing(name) => return format!("{name} is mandatory for this action."),
            E::InvalidParameter(name) => {
                return format!("The specified parameter \"{name}\" is not valid.")
            }
            E::SignatureDoesNotMatch { string_to_sign } => {
                return format!(
                    "Specified signature is not matched with our calculation. \
                     server string to sign is:{string_to_sign}"
                )
            }
            E::IncompleteSignature => "The request signature does not conform to Aliyun standards.",
            E::ContentSha256Mismatch => {
                "The x-acs-content-sha256 header does not match the SHA-256 of the request body."
            }
            E::InvalidAccessKeyIdNotFound => "Specified access key is not found.",
            E::InvalidAccessKeyIdInactive => "Specified access key is disabled.",
            E::TimestampExpired => "Specified time stamp or date value is expired.",
            E::TimestampFormat => "Specified time stamp or date value is not well formatted.",
            E::SignatureNonceUsed => "Specified signature nonce was used already.",
            E::InvalidActionNotFound => {
                "Specified api is not found, please check your url and method."
            }
            E::InvalidVersion => "Specified parameter Version is not valid.",
            E::BodyTooLarge => "The request body is too large.",
            E::RequestTimeout => "The request body was not received in time.",
            E::Throttling { .. } => "Request was denied due to user flow control.",
            E::UnsupportedHttpMethod => "Specified HTTP method is not supported.",
            E::InternalError => "The request processing has failed due to some unknown error.",
            E::ServiceUnavailable => {
                "The request has failed due to a temporary failure of the server."
            }
            E::ParameterAbsence => "Necessary param is absence.",
            E::InvalidParametersFormat => "Specified parameter is not valid.",
            E::InvalidRegionFormat => "Specified Region is not valid.",
            E::InvalidStartTimeFormat => "Specified start time is not valid.",
            E::InvalidEndTimeFormat => "Specified end time is not valid.",
            E::InvalidStartTimeAndEndTimeMalformed => {
                "The end time must be greater than the start time."
            }
            E::CrossBackupNotSupport => "Specified region not support cross region backup.",
            E::InvalidDBInstanceNotFound => "Specified instance does not exist or not support.",
            E::IncorrectDBInstanceType => {
                "Current DB instance type does not support this operation."
            }
            E::InvalidBackupSetIdNotFound => "Specified backup set ID does not exist.",
            E::NoAvailableDisasterRestoreBakset => "No available disaster restore bakset",
            E::InvalidMetaEmpty => "Meta information is empty.",
            E::InvalidPageSize => "The page size is invalid",
            E::InvalidPageIndex => "The page index is invalid",
        };
        msg.to_owned()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ApiError {}
