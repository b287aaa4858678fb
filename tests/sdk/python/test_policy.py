"""Cross-region backup policy through the official Python SDKs: ModifyInstanceCrossBackupPolicy,
DescribeInstanceCrossBackupPolicy and DescribeAvailableCrossRegion, via (a) aliyun-python-sdk-core +
aliyun-python-sdk-rds (v1 HMAC-SHA1) and (b) alibabacloud_rds20140815 with its default Config (v3).

Each SDK turns the policy on for its own seeded instance (no policy, one backup an hour old), reads it
back, sees the copy of that backup that enabling queued show up in DescribeCrossRegionBackups, turns
it off, and checks the refusals."""
import time

import pytest
from aliyunsdkrds.request.v20140815.DescribeAvailableCrossRegionRequest import DescribeAvailableCrossRegionRequest
from aliyunsdkrds.request.v20140815.DescribeCrossRegionBackupsRequest import DescribeCrossRegionBackupsRequest
from aliyunsdkrds.request.v20140815.DescribeInstanceCrossBackupPolicyRequest import \
    DescribeInstanceCrossBackupPolicyRequest
from aliyunsdkrds.request.v20140815.ModifyInstanceCrossBackupPolicyRequest import ModifyInstanceCrossBackupPolicyRequest
from alibabacloud_rds20140815 import models as rds_models

from xbak_sdk import TIME_RE, core_adapter, expect_call_error, tea_call

DEST = "cn-beijing"


CorePolicy = core_adapter(modify=ModifyInstanceCrossBackupPolicyRequest,
                          describe=DescribeInstanceCrossBackupPolicyRequest,
                          available=DescribeAvailableCrossRegionRequest, listing=DescribeCrossRegionBackupsRequest)


class TeaPolicy:
    name = "tea-v3"

    # API parameter name -> Tea model field
    FIELDS = {"DBInstanceId": "dbinstance_id", "RegionId": "region_id", "BackupEnabled": "backup_enabled",
              "LogBackupEnabled": "log_backup_enabled", "CrossBackupRegion": "cross_backup_region",
              "CrossBackupType": "cross_backup_type", "RetentType": "retent_type", "Retention": "retention",
              "CrossBackupId": "cross_backup_id", "StartTime": "start_time", "EndTime": "end_time"}

    def __init__(self, env):
        self.env = env

    def _call(self, method, model, params, creds):
        return tea_call(self.env, method, model, self.FIELDS, params, creds)

    def modify(self, params, creds="A"):
        body, raw = self._call("modify_instance_cross_backup_policy_with_options",
                               rds_models.ModifyInstanceCrossBackupPolicyRequest, params, creds)
        assert (body.backup_enabled, body.retention, body.retent_type) == \
            (raw["BackupEnabled"], raw["Retention"], raw["RetentType"])
        return raw

    def describe(self, params, creds="A"):
        body, raw = self._call("describe_instance_cross_backup_policy_with_options",
                               rds_models.DescribeInstanceCrossBackupPolicyRequest, params, creds)
        assert (body.backup_enabled, body.backup_enabled_time, body.dbinstance_status, body.retention) == \
            (raw["BackupEnabled"], raw["BackupEnabledTime"], raw["DBInstanceStatus"], raw["Retention"])
        return raw

    def available(self, params, creds="A"):
        body, raw = self._call("describe_available_cross_region_with_options",
                               rds_models.DescribeAvailableCrossRegionRequest, params, creds)
        assert body.regions.region == raw["Regions"]["Region"]
        return raw

    def listing(self, params, creds="A"):
        body, raw = self._call("describe_cross_region_backups_with_options",
                               rds_models.DescribeCrossRegionBackupsRequest, params, creds)
        return raw


expect_error = expect_call_error


@pytest.fixture(params=[CorePolicy, TeaPolicy], ids=lambda c: c.name)
def sdk(request, env):
    return request.param(env)


def test_available_regions(sdk, env):
    body = sdk.available({"RegionId": env.region})
    assert isinstance(body["Regions"], dict), body
    assert body["Regions"]["Region"] == [r for r in env.manifest["regions"] if r != env.region]
    assert body["RequestId"] and "Code" not in body


def test_enable_describe_disable(sdk, env):
    inst = env.manifest["policy_instances"][sdk.name]
    ids = {"DBInstanceId": inst, "RegionId": env.region}

    before = sdk.describe(ids)
    assert (before["BackupEnabled"], before["LogBackupEnabled"]) == ("Disable", "Disable")
    assert before["BackupEnabledTime"] == "" and before["CrossBackupRegion"] == ""

    body = sdk.modify(dict(ids, BackupEnabled="1", LogBackupEnabled="1", CrossBackupRegion=DEST,
                           CrossBackupType="1", RetentType=1, Retention=30))
    assert body["DBInstanceId"] == inst and body["RegionId"] == env.region
    assert (body["BackupEnabled"], body["LogBackupEnabled"]) == ("Enable", "Enable")
    assert body["CrossBackupRegion"] == DEST and body["CrossBackupType"] == "1"
    assert type(body["RetentType"]) is int and body["RetentType"] == 1
    assert type(body["Retention"]) is int and body["Retention"] == 30
    assert "Code" not in body

    on = sdk.describe(ids)
    assert (on["BackupEnabled"], on["LogBackupEnabled"]) == ("Enable", "Enable")
    assert TIME_RE.match(on["BackupEnabledTime"]) and TIME_RE.match(on["LogBackupEnabledTime"]), on
    assert on["CrossBackupRegion"] == DEST and on["Retention"] == 30 and on["RetentType"] == 1
    assert (on["Engine"], on["EngineVersion"]) == ("MySQL", "5.7")
    assert (on["DBInstanceStatus"], on["LockMode"]) == ("Running", "Unlock")
    assert isinstance(on["DBInstanceDescription"], str)

    # Enabling queued the copy of the hour-old backup; serve's workers copy it.
    deadline = time.time() + 30
    while True:
        listing = sdk.listing({"DBInstanceId": inst, "RegionId": env.region,
                               "StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z"})
        items = listing["Items"]["Item"]
        if items:
            break
        assert time.time() < deadline, "the copy queued by enabling never completed"
        time.sleep(0.5)
    assert [i["CrossBackupRegion"] for i in items] == [DEST]
    assert items[0]["BackupSetStatus"] == 0

    off = sdk.modify(dict(ids, BackupEnabled="0"))
    assert (off["BackupEnabled"], off["LogBackupEnabled"]) == ("Disable", "Disable")
    after = sdk.describe(ids)
    assert (after["BackupEnabled"], after["LogBackupEnabled"]) == ("Disable", "Disable")
    assert after["BackupEnabledTime"] == on["BackupEnabledTime"]
    assert after["Retention"] == 30
    # Turning it off keeps the copies.
    again = sdk.listing({"DBInstanceId": inst, "RegionId": env.region,
                         "StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z"})
    assert again["TotalRecordCount"] == 1


@pytest.mark.parametrize("extra,creds,status,code", [
    ({"BackupEnabled": "1"}, "A", 400, "MissingCrossBackupRegion"),
    ({"BackupEnabled": "1", "CrossBackupRegion": "$SRC"}, "A", 403, "CrossBackupNotSupport"),
    ({"BackupEnabled": "1", "CrossBackupRegion": "us-west-1"}, "A", 403, "CrossBackupNotSupport"),
    ({"Retention": 3}, "A", 400, "InvalidParameters.Format"),
    ({"CrossBackupType": "2"}, "A", 400, "InvalidParameters.Format"),
    ({"BackupEnabled": "0", "LogBackupEnabled": "1"}, "A", 400, "InvalidParameters.Format"),
    ({"BackupEnabled": "0"}, "B", 404, "InvalidDBInstance.NotFound"),
    ({"BackupEnabled": "0", "DBInstanceId": "$INELIGIBLE"}, "A", 403, "IncorrectDBInstanceType"),
    ({"BackupEnabled": "0", "DBInstanceId": "rm-nosuch01"}, "A", 404, "InvalidDBInstance.NotFound"),
])
def test_modify_refusals(sdk, env, extra, creds, status, code):
    subst = {"$SRC": env.region, "$INELIGIBLE": env.instance_ineligible}
    params = {"DBInstanceId": env.instance_a, "RegionId": env.region}
    params.update({k: subst.get(v, v) for k, v in extra.items()})
    e = expect_error(sdk.modify, params, creds)
    assert (e.status, e.code) == (status, code), e
    assert e.request_id


def test_describe_refusals(sdk, env):
    e = expect_error(sdk.describe, {"DBInstanceId": env.instance_a, "RegionId": env.region}, "B")
    assert (e.status, e.code) == (404, "InvalidDBInstance.NotFound")
    e = expect_error(sdk.describe, {"DBInstanceId": env.instance_ineligible, "RegionId": env.region})
    assert (e.status, e.code) == (403, "IncorrectDBInstanceType")
    # the seeded policy of instance A is untouched by all the refused changes
    body = sdk.describe({"DBInstanceId": env.instance_a, "RegionId": env.region})
    assert body["BackupEnabled"] == "Enable" and body["CrossBackupRegion"] == env.manifest["instance_a"]["dest"]
    assert body["Retention"] == 730
