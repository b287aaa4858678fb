"""DescribeCrossRegionLogBackupFiles and DescribeAvailableRecoveryTime through the official Python SDKs: (a) aliyun-python-sdk-core +
aliyun-python-sdk-rds DescribeCrossRegionLogBackupFilesRequest (v1; JSON, and XML via
set_accept_format('XML')) and (b) alibabacloud_rds20140815 with its default Config (v3). Each raw JSON
body is checked for names and JSON types, and the Tea models must carry the same values.

The seed's `xbak worker` streamed rm-sdkl001's binlog files into cn-hangzhou and shipped every closed
one to the policy's destination (seed.py waits for each copy): the listing in that region holds each
closed file of the manifest, byte for byte. rm-sdkl001's one set is consistent after the source's
first events, so its copy's recovery window runs from that point to the last copied file's last event."""
import hashlib
import xml.etree.ElementTree as ET

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkrds.request.v20140815.DescribeAvailableRecoveryTimeRequest import DescribeAvailableRecoveryTimeRequest
from aliyunsdkrds.request.v20140815.DescribeCrossRegionBackupsRequest import DescribeCrossRegionBackupsRequest
from aliyunsdkrds.request.v20140815.DescribeCrossRegionLogBackupFilesRequest import \
    DescribeCrossRegionLogBackupFilesRequest
from alibabacloud_rds20140815 import models as rds_models

from xbak_sdk import TIME_RE, core_adapter, core_call, expect_call_error, fetch_bytes, tea_call

WIDE = {"StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z"}
ITEM_INT = ("CrossLogBackupId", "CrossLogBackupSize", "InstanceId")
ITEM_STR = ("CrossBackupRegion", "LogFileName", "LogBeginTime", "LogEndTime", "CrossDownloadLink",
            "CrossIntranetDownloadLink", "LinkExpiredTime")


Core = core_adapter(copies=DescribeCrossRegionLogBackupFilesRequest, window=DescribeAvailableRecoveryTimeRequest)


class Tea:
    name = "tea-v3"

    FIELDS = {"DBInstanceId": "dbinstance_id", "RegionId": "region_id", "StartTime": "start_time",
              "EndTime": "end_time", "CrossBackupRegion": "cross_backup_region", "PageSize": "page_size",
              "PageNumber": "page_number"}

    def __init__(self, env):
        self.env = env

    def copies(self, params, creds="A"):
        body, raw = tea_call(self.env, "describe_cross_region_log_backup_files_with_options",
                             rds_models.DescribeCrossRegionLogBackupFilesRequest, self.FIELDS, params, creds)
        assert (body.dbinstance_id, body.region_id, body.start_time, body.end_time, body.total_record_count,
                body.page_number, body.page_record_count) == \
            (raw["DBInstanceId"], raw["RegionId"], raw["StartTime"], raw["EndTime"], raw["TotalRecordCount"],
             raw["PageNumber"], raw["PageRecordCount"])
        assert [(i.cross_log_backup_id, i.cross_backup_region, i.log_file_name, i.cross_log_backup_size,
                 i.log_begin_time, i.log_end_time, i.instance_id, i.cross_download_link,
                 i.cross_intranet_download_link, i.link_expired_time) for i in body.items.item] == \
            [(i["CrossLogBackupId"], i["CrossBackupRegion"], i["LogFileName"], i["CrossLogBackupSize"],
              i["LogBeginTime"], i["LogEndTime"], i["InstanceId"], i["CrossDownloadLink"],
              i["CrossIntranetDownloadLink"], i["LinkExpiredTime"]) for i in raw["Items"]["Item"]]
        return raw

    def window(self, params, creds="A"):
        fields = {"CrossBackupId": "cross_backup_id", "DBInstanceId": "dbinstance_id", "RegionId": "region_id"}
        body, raw = tea_call(self.env, "describe_available_recovery_time_with_options",
                             rds_models.DescribeAvailableRecoveryTimeRequest, fields, params, creds)
        assert (body.cross_backup_id, body.region_id, body.recovery_begin_time, body.recovery_end_time) == \
            (raw["CrossBackupId"], raw["RegionId"], raw["RecoveryBeginTime"], raw["RecoveryEndTime"])
        return raw


@pytest.fixture(params=[Core, Tea], ids=lambda c: c.name)
def sdk(request, env):
    return request.param(env)


def query(seeded, **extra):
    return {"DBInstanceId": seeded["id"], "RegionId": seeded["region"], **WIDE, **extra}


def items_of(body):
    assert "Code" not in body, body
    assert isinstance(body.get("Items"), dict) and set(body["Items"]) == {"Item"}, body.get("Items")
    return body["Items"]["Item"]


def test_every_closed_file_is_in_the_destination_byte_for_byte(sdk, seeded):
    body = sdk.copies(query(seeded, PageSize=100))
    items = items_of(body)
    want = seeded["files"]
    for k in ("TotalRecordCount", "PageNumber", "PageRecordCount"):
        assert type(body.get(k)) is int, "%s must be a JSON integer, got %r" % (k, body.get(k))
    assert (body["TotalRecordCount"], body["PageRecordCount"], body["PageNumber"]) == (len(want), len(want), 1)
    assert (body["DBInstanceId"], body["RegionId"], body["StartTime"], body["EndTime"]) == \
        (seeded["id"], seeded["region"], WIDE["StartTime"], WIDE["EndTime"])
    assert [i["LogFileName"] for i in items] == [f["name"] for f in want]
    ids = [i["CrossLogBackupId"] for i in items]
    assert len(set(ids)) == len(ids), "one id per copy"
    for got, seed in zip(items, want):
        for k in ITEM_INT:
            assert type(got.get(k)) is int, "%s must be a JSON integer in %r" % (k, got)
        for k in ITEM_STR:
            assert isinstance(got.get(k), str) and got[k], "%s must be a non-empty string in %r" % (k, got)
        for k in ("LogBeginTime", "LogEndTime", "LinkExpiredTime"):
            assert TIME_RE.match(got[k]), (k, got[k])
        assert got["CrossBackupRegion"] == seeded["dest"]
        assert (got["CrossLogBackupSize"], got["InstanceId"]) == (seed["size"], int(seeded["instance_number"]))
        assert (got["LogBeginTime"], got["LogEndTime"]) == (seed["first_event"], seed["last_event"])
        for link in ("CrossDownloadLink", "CrossIntranetDownloadLink"):
            assert hashlib.sha256(fetch_bytes(got[link])).hexdigest() == seed["sha256"], link


def test_region_filter_window_and_paging(sdk, seeded):
    n = len(seeded["files"])
    assert items_of(sdk.copies(query(seeded, CrossBackupRegion=seeded["dest"])))[-1]["LogFileName"] == \
        seeded["files"][-1]["name"]
    assert sdk.copies(query(seeded, CrossBackupRegion="cn-beijing"))["Items"] == {"Item": []}
    first = seeded["files"][0]
    one = sdk.copies(query(seeded, StartTime=first["first_event"], EndTime=first["first_event"]))
    assert first["name"] in [i["LogFileName"] for i in items_of(one)]
    past = sdk.copies(query(seeded, PageNumber=2))
    assert (past["TotalRecordCount"], past["PageRecordCount"], past["Items"]) == (n, 0, {"Item": []})


def test_xml_body(env, seeded):
    ak, sk = env.creds("A")
    req = DescribeCrossRegionLogBackupFilesRequest()
    req.set_endpoint(env.endpoint)
    for k, v in query(seeded).items():
        setter = getattr(req, "set_" + k, None)
        setter(v) if setter else req.add_query_param(k, v)  # RegionId has no setter
    req.set_accept_format("XML")
    status, _headers, raw, exc = AcsClient(ak, sk, env.region)._implementation_of_do_action(req)
    assert status == 200 and exc is None, (status, exc, raw[:300])
    root = ET.fromstring(raw)
    assert root.tag == "DescribeCrossRegionLogBackupFilesResponse"
    assert root.findtext("DBInstanceId") == seeded["id"]
    json_items = items_of(Core(env).copies(query(seeded)))
    xml_items = root.findall("Items/Item")
    assert [x.findtext("LogFileName") for x in xml_items] == [j["LogFileName"] for j in json_items]
    for x, j in zip(xml_items, json_items):
        for k in ITEM_INT + ("CrossBackupRegion", "LogBeginTime", "LogEndTime"):
            assert x.findtext(k) == str(j[k]), (k, x.findtext(k), j[k])


@pytest.mark.parametrize("case", [
    ("missing-starttime", "A", {"StartTime": None}, "ParameterAbsence", 400),
    ("pagesize-31", "A", {"PageSize": 31}, "InvalidParameters.Format", 400),
    ("other-region", "A", {"RegionId": "cn-beijing"}, "InvalidDBInstance.NotFound", 404),
    ("other-account-asks", "B", {}, "InvalidDBInstance.NotFound", 404),
], ids=lambda c: c[0])
def test_error(sdk, env, seeded, case):
    _id, creds, changes, code, status = case
    params = {k: v for k, v in {**query(seeded), **changes}.items() if v is not None}
    e = expect_call_error(sdk.copies, params, creds)
    assert (e.code, e.status) == (code, status), str(e)
    assert isinstance(e.request_id, str) and e.request_id, str(e)


def test_without_region_id_is_refused(env, seeded):
    # Only the Tea client can leave RegionId out: core adds its own region when the request has none.
    params = {k: v for k, v in query(seeded).items() if k != "RegionId"}
    e = expect_call_error(Tea(env).copies, params)
    assert (e.code, e.status) == ("MissingRegionId", 400), str(e)


# -- DescribeAvailableRecoveryTime ------------------------------------------------------------------

@pytest.fixture(scope="module")
def copy_id(env, seeded):
    """The CrossBackupId of rm-sdkl001's one copy, as DescribeCrossRegionBackups lists it."""
    listing = core_call(env, DescribeCrossRegionBackupsRequest(),
                        {"DBInstanceId": seeded["id"], "CrossBackupRegion": seeded["dest"], **WIDE})
    items = listing["Items"]["Item"]
    assert [i["ConsistentTime"] for i in items] == [seeded["set"]["consistent"]], items
    return items[0]["CrossBackupId"]


def test_recovery_window_runs_through_the_copied_logs(sdk, seeded, copy_id):
    body = sdk.window({"CrossBackupId": copy_id})
    assert set(body) == {"RequestId", "RegionId", "CrossBackupId", "RecoveryBeginTime", "RecoveryEndTime"}, body
    assert type(body["CrossBackupId"]) is int and body["CrossBackupId"] == copy_id
    assert body["RegionId"] == seeded["region"]
    begin = seeded["set"]["consistent"]
    assert seeded["files"][0]["first_event"] <= begin, "the set is consistent after the source's first events"
    # Through the closed files copied after the set, to the open file's last copied segment.
    assert (body["RecoveryBeginTime"], body["RecoveryEndTime"]) == (begin, seeded["open_last_event"])
    assert body["RecoveryEndTime"] > begin, "the files written after the set carry the window forward"
    scoped = sdk.window({"CrossBackupId": copy_id, "DBInstanceId": seeded["id"], "RegionId": seeded["region"]})
    assert scoped["RecoveryEndTime"] == body["RecoveryEndTime"]


@pytest.mark.parametrize("case", [
    ("unknown-id", "A", {"CrossBackupId": 2147483000}, "InvalidBackupSetID.NotFound", 404),
    ("other-instance", "A", {"DBInstanceId": "rm-doesnotexist0"}, "InvalidBackupSetID.NotFound", 404),
    ("other-region", "A", {"RegionId": "cn-beijing"}, "InvalidBackupSetID.NotFound", 404),
    ("other-account-asks", "B", {}, "InvalidBackupSetID.NotFound", 404),
], ids=lambda c: c[0])
def test_recovery_window_refusals(sdk, copy_id, case):
    _id, creds, changes, code, status = case
    e = expect_call_error(sdk.window, {"CrossBackupId": copy_id, **changes}, creds)
    assert (e.code, e.status) == (code, status), str(e)
