//! Error envelopes (PROTOCOL §5.3), in Alibaba's field order:
//!
//! JSON: `{"RequestId":…,"Message":…,"Recommend":…,"HostId":…,"Code":…}`
//!
//! XML: `<?xml version='1.0' encoding='UTF-8'?><Error><RequestId/><HostId/><Code/><Message/>`
//! `<Recommend><![CDATA[…]]></Recommend></Error>`
//!
//! The SDKs read `Code`, `Message` and `RequestId`; `HostId` and `Recommend` are decorative.

use serde::Serialize;

use crate::encode::rfc3986;
use crate::error::ApiError;
use crate::format::Format;
use crate::xml;

/// The product name used in `Recommend` links.
pub const PRODUCT: &str = "Rds";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    request_id: &'a str,
    message: &'a str,
    recommend: &'a str,
    host_id: &'a str,
    code: &'a str,
}

/// The `Recommend` URL: `https://api.aliyun.com/troubleshoot?q=<Code>&product=Rds&requestId=<id>`.
pub fn recommend_url(code: &str, request_id: &str) -> String {
    format!(
        "https://api.aliyun.com/troubleshoot?q={}&product={PRODUCT}&requestId={}",
        rfc3986(code),
        rfc3986(request_id)
    )
}

/// Renders `err` as an error body. `host_id` is e.g. `rds.aliyuncs.com` or the Host header.
pub fn render_error(err: &ApiError, request_id: &str, host_id: &str, format: Format) -> Vec<u8> {
    let code = err.code();
    let message = err.message();
    let recommend = recommend_url(&code, request_id);
    let mut out = Vec::with_capacity(256 + message.len() + recommend.len());
    match format {
        Format::Json => {
            let body = ErrorBody {
                request_id,
                message: &message,
                recommend: &recommend,
                host_id,
                code: &code,
            };
            serde_json::to_writer(&mut out, &body).expect("serializing strings cannot fail");
        }
        Format::Xml => {
            out.extend_from_slice(xml::DECLARATION.as_bytes());
            xml::open(&mut out, "Error");
            xml::text_element(&mut out, "RequestId", request_id);
            xml::text_element(&mut out, "HostId", host_id);
            xml::text_element(&mut out, "Code", &code);
            xml::text_element(&mut out, "Message", &message);
            xml::cdata_element(&mut out, "Recommend", &recommend);
            xml::close(&mut out, "Error");
        }
    }
    out
}
