//! The SDK's policy actions against a real xbak server: `ModifyInstanceCrossBackupPolicy`,
//! `DescribeInstanceCrossBackupPolicy` and `DescribeAvailableCrossRegion`, typed, with both
//! signatures, and Alibaba's error fields.

mod common;

use common::*;
use xbak_sdk::{
    DescribeAvailableCrossRegionRequest, DescribeInstanceCrossBackupPolicyRequest, HttpMethod,
    ModifyInstanceCrossBackupPolicyRequest, SignatureVersion,
};
use xbak_testkit::*;

#[tokio::test]
async fn disable_enable_and_describe_back_with_each_signature() {
    let s = Server::start(Setup::default()).await;
    for sig in [SignatureVersion::V3, SignatureVersion::V1] {
        let client = s.client_with(sig, HttpMethod::Post);
        let describe = DescribeInstanceCrossBackupPolicyRequest::new(INSTANCE);

        let off = client
            .modify_instance_cross_backup_policy(
                &ModifyInstanceCrossBackupPolicyRequest::new(INSTANCE).disable(),
            )
            .await
            .unwrap();
        assert_eq!(off.backup_enabled, "Disable");
        assert_eq!(off.log_backup_enabled, "Disable");
        assert_eq!(off.db_instance_id, INSTANCE);
        assert_eq!(off.region_id, SRC, "RegionId came from the client");
        let read = client
            .describe_instance_cross_backup_policy(&describe)
            .await
            .unwrap();
        assert_eq!(read.policy.backup_enabled, "Disable");

        let on = client
            .modify_instance_cross_backup_policy(
                &ModifyInstanceCrossBackupPolicyRequest::new(INSTANCE)
                    .region_id(SRC)
                    .enable(DEST)
                    .log_backup_enabled(true)
                    .cross_backup_type("1")
                    .retent_type(1)
                    .retention(30),
            )
            .await
            .unwrap();
        assert_eq!(on.request_id.len(), 36, "{}", on.request_id);
        assert_eq!(on.backup_enabled, "Enable");
        assert_eq!(on.log_backup_enabled, "Enable");
        assert_eq!(on.cross_backup_region, DEST);
        assert_eq!(on.cross_backup_type, "1");
        assert_eq!((on.retent_type, on.retention), (1, 30));

        let read = client
            .describe_instance_cross_backup_policy(&describe.clone().region_id(SRC))
            .await
            .unwrap();
        assert!(!read.request_id.is_empty());
        assert_ne!(read.request_id, on.request_id);
        assert_eq!(read.policy.db_instance_id, INSTANCE);
        assert_eq!(read.region_id, SRC);
        assert_eq!(read.policy.backup_enabled, "Enable");
        assert!(
            read.policy.backup_enabled_time.ends_with('Z'),
            "{}",
            read.policy.backup_enabled_time
        );
        assert_eq!(read.policy.log_backup_enabled, "Enable");
        assert_eq!(read.policy.cross_backup_region, DEST);
        assert_eq!(read.policy.cross_backup_type, "1");
        assert_eq!((read.policy.retent_type, read.policy.retention), (1, 30));
        assert_eq!(read.policy.engine_version, "5.7");

        // Absent values keep what is stored.
        let kept = client
            .modify_instance_cross_backup_policy(
                &ModifyInstanceCrossBackupPolicyRequest::new(INSTANCE).retention(45),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                kept.backup_enabled.as_str(),
                kept.cross_backup_region.as_str(),
                kept.retention
            ),
            ("Enable", DEST, 45)
        );
    }
}

#[tokio::test]
async fn available_regions_exclude_the_source() {
    let s = Server::start(Setup::default()).await;
    let client = s.client();
    let from_client = client
        .describe_available_cross_region(&DescribeAvailableCrossRegionRequest::new())
        .await
        .unwrap();
    assert_eq!(from_client.request_id.len(), 36);
    assert_eq!(from_client.regions.region, [THIRD, DEST]);
    let from_dest = client
        .describe_available_cross_region(
            &DescribeAvailableCrossRegionRequest::new().region_id(DEST),
        )
        .await
        .unwrap();
    assert_eq!(from_dest.regions.region, [THIRD, SRC]);
}

#[tokio::test]
async fn errors_carry_code_and_request_id() {
    let s = Server::start(Setup::default()).await;
    let client = s.client();
    let e = client
        .modify_instance_cross_backup_policy(
            &ModifyInstanceCrossBackupPolicyRequest::new(INSTANCE)
                .enable(DEST)
                .retention(3),
        )
        .await
        .unwrap_err();
    let message = api_error_message(e, "InvalidParameters.Format", 400);
    assert_eq!(message, "Specified parameter is not valid.");

    // The refused call changed nothing.
    let read = client
        .describe_instance_cross_backup_policy(&DescribeInstanceCrossBackupPolicyRequest::new(
            INSTANCE,
        ))
        .await
        .unwrap();
    assert_eq!(
        (read.policy.backup_enabled.as_str(), read.policy.retention),
        ("Enable", 7)
    );

    let e = client
        .describe_instance_cross_backup_policy(&DescribeInstanceCrossBackupPolicyRequest::new(
            "rm-nope",
        ))
        .await
        .unwrap_err();
    assert_eq!(api(e).0, "InvalidDBInstance.NotFound");
}
