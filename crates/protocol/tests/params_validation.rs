//! `DescribeCrossRegionBackupsParams::from_params`: each rule of PROTOCOL §7's recommended
//! mapping, both time formats, blanks and defaults.

use xbak_protocol::actions::describe_cross_region_backups::DescribeCrossRegionBackupsParams as P;
use xbak_protocol::{ApiError, RawParams};

fn parse(query: &str) -> Result<P, ApiError> {
    P::from_params(&RawParams::parse_urlencoded(query.as_bytes()))
}

const BASE: &str = "DBInstanceId=rm-abc123&RegionId=cn-hangzhou";

fn with(extra: &str) -> Result<P, ApiError> {
    parse(&format!("{BASE}&{extra}"))
}

#[test]
fn window_with_defaults() {
    let p = with("StartTime=2024-01-01T00%3A00%3A00Z&EndTime=2024-01-31T00%3A00%3A00Z").unwrap();
    assert_eq!(p.instance.db_instance_id, "rm-abc123");
    assert_eq!(p.instance.region_id, "cn-hangzhou");
    assert_eq!((p.page_size, p.page_number), (30, 1));
    let (s, st) = p.start_time.unwrap();
    assert_eq!(s, "2024-01-01T00:00:00Z");
    assert_eq!(st.to_rfc3339(), "2024-01-01T00:00:00+00:00");
    assert_eq!(p.end_time.unwrap().0, "2024-01-31T00:00:00Z");
    assert_eq!(p.cross_backup_id, None);
    assert_eq!(
        (p.cross_backup_region, p.backup_id, p.instance.owner_id),
        (None, None, None)
    );
}

#[test]
fn seed_minute_format_is_accepted_and_echoed_as_received() {
    let p = with("StartTime=2019-05-30T12:10Z&EndTime=2019-06-15T12:10Z").unwrap();
    let (s, st) = p.start_time.unwrap();
    assert_eq!(s, "2019-05-30T12:10Z");
    assert_eq!(st.to_rfc3339(), "2019-05-30T12:10:00+00:00");
    // Mixed shapes are fine too.
    assert!(with("StartTime=2019-05-30T12:10Z&EndTime=2019-06-15T12:10:59Z").is_ok());
}

#[test]
fn cross_backup_id_alone_and_all_optionals() {
    let p = with("CrossBackupId=14562&CrossBackupRegion=cn-shanghai&BackupId=9&PageSize=100&PageNumber=2147483647&ResourceGroupId=rg-1&OwnerId=1&ResourceOwnerId=2&ResourceOwnerAccount=acct").unwrap();
    assert_eq!(p.cross_backup_id, Some(14562));
    assert_eq!(p.start_time, None);
    assert_eq!(p.cross_backup_region.as_deref(), Some("cn-shanghai"));
    assert_eq!(p.backup_id, Some(9));
    assert_eq!((p.page_size, p.page_number), (100, i32::MAX as u32));
    assert_eq!(p.instance.resource_group_id.as_deref(), Some("rg-1"));
    assert_eq!(p.instance.owner_id.as_deref(), Some("1"));
    assert_eq!(p.instance.resource_owner_id.as_deref(), Some("2"));
    assert_eq!(p.instance.resource_owner_account.as_deref(), Some("acct"));
}

#[test]
fn blanks_count_as_absent() {
    let p = with("CrossBackupId=7&StartTime=&EndTime=&PageSize=&PageNumber=&CrossBackupRegion=&BackupId=&OwnerId=").unwrap();
    assert_eq!((p.page_size, p.page_number), (30, 1));
    assert_eq!(
        (
            p.start_time,
            p.cross_backup_region,
            p.backup_id,
            p.instance.owner_id
        ),
        (None, None, None, None)
    );
    assert_eq!(
        parse("DBInstanceId=&RegionId=cn-hangzhou&CrossBackupId=1"),
        Err(ApiError::Missing("DBInstanceId"))
    );
    assert_eq!(
        parse("DBInstanceId=rm-1&RegionId=&CrossBackupId=1"),
        Err(ApiError::Missing("RegionId"))
    );
    assert_eq!(with("CrossBackupId="), Err(ApiError::ParameterAbsence));
}

#[test]
fn missing_required() {
    let e = parse("RegionId=cn-hangzhou&CrossBackupId=1").unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.http_status()),
        ("MissingDBInstanceId", 400)
    );
    let e = parse("DBInstanceId=rm-1&CrossBackupId=1").unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.http_status()),
        ("MissingRegionId", 400)
    );
    assert_eq!(parse(""), Err(ApiError::Missing("DBInstanceId")));
}

#[test]
fn parameter_absence_and_integer_ids() {
    assert_eq!(parse(BASE), Err(ApiError::ParameterAbsence));
    let cases = [
        ("StartTime=2024-01-01T00:00:00Z", ApiError::ParameterAbsence),
        ("EndTime=2024-01-01T00:00:00Z", ApiError::ParameterAbsence),
        (
            "CrossBackupId=1&EndTime=2024-01-01T00:00:00Z",
            ApiError::ParameterAbsence,
        ),
        ("BackupId=1&PageSize=30", ApiError::ParameterAbsence),
        ("CrossBackupId=abc", ApiError::InvalidParametersFormat),
        ("CrossBackupId=1.0", ApiError::InvalidParametersFormat),
        (
            "CrossBackupId=99999999999999999999",
            ApiError::InvalidParametersFormat,
        ),
        (
            "CrossBackupId=1&BackupId=x",
            ApiError::InvalidParametersFormat,
        ),
    ];
    for (extra, refusal) in cases {
        assert_eq!(with(extra), Err(refusal), "{extra}");
    }
}

#[test]
fn time_formats() {
    let good = "2024-01-01T00:00:00Z";
    for bad in [
        "2024-01-01",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01 00:00:00Z",
        "2024-02-30T00:00Z",
        "yesterday",
        "2024-01-01T00:00:00+08:00",
    ] {
        let enc = bad.replace('+', "%2B");
        assert_eq!(
            with(&format!("StartTime={enc}&EndTime={good}")),
            Err(ApiError::InvalidStartTimeFormat),
            "{bad}"
        );
        assert_eq!(
            with(&format!("StartTime={good}&EndTime={enc}")),
            Err(ApiError::InvalidEndTimeFormat),
            "{bad}"
        );
    }
    // Both bad: StartTime is reported.
    assert_eq!(
        with("StartTime=x&EndTime=y"),
        Err(ApiError::InvalidStartTimeFormat)
    );
}

#[test]
fn end_before_start() {
    let e = with("StartTime=2024-01-02T00:00:00Z&EndTime=2024-01-01T23:59:59Z").unwrap_err();
    assert_eq!(e, ApiError::InvalidStartTimeAndEndTimeMalformed);
    assert_eq!(
        (e.code().as_str(), e.http_status()),
        ("InvalidStartTimeAndEndTime.Malformed", 400)
    );
    assert!(
        with("StartTime=2024-01-02T00:00Z&EndTime=2024-01-02T00:00:00Z").is_ok(),
        "equal is allowed"
    );
}

#[test]
fn page_size_and_number() {
    for ok in ["PageSize=30", "PageSize=50", "PageSize=100"] {
        assert!(with(&format!("CrossBackupId=1&{ok}")).is_ok(), "{ok}");
    }
    for bad in [
        "PageSize=10",
        "PageSize=31",
        "PageSize=0",
        "PageSize=-30",
        "PageSize=3O",
        "PageSize=30.0",
        "PageSize=%2030",
        "PageNumber=0",
        "PageNumber=-1",
        "PageNumber=1.5",
        "PageNumber=abc",
        "PageNumber=2147483648",
        "PageNumber=99999999999999999999",
    ] {
        let e = with(&format!("CrossBackupId=1&{bad}")).unwrap_err();
        assert_eq!(e, ApiError::InvalidParametersFormat, "{bad}");
        assert_eq!(
            (e.code().as_str(), e.http_status()),
            ("InvalidParameters.Format", 400)
        );
    }
    // CrossBackupId is an Integer (int32) in the API: a larger value is malformed.
    for bad in ["2147483648", "1099511627776", "-2147483649"] {
        assert_eq!(
            with(&format!("CrossBackupId={bad}")),
            Err(ApiError::InvalidParametersFormat),
            "{bad}"
        );
    }
    assert_eq!(
        with("CrossBackupId=2147483647").map(|p| p.cross_backup_id),
        Ok(Some(i64::from(i32::MAX)))
    );
    assert_eq!(
        with("CrossBackupId=1&PageNumber=7&PageSize=50").map(|p| (p.page_size, p.page_number)),
        Ok((50, 7))
    );
}

#[test]
fn region_format() {
    for bad in [
        "CN-HANGZHOU",
        "cn_hangzhou",
        "cn hangzhou",
        "cn-hangzhou%0A",
        "%C3%A9",
    ] {
        let e = parse(&format!("DBInstanceId=rm-1&CrossBackupId=1&RegionId={bad}")).unwrap_err();
        assert_eq!(
            (e.code().as_str(), e.http_status()),
            ("InvalidRegion.Format", 400),
            "{bad}"
        );
    }
    let long = "a".repeat(65);
    assert_eq!(
        parse(&format!(
            "DBInstanceId=rm-1&CrossBackupId=1&RegionId={long}"
        )),
        Err(ApiError::InvalidRegionFormat)
    );
    assert!(parse(&format!(
        "DBInstanceId=rm-1&CrossBackupId=1&RegionId={}",
        &long[..64]
    ))
    .is_ok());
    assert!(parse("DBInstanceId=rm-1&CrossBackupId=1&RegionId=cn-hangzhou-finance-1").is_ok());
}

#[test]
fn first_occurrence_wins_for_duplicates() {
    let p = with("CrossBackupId=1&CrossBackupId=2&RegionId=cn-beijing").unwrap();
    assert_eq!(p.cross_backup_id, Some(1));
    assert_eq!(p.instance.region_id, "cn-hangzhou");
}
