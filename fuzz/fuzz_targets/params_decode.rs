//! Parameter decoding: any bytes as a query string or form body.
//!
//! Properties: decoding never panics and equals the `percent-encoding` crate's; re-encoding the
//! decoded pairs the way the SDKs do and decoding again gives the same pairs; every action either
//! accepts the params with its documented invariants or refuses them with a 4xx Alibaba error,
//! whose rendered envelope is valid JSON and well-formed XML carrying the same Code, Message and
//! RequestId.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xbak_fuzz::{json_leaves, query_string, reference_parse, xml_leaves};
use xbak_protocol::actions::describe_cross_region_backups::params::{
    DescribeCrossRegionBackupsParams, DEFAULT_PAGE_NUMBER, PAGE_SIZES,
};
use xbak_protocol::actions::{Action, Request};
use xbak_protocol::render::render_error;
use xbak_protocol::{ApiError, Format, RawParams};

fuzz_target!(|data: &[u8]| {
    let params = RawParams::parse_urlencoded(data);
    assert_eq!(params, reference_parse(data), "decoded unlike the crate");
    let again = RawParams::parse_urlencoded(query_string(&params).as_bytes());
    assert_eq!(again, params, "re-encoded params decode differently");

    for action in Action::ALL {
        match Request::decode(action, &params) {
            Ok(request) => {
                assert_eq!(request.action(), action);
                if let Request::DescribeCrossRegionBackups(p) = request {
                    check_describe_backups(&params, &p);
                }
            }
            Err(e) => check_refusal(&e),
        }
    }
});

/// What a successful `DescribeCrossRegionBackups` decode promises.
fn check_describe_backups(raw: &RawParams, p: &DescribeCrossRegionBackupsParams) {
    assert!(PAGE_SIZES.contains(&p.page_size), "{p:?}");
    assert!((1..=i32::MAX as u32).contains(&p.page_number), "{p:?}");
    if raw.get_nonempty("PageNumber").is_none() {
        assert_eq!(p.page_number, DEFAULT_PAGE_NUMBER);
    }
    assert_eq!(
        p.instance.db_instance_id,
        raw.get_nonempty("DBInstanceId").unwrap()
    );
    assert_eq!(p.instance.region_id, raw.get_nonempty("RegionId").unwrap());
    match (&p.start_time, &p.end_time) {
        (Some((s, st)), Some((e, et))) => {
            assert!(st <= et, "window {s} > {e}");
            assert_eq!(Some(s.as_str()), raw.get_nonempty("StartTime"));
            assert_eq!(Some(e.as_str()), raw.get_nonempty("EndTime"));
        }
        (None, None) => assert!(p.cross_backup_id.is_some(), "no window and no id: {p:?}"),
        _ => panic!("half a time window: {p:?}"),
    }
}

/// A refusal is a client error whose envelope renders in both formats with the same fields.
fn check_refusal(e: &ApiError) {
    let status = e.http_status();
    assert!((400..500).contains(&status), "{e:?} answers {status}");
    assert!(!e.code().is_empty());
    let request_id = "6D4F1C2E-0000-4000-8000-000000000000";
    let json = render_error(e, request_id, "rds.aliyuncs.com", Format::Json);
    let value: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(value["Code"], e.code());
    assert_eq!(value["RequestId"], request_id);
    let xml = render_error(e, request_id, "rds.aliyuncs.com", Format::Xml);
    let (root, mut leaves) = xml_leaves(&xml);
    assert_eq!(root, "Error");
    let mut from_json = json_leaves(&value);
    leaves.sort();
    from_json.sort();
    assert_eq!(leaves, from_json, "XML and JSON envelopes differ");
}
