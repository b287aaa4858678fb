//! The request of PROTOCOL §3, shared by the signing and the verification tests.

use xbak_protocol::RawParams;

/// The §3 vector's query parameters, in the order the SDK sent them.
pub fn query() -> RawParams {
    RawParams::parse_urlencoded(b"DBInstanceId=rm-uf6wjk5xxxxxxx&StartTime=2024-03-05T02%3A21%3A00Z&EndTime=2024-03-05T02%3A24%3A37Z&PageSize=30&PageNumber=1&RegionId=cn-hangzhou")
}
