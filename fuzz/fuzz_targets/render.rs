//! The XML and JSON renderers: arbitrary response models for every action and arbitrary error
//! envelopes, rendered in both formats.
//!
//! Properties: the JSON is valid and deserializes back to the exact model; the XML is
//! well-formed (quick-xml, XML 1.0 line-end rules) with the `<Action>Response` (or `Error`)
//! root; and both renderings carry the same leaves, the XML text being the model's string with
//! only the characters XML 1.0 cannot carry replaced.

#![no_main]

use std::fmt::Debug;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use xbak_fuzz::{by_path, json_leaves, xml_leaves};
use xbak_protocol::actions::cross_backup_policy::InstanceCrossBackupPolicy;
use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
use xbak_protocol::actions::describe_available_cross_region::DescribeAvailableCrossRegionResponse;
use xbak_protocol::actions::describe_available_recovery_time::DescribeAvailableRecoveryTimeResponse;
use xbak_protocol::actions::describe_binlog_files::{
    BinLogFile, BinLogFiles, DescribeBinlogFilesResponse,
};
use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsResponse,
};
use xbak_protocol::actions::describe_cross_region_log_backup_files::{
    CrossLogBackupItem, CrossLogBackupItems, DescribeCrossRegionLogBackupFilesResponse,
};
use xbak_protocol::actions::describe_instance_cross_backup_policy::DescribeInstanceCrossBackupPolicyResponse;
use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;
use xbak_protocol::actions::{render, Action};
use xbak_protocol::render::render_error;
use xbak_protocol::{ApiError, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let _ = one(kind, rest, &mut Unstructured::new(rest));
});

/// Renders one model of the kind `kind` names (`b`ackups, `a`vailable regions, `d`escribe
/// policy, `m`odify policy, binlog `f`iles, `l`og copies, `r`ecovery time, `e`rror), read from
/// `json` when it is one, else made up from `u`.
fn one(kind: u8, json: &[u8], u: &mut Unstructured) -> Result<()> {
    const KINDS: &[u8] = b"badmeflr";
    let kind = match kind {
        k if KINDS.contains(&k) => k,
        _ => KINDS[kind as usize % KINDS.len()],
    };
    // `check`s the model `make` reads or makes up, rendered for `action`.
    macro_rules! case {
        ($make:ident, $action:ident) => {
            check(&model(json, u, $make)?, render, Action::$action)
        };
    }
    match kind {
        b'b' => case!(backups_response, DescribeCrossRegionBackups),
        b'a' => case!(available_response, DescribeAvailableCrossRegion),
        b'd' => case!(policy_response, DescribeInstanceCrossBackupPolicy),
        b'm' => case!(modify_response, ModifyInstanceCrossBackupPolicy),
        b'f' => case!(binlog_files_response, DescribeBinlogFiles),
        b'l' => case!(log_copies_response, DescribeCrossRegionLogBackupFiles),
        b'r' => case!(recovery_response, DescribeAvailableRecoveryTime),
        _ => check_error(&api_error(u)?, u.arbitrary()?, u.arbitrary()?),
    }
    Ok(())
}

/// The model `json` describes (the corpus holds the seed contract's examples), else one made
/// up from `u`.
fn model<T: DeserializeOwned>(
    json: &[u8],
    u: &mut Unstructured,
    make: impl FnOnce(&mut Unstructured) -> Result<T>,
) -> Result<T> {
    match serde_json::from_slice(json) {
        Ok(model) => Ok(model),
        Err(_) => make(u),
    }
}

/// JSON round-trips to `model`; XML is well-formed under `<Action>Response` with the same leaves.
fn check<T>(model: &T, render: fn(&T, Format) -> Vec<u8>, action: Action)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = render(model, Format::Json);
    let back: T = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(&back, model, "JSON does not round-trip");
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(value.get("Code").is_none(), "a success body with a Code");
    let (root, leaves) = xml_leaves(&render(model, Format::Xml));
    assert_eq!(root, format!("{}Response", action.name()));
    assert_eq!(
        by_path(leaves),
        by_path(json_leaves(&value)),
        "XML and JSON differ"
    );
}

fn check_error(err: &ApiError, request_id: &str, host_id: &str) {
    let json = render_error(err, request_id, host_id, Format::Json);
    let value: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(value["Code"], err.code());
    assert_eq!(value["Message"], err.message());
    assert_eq!(value["RequestId"], request_id);
    assert_eq!(value["HostId"], host_id);
    let (root, leaves) = xml_leaves(&render_error(err, request_id, host_id, Format::Xml));
    assert_eq!(root, "Error");
    assert_eq!(
        by_path(leaves),
        by_path(json_leaves(&value)),
        "XML and JSON differ"
    );
}

fn api_error(u: &mut Unstructured) -> Result<ApiError> {
    Ok(match u.int_in_range(0..=4)? {
        0 => ApiError::Missing(*u.choose(&["DBInstanceId", "RegionId", "Signature"])?),
        1 => ApiError::InvalidParameter(u.arbitrary()?),
        2 => ApiError::SignatureDoesNotMatch {
            string_to_sign: u.arbitrary()?,
        },
        3 => ApiError::InvalidStartTimeAndEndTimeMalformed,
        _ => ApiError::InternalError,
    })
}

/// `$ty { $field: $u.arbitrary()?, …, $given, … }`: each `$field` made up from `$u`, each
/// `$given` from the variable of its name.
macro_rules! arbitrary {
    ($u:ident, $ty:ident { $($field:ident),* $(; $($given:ident),*)? }) => {
        $ty { $($field: $u.arbitrary()?,)* $($($given,)*)? }
    };
}

fn backups_response(u: &mut Unstructured) -> Result<DescribeCrossRegionBackupsResponse> {
    let mut items = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        items.push(arbitrary! { u, CrossRegionBackupItem {
            backup_end_time, backup_method, backup_set_scale, backup_set_status, backup_start_time,
            backup_type, category, consistent_time, cross_backup_download_link, cross_backup_id,
            cross_backup_region, cross_backup_set_file, cross_backup_set_location,
            cross_backup_set_size, db_instance_storage_type, engine, engine_version, instance_id,
            restore_regions
        }});
    }
    Ok(arbitrary! { u, DescribeCrossRegionBackupsResponse {
        request_id, region_id, start_time, end_time, total_record_count, page_number,
        page_record_count; items
    }})
}

fn available_response(u: &mut Unstructured) -> Result<DescribeAvailableCrossRegionResponse> {
    let request_id = u.arbitrary()?;
    let regions = arbitrary! { u, RegionList { region } };
    Ok(DescribeAvailableCrossRegionResponse {
        request_id,
        regions,
    })
}

fn modify_response(u: &mut Unstructured) -> Result<ModifyInstanceCrossBackupPolicyResponse> {
    Ok(arbitrary! { u, ModifyInstanceCrossBackupPolicyResponse {
        request_id, db_instance_id, region_id, backup_enabled, log_backup_enabled,
        cross_backup_region, cross_backup_type, retent_type, retention
    }})
}

fn policy_response(u: &mut Unstructured) -> Result<DescribeInstanceCrossBackupPolicyResponse> {
    Ok(DescribeInstanceCrossBackupPolicyResponse {
        request_id: u.arbitrary()?,
        region_id: u.arbitrary()?,
        policy: arbitrary! { u, InstanceCrossBackupPolicy {
            db_instance_id, backup_enabled, backup_enabled_time, log_backup_enabled,
            log_backup_enabled_time, cross_backup_region, cross_backup_type, retent_type,
            retention, engine, engine_version, db_instance_status, lock_mode,
            db_instance_description
        }},
    })
}

fn binlog_files_response(u: &mut Unstructured) -> Result<DescribeBinlogFilesResponse> {
    let mut bin_log_file = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        bin_log_file.push(arbitrary! { u, BinLogFile {
            log_file_name, file_size, log_begin_time, log_end_time, download_link,
            intranet_download_link, link_expired_time, checksum, host_instance_id, remote_status
        }});
    }
    let items = BinLogFiles { bin_log_file };
    Ok(arbitrary! { u, DescribeBinlogFilesResponse {
        request_id, total_record_count, page_number, page_record_count, total_file_size; items
    }})
}

fn log_copies_response(u: &mut Unstructured) -> Result<DescribeCrossRegionLogBackupFilesResponse> {
    let mut item = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        item.push(arbitrary! { u, CrossLogBackupItem {
            cross_log_backup_id, cross_backup_region, log_file_name, cross_log_backup_size,
            log_begin_time, log_end_time, instance_id, cross_download_link,
            cross_intranet_download_link, link_expired_time
        }});
    }
    let items = CrossLogBackupItems { item };
    Ok(arbitrary! { u, DescribeCrossRegionLogBackupFilesResponse {
        request_id, region_id, db_instance_id, start_time, end_time, total_record_count,
        page_number, page_record_count; items
    }})
}

fn recovery_response(u: &mut Unstructured) -> Result<DescribeAvailableRecoveryTimeResponse> {
    Ok(arbitrary! { u, DescribeAvailableRecoveryTimeResponse {
        request_id, region_id, cross_backup_id, recovery_begin_time, recovery_end_time
    }})
}
