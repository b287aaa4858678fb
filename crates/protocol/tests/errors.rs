//! Every error xbak answers, from the rows of PROTOCOL §7 (gateway table, DescribeCrossRegionBackups table, other RDS
//! codes, recommended mapping): code, HTTP status, message, rendered in both formats and parsed
//! back the way the SDKs read them.

mod common;

use xbak_protocol::render::{recommend_url, render_error};
use xbak_protocol::{ApiError, Format};

const RID: &str = "60912B41-7579-4B5D-B289-8856030F0A6A";
const HOST: &str = "rds.aliyuncs.com";

fn catalogue() -> Vec<(ApiError, &'static str, u16, String)> {
    use ApiError as E;
    let s = |m: &str| m.to_owned();
    vec![
        // Gateway / common.
        (E::Missing("DBInstanceId"), "MissingDBInstanceId", 400, s("DBInstanceId is mandatory for this action.")),
        (E::Missing("RegionId"), "MissingRegionId", 400, s("RegionId is mandatory for this action.")),
        (E::Missing("Signature"), "MissingSignature", 400, s("Signature is mandatory for this action.")),
        (E::InvalidParameter("X".into()), "InvalidParameter", 400, s("The specified parameter \"X\" is not valid.")),
        (E::IncompleteSignature, "IncompleteSignature", 400, s("The request signature does not conform to Aliyun standards.")),
        (E::SignatureDoesNotMatch { string_to_sign: "GET&%2F&A%3D1".into() }, "SignatureDoesNotMatch", 400, s("Specified signature is not matched with our calculation. server string to sign is:GET&%2F&A%3D1")),
        (E::ContentSha256Mismatch, "SignatureDoesNotMatch", 400, s("The x-acs-content-sha256 header does not match the SHA-256 of the request body.")),
        (E::InvalidAccessKeyIdNotFound, "InvalidAccessKeyId.NotFound", 404, s("Specified access key is not found.")),
        (E::InvalidAccessKeyIdInactive, "InvalidAccessKeyId.Inactive", 400, s("Specified access key is disabled.")),
        (E::TimestampExpired, "InvalidTimeStamp.Expired", 400, s("Specified time stamp or date value is expired.")),
        (E::TimestampFormat, "InvalidTimeStamp.Format", 400, s("Specified time stamp or date value is not well formatted.")),
        (E::SignatureNonceUsed, "SignatureNonceUsed", 400, s("Specified signature nonce was used already.")),
        (E::InvalidActionNotFound, "InvalidAction.NotFound", 404, s("Specified api is not found, please check your url and method.")),
        (E::InvalidVersion, "InvalidVersion", 400, s("Specified parameter Version is not valid.")),
        (E::UnsupportedHttpMethod, "UnsupportedHTTPMethod", 400, s("Specified HTTP method is not supported.")),
        (E::InternalError, "InternalError", 500, s("The request processing has failed due to some unknown error.")),
        (E::ServiceUnavailable, "ServiceUnavailable", 503, s("The request has failed due to a temporary failure of the server.")),
        (E::BodyTooLarge, "RequestEntityTooLarge", 413, s("The request body is too large.")),
        (E::RequestTimeout, "RequestTimeout", 408, s("The request body was not received in time.")),
        (E::Throttling { retry_after_ms: 250 }, "Throttling.User", 400, s("Request was denied due to user flow control.")),
        // DescribeCrossRegionBackups metadata.
        (E::ParameterAbsence, "ParameterAbsence", 400, s("Necessary param is absence.")),
        (E::InvalidParametersFormat, "InvalidParameters.Format", 400, s("Specified parameter is not valid.")),
        (E::InvalidRegionFormat, "InvalidRegion.Format", 400, s("Specified Region is not valid.")),
        (E::InvalidStartTimeFormat, "InvalidStartTime.Format", 400, s("Specified start time is not valid.")),
        (E::InvalidEndTimeFormat, "InvalidEndTime.Format", 400, s("Specified end time is not valid.")),
        (E::CrossBackupNotSupport, "CrossBackupNotSupport", 403, s("Specified region not support cross region backup.")),
        (E::InvalidDBInstanceNotFound, "InvalidDBInstance.NotFound", 404, s("Specified instance does not exist or not support.")),
        // Other RDS codes.
        (E::IncorrectDBInstanceType, "IncorrectDBInstanceType", 403, s("Current DB instance type does not support this operation.")),
        (E::InvalidStartTimeAndEndTimeMalformed, "InvalidStartTimeAndEndTime.Malformed", 400, s("The end time must be greater than the start time.")),
        // DescribeCrossBackupMetaList metadata.
        (E::InvalidBackupSetIdNotFound, "InvalidBackupSetID.NotFound", 404, s("Specified backup set ID does not exist.")),
        (E::NoAvailableDisasterRestoreBakset, "NoAvailableDisasterRestoreBakset", 400, s("No available disaster restore bakset")),
        (E::InvalidMetaEmpty, "InvalidMeta.Empty", 403, s("Meta information is empty.")),
        (E::InvalidPageSize, "InvalidPageSize", 400, s("The page size is invalid")),
        (E::InvalidPageIndex, "InvalidPageIndex", 400, s("The page index is invalid")),
    ]
}

#[test]
fn codes_statuses_and_messages() {
    for (err, code, status, message) in catalogue() {
        assert_eq!(err.code(), code, "{err:?}");
        assert_eq!(err.http_status(), status, "{err:?}");
        assert_eq!(err.message(), message, "{err:?}");
        assert_eq!(err.to_string(), format!("{code}: {message}"));
    }
}

#[test]
fn json_envelope_parses_back_in_alibaba_field_order() {
    for (err, code, _, message) in catalogue() {
        let body = render_error(&err, RID, HOST, Format::Json);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let obj = v.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(v["Code"], code);
        assert_eq!(v["Message"], message.as_str());
        assert_eq!(v["RequestId"], RID);
        assert_eq!(v["HostId"], HOST);
        assert_eq!(v["Recommend"], recommend_url(code, RID).as_str());
        let text = std::str::from_utf8(&body).unwrap();
        let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        assert!(pos("RequestId") < pos("Message") && pos("Message") < pos("Recommend"));
        assert!(pos("Recommend") < pos("HostId") && pos("HostId") < pos("Code"));
    }
}

#[test]
fn xml_envelope_parses_back() {
    for (err, code, _, message) in catalogue() {
        let body = render_error(&err, RID, HOST, Format::Xml);
        assert!(body.starts_with(b"<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>"));
        let root = common::parse_xml(&body);
        assert_eq!(root.name, "Error");
        let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["RequestId", "HostId", "Code", "Message", "Recommend"]
        );
        assert_eq!(root.text_of("Code"), code);
        assert_eq!(root.text_of("Message"), message);
        assert_eq!(root.text_of("RequestId"), RID);
        assert_eq!(root.text_of("HostId"), HOST);
        assert_eq!(root.text_of("Recommend"), recommend_url(code, RID));
    }
}

#[test]
fn recommend_link_shape() {
    assert_eq!(
        recommend_url("InvalidAction.NotFound", RID),
        format!("https://api.aliyun.com/troubleshoot?q=InvalidAction.NotFound&product=Rds&requestId={RID}")
    );
    let body = String::from_utf8(render_error(
        &ApiError::SignatureNonceUsed,
        RID,
        HOST,
        Format::Xml,
    ))
    .unwrap();
    assert!(body.contains("<Recommend><![CDATA[https://api.aliyun.com/troubleshoot?q=SignatureNonceUsed&product=Rds&requestId="));
}

/// Byte-exact envelopes, committed under tests/golden/ (regenerate with UPDATE_GOLDEN=1).
#[test]
fn golden_error_envelopes() {
    let mismatch = ApiError::SignatureDoesNotMatch {
        string_to_sign: "POST&%2F&AccessKeyId%3DtestAK%26Timestamp%3D2024-03-05T03%253A00%253A00Z"
            .into(),
    };
    for (name, error) in [
        ("error_not_found", ApiError::InvalidDBInstanceNotFound),
        ("error_signature", mismatch),
    ] {
        for (ext, format) in [("json", Format::Json), ("xml", Format::Xml)] {
            common::assert_golden(
                &format!("{name}.{ext}"),
                &render_error(&error, RID, HOST, format),
            );
        }
    }
}
