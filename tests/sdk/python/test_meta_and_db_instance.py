"""DescribeCrossRegionBackupDBInstance and DescribeCrossBackupMetaList through the official Python
SDKs: (a) aliyun-python-sdk-core + aliyun-python-sdk-rds (v1 HMAC-SHA1) and (b)
alibabacloud_rds20140815 with its default Config (v3). Each call's raw JSON is checked for names and
JSON types, and the Tea models must carry the same values.

The instance list is read with DBInstanceId filters where totals matter: the policy scenarios turn
policies of account A on and off meanwhile. The meta list reads the set of rm-sdkm001, which
`xbak backup run` took with a manifest (seed.py), and a registered set of rm-sdk0001, which has
none."""

import pytest
from aliyunsdkrds.request.v20140815.DescribeCrossBackupMetaListRequest import DescribeCrossBackupMetaListRequest
from aliyunsdkrds.request.v20140815.DescribeCrossRegionBackupDBInstanceRequest import \
    DescribeCrossRegionBackupDBInstanceRequest
from aliyunsdkrds.request.v20140815.DescribeCrossRegionBackupsRequest import DescribeCrossRegionBackupsRequest
from alibabacloud_rds20140815 import models as rds_models

from xbak_sdk import TIME_RE, core_adapter, expect_call_error, tea_call

POLICY_STR = ("DBInstanceId", "BackupEnabled", "BackupEnabledTime", "LogBackupEnabled", "LogBackupEnabledTime",
              "CrossBackupRegion", "CrossBackupType", "Engine", "EngineVersion", "DBInstanceStatus", "LockMode",
              "DBInstanceDescription")
POLICY_INT = ("RetentType", "Retention")
WIDE = {"StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z"}


Core = core_adapter(instances=DescribeCrossRegionBackupDBInstanceRequest, meta=DescribeCrossBackupMetaListRequest,
                    listing=DescribeCrossRegionBackupsRequest)


class Tea:
    name = "tea-v3"

    FIELDS = {"DBInstanceId": "dbinstance_id", "RegionId": "region_id", "PageSize": "page_size",
              "PageNumber": "page_number", "BackupSetId": "backup_set_id", "GetDbName": "get_db_name",
              "Pattern": "pattern", "PageIndex": "page_index", "Region": "region",
              "StartTime": "start_time", "EndTime": "end_time"}

    def __init__(self, env):
        self.env = env

    def _call(self, method, model, params, creds):
        return tea_call(self.env, method, model, self.FIELDS, params, creds)

    def instances(self, params, creds="A"):
        body, raw = self._call("describe_cross_region_backup_dbinstance_with_options",
                               rds_models.DescribeCrossRegionBackupDBInstanceRequest, params, creds)
        assert (body.region_id, body.page_number, body.page_size, body.items_numbers, body.total_records) == \
            (raw["RegionId"], raw["PageNumber"], raw["PageSize"], raw["ItemsNumbers"], raw["TotalRecords"])
        assert [(i.dbinstance_id, i.backup_enabled, i.retention, i.log_backup_enabled_time)
                for i in body.items.item] == \
            [(i["DBInstanceId"], i["BackupEnabled"], i["Retention"], i["LogBackupEnabledTime"])
             for i in raw["Items"]["Item"]]
        return raw

    def meta(self, params, creds="A"):
        body, raw = self._call("describe_cross_backup_meta_list_with_options",
                               rds_models.DescribeCrossBackupMetaListRequest, params, creds)
        assert (body.dbinstance_name, body.page_number, body.page_record_count, body.total_page_count,
                body.total_record_count) == \
            (raw["DBInstanceName"], raw["PageNumber"], raw["PageRecordCount"], raw["TotalPageCount"],
             raw["TotalRecordCount"])
        assert [(m.database, m.tables, m.size) for m in body.items.meta] == \
            [(m["Database"], m["Tables"], m["Size"]) for m in raw["Items"]["Meta"]]
        return raw

    def listing(self, params, creds="A"):
        return self._call("describe_cross_region_backups_with_options",
                          rds_models.DescribeCrossRegionBackupsRequest, params, creds)[1]


def expect_error(call, params, creds="A"):
    e = expect_call_error(call, params, creds)
    assert e.request_id
    return e


@pytest.fixture(params=[Core, Tea], ids=lambda c: c.name)
def sdk(request, env):
    return request.param(env)


def first_copy(sdk, env, instance):
    body = sdk.listing(dict(WIDE, DBInstanceId=instance, RegionId=env.region, PageSize=30))
    items = body["Items"]["Item"]
    assert items, "no cross-region copy of %s" % instance
    return str(items[0]["CrossBackupId"])


def test_instances_with_cross_region_backup(sdk, env):
    meta_inst = env.manifest["instance_meta"]["id"]
    named = ",".join([env.instance_a, env.instance_b, env.instance_ineligible, meta_inst, "rm-nosuch01"])
    body = sdk.instances({"RegionId": env.region, "DBInstanceId": named})
    assert "Code" not in body and body["RequestId"]
    assert body["RegionId"] == env.region
    for k in ("PageNumber", "PageSize", "ItemsNumbers", "TotalRecords"):
        assert type(body[k]) is int, (k, body)
    assert (body["PageNumber"], body["PageSize"], body["ItemsNumbers"], body["TotalRecords"]) == (1, 30, 2, 2)
    items = body["Items"]["Item"]
    assert [i["DBInstanceId"] for i in items] == sorted([env.instance_a, meta_inst])
    for item in items:
        for k in POLICY_STR:
            assert type(item[k]) is str, (k, item)
        for k in POLICY_INT:
            assert type(item[k]) is int, (k, item)
        assert item["BackupEnabled"] == "Enable" and TIME_RE.match(item["BackupEnabledTime"])
        assert (item["CrossBackupType"], item["RetentType"]) == ("1", 1)
        assert (item["DBInstanceStatus"], item["LockMode"]) == ("Running", "Unlock")
    a = items[[i["DBInstanceId"] for i in items].index(env.instance_a)]
    assert (a["CrossBackupRegion"], a["Retention"], a["Engine"], a["EngineVersion"]) == \
        (env.manifest["instance_a"]["dest"], 730, "MySQL", "5.7")

    # Every instance listed is account A's with cross-region backup on; B's never is.
    everything = sdk.instances({"RegionId": env.region, "PageSize": 100})
    ids = [i["DBInstanceId"] for i in everything["Items"]["Item"]]
    assert env.instance_a in ids and env.instance_b not in ids and env.instance_ineligible not in ids
    assert ids == sorted(ids) and everything["ItemsNumbers"] == len(ids) == everything["TotalRecords"]
    theirs = sdk.instances({"RegionId": env.region, "DBInstanceId": named}, "B")
    assert [i["DBInstanceId"] for i in theirs["Items"]["Item"]] == [env.instance_b]

    page = sdk.instances({"RegionId": env.region, "DBInstanceId": named, "PageSize": 1, "PageNumber": 2})
    assert (page["PageSize"], page["PageNumber"], page["ItemsNumbers"], page["TotalRecords"]) == (1, 2, 1, 2)
    past = sdk.instances({"RegionId": env.region, "DBInstanceId": named, "PageSize": 1, "PageNumber": 9})
    assert past["Items"] == {"Item": []} and past["TotalRecords"] == 2


@pytest.mark.parametrize("params,status,code", [
    ({"PageSize": 0}, 400, "InvalidParameters.Format"),
    ({"PageSize": 101}, 400, "InvalidParameters.Format"),
    ({"PageNumber": 0}, 400, "InvalidParameters.Format"),
    ({"RegionId": "Not A Region"}, 400, "InvalidRegion.Format"),
])
def test_instances_refusals(sdk, env, params, status, code):
    e = expect_error(sdk.instances, dict({"RegionId": env.region}, **params))
    assert (e.status, e.code) == (status, code), e


def test_meta_list_of_a_taken_set(sdk, env):
    meta = env.manifest["instance_meta"]
    set_id = first_copy(sdk, env, meta["id"])

    body = sdk.meta({"BackupSetId": set_id})
    assert "Code" not in body and body["RequestId"]
    assert body["DBInstanceName"] == meta["id"]
    for k in ("PageNumber", "PageRecordCount", "TotalPageCount", "TotalRecordCount"):
        assert type(body[k]) is int, (k, body)
    assert (body["PageNumber"], body["PageRecordCount"], body["TotalPageCount"], body["TotalRecordCount"]) == \
        (1, 1, 1, 1)
    [db] = body["Items"]["Meta"]
    assert db["Database"] == meta["database"] and db["Tables"] == ""
    assert type(db["Size"]) is str

    body = sdk.meta({"BackupSetId": set_id, "GetDbName": meta["database"], "Region": env.region})
    [db] = body["Items"]["Meta"]
    assert sorted(db["Tables"].split(",")) == meta["tables"]
    assert type(db["Size"]) is str

    assert sdk.meta({"BackupSetId": set_id, "Pattern": meta["database"][5:].upper()})["TotalRecordCount"] == 1
    nothing = sdk.meta({"BackupSetId": set_id, "Pattern": "no-such-db"})
    assert nothing["Items"] == {"Meta": []} and nothing["TotalRecordCount"] == 0
    paged = sdk.meta({"BackupSetId": set_id, "PageSize": "1", "PageIndex": "2"})
    assert (paged["PageNumber"], paged["PageRecordCount"], paged["TotalPageCount"]) == (2, 0, 1)


def test_meta_list_refusals(sdk, env):
    registered = first_copy(sdk, env, env.instance_a)
    e = expect_error(sdk.meta, {"BackupSetId": registered})
    assert (e.status, e.code) == (403, "InvalidMeta.Empty"), e
    taken = first_copy(sdk, env, env.manifest["instance_meta"]["id"])
    for params, creds in [({"BackupSetId": taken}, "B"),
                          ({"BackupSetId": taken, "Region": "cn-beijing"}, "A"),
                          ({"BackupSetId": "999999"}, "A"),
                          ({"BackupSetId": "not-an-id"}, "A")]:
        e = expect_error(sdk.meta, params, creds)
        assert (e.status, e.code) == (404, "InvalidBackupSetID.NotFound"), (params, e)
    e = expect_error(sdk.meta, {"BackupSetId": taken, "PageSize": "0", "PageIndex": "1"})
    assert (e.status, e.code) == (400, "InvalidPageSize"), e
    e = expect_error(sdk.meta, {"BackupSetId": taken, "PageSize": "10", "PageIndex": "zero"})
    assert (e.status, e.code) == (400, "InvalidPageIndex"), e
