"""DescribeBinlogFiles through the official Python SDKs: (a) aliyun-python-sdk-core +
aliyun-python-sdk-rds DescribeBinlogFilesRequest (v1 HMAC-SHA1; JSON, and XML via
set_accept_format('XML')) and (b) alibabacloud_rds20140815 with its default Config (v3). Each call's
raw JSON is checked for names and JSON types, and the Tea models must carry the same values.

rm-sdkl001's binlog files were streamed into cn-hangzhou by `xbak worker` from a scratch
`mariadbd --log-bin` during seeding (seed.py); the manifest holds the closed ones as the source wrote
them (name, size, CRC-64/XZ, sha256, first and last event time). The file still open when the worker
stopped is never listed. The models have no RegionId: none is sent by the Tea client (core adds its
client's region, the instance's own)."""
import datetime as dt
import hashlib
import xml.etree.ElementTree as ET

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkrds.request.v20140815.DescribeBinlogFilesRequest import DescribeBinlogFilesRequest
from alibabacloud_rds20140815 import models as rds_models

from xbak_sdk import TIME_RE, core_call, crc64, expect_call_error, fetch_bytes, tea_call

WIDE = {"StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z"}
FILE_STR = ("LogFileName", "LogBeginTime", "LogEndTime", "DownloadLink", "IntranetDownloadLink", "LinkExpiredTime",
            "Checksum", "HostInstanceID", "RemoteStatus")
TOP_INT = ("TotalRecordCount", "PageNumber", "PageRecordCount", "TotalFileSize")

# Expected refusals (Code, HTTP status). $L = rm-sdkl001 (account A), $B = account B's instance,
# $W0/$W1 = a window around every seeded file; code None = the SDK's own code for a wrong secret.
# The instance and window of a good call; each case changes or drops one of them.
GOOD = {"DBInstanceId": "$L", "StartTime": "$W0", "EndTime": "$W1"}


def without(*names, **changes):
    """GOOD without `names`, with `changes`."""
    return {**{k: v for k, v in GOOD.items() if k not in names}, **changes}


ERROR_CASES = [
    ("missing-dbinstanceid", "A", without("DBInstanceId"), "MissingDBInstanceId", 400),
    ("missing-starttime", "A", without("StartTime"), "ParameterAbsence", 400),
    ("missing-endtime", "A", without("EndTime"), "ParameterAbsence", 400),
    ("missing-both-times", "A", without("StartTime", "EndTime"), "ParameterAbsence", 400),
    ("bad-starttime", "A", without(StartTime="2024/03/01 00:00"), "InvalidStartTime.Format", 400),
    ("bad-endtime", "A", without(EndTime="tomorrow"), "InvalidEndTime.Format", 400),
    ("endtime-before-starttime", "A", without(StartTime="$W1", EndTime="$W0"),
     "InvalidStartTimeAndEndTime.Malformed", 400),
    ("pagesize-31", "A", without(PageSize=31), "InvalidParameters.Format", 400),
    ("pagenumber-0", "A", without(PageNumber=0), "InvalidParameters.Format", 400),
    ("unknown-instance", "A", without(DBInstanceId="rm-doesnotexist0"), "InvalidDBInstance.NotFound", 404),
    ("other-accounts-instance", "A", without(DBInstanceId="$B"), "InvalidDBInstance.NotFound", 404),
    ("other-account-asks", "B", GOOD, "InvalidDBInstance.NotFound", 404),
    ("wrong-secret", "wrong-secret", GOOD, None, 400),
    ("unknown-access-key-id", "unknown-key", GOOD, "InvalidAccessKeyId.NotFound", 404),
]


def parse_ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def fmt_ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Core:
    name = "core"
    wrong_secret_code = "InvalidAccessKeySecret"

    def __init__(self, env):
        self.env = env

    def files(self, params, creds="A"):
        return core_call(self.env, DescribeBinlogFilesRequest(), params, creds)

    def files_xml(self, params, creds="A"):
        """(HTTP status, raw body bytes, exception or None) for Format=XML."""
        ak, sk = self.env.creds(creds)
        req = DescribeBinlogFilesRequest()
        req.set_endpoint(self.env.endpoint)
        for k, v in params.items():
            getattr(req, "set_" + k)(v)
        req.set_accept_format("XML")
        status, _headers, body, exc = AcsClient(ak, sk, self.env.region)._implementation_of_do_action(req)
        return status, body, exc


class Tea:
    name = "tea-v3"
    wrong_secret_code = "SignatureDoesNotMatch"

    FIELDS = {"DBInstanceId": "dbinstance_id", "StartTime": "start_time", "EndTime": "end_time",
              "PageSize": "page_size", "PageNumber": "page_number"}

    def __init__(self, env):
        self.env = env

    def files(self, params, creds="A"):
        body, raw = tea_call(self.env, "describe_binlog_files_with_options", rds_models.DescribeBinlogFilesRequest,
                             self.FIELDS, params, creds)
        assert (body.total_record_count, body.page_number, body.page_record_count, body.total_file_size) == \
            (raw["TotalRecordCount"], raw["PageNumber"], raw["PageRecordCount"], raw["TotalFileSize"])
        assert [(f.log_file_name, f.file_size, f.log_begin_time, f.log_end_time, f.download_link,
                 f.intranet_download_link, f.link_expired_time, f.checksum, f.host_instance_id, f.remote_status)
                for f in body.items.bin_log_file] == \
            [(f["LogFileName"], f["FileSize"], f["LogBeginTime"], f["LogEndTime"], f["DownloadLink"],
              f["IntranetDownloadLink"], f["LinkExpiredTime"], f["Checksum"], f["HostInstanceID"], f["RemoteStatus"])
             for f in raw["Items"]["BinLogFile"]]
        return raw


@pytest.fixture(params=[Core, Tea], ids=lambda c: c.name)
def sdk(request, env):
    return request.param(env)


def query(seeded, **extra):
    p = {"DBInstanceId": seeded["id"]}
    p.update(WIDE)
    p.update(extra)
    return p


def files_of(body):
    assert "Code" not in body, body
    assert isinstance(body.get("Items"), dict) and set(body["Items"]) == {"BinLogFile"}, \
        "Items must be {BinLogFile: [...]}, got %r" % (body.get("Items"),)
    files = body["Items"]["BinLogFile"]
    assert isinstance(files, list), "Items.BinLogFile must be a list, got %r" % (files,)
    return files


def assert_top(body, total, page_number, page_count, total_size):
    assert isinstance(body.get("RequestId"), str) and body["RequestId"], "RequestId must be a non-empty string"
    for k in TOP_INT:
        assert type(body.get(k)) is int, "%s must be a JSON integer, got %r" % (k, body.get(k))
    assert (body["TotalRecordCount"], body["PageNumber"], body["PageRecordCount"], body["TotalFileSize"]) == \
        (total, page_number, page_count, total_size)


def overlapping(seeded, start, end):
    """The seeded files whose [first, last] event times overlap [start, end] (inclusive), in order."""
    return [f for f in seeded["files"] if f["first_event"] <= end and f["last_event"] >= start]


expect_error = expect_call_error


# -- listing ----------------------------------------------------------------------------------------

def test_lists_every_closed_file(sdk, env, seeded):
    body = sdk.files(query(seeded, PageSize=100))
    files = files_of(body)
    want = seeded["files"]
    assert_top(body, len(want), 1, len(want), sum(f["size"] for f in want))
    assert [f["LogFileName"] for f in files] == [f["name"] for f in want], "every closed file, bin.000001 first"
    assert seeded["open_file"] not in [f["LogFileName"] for f in files], "the open file is not listed"
    now = dt.datetime.now(dt.timezone.utc)
    for got, seed in zip(files, want):
        for k in FILE_STR:
            assert isinstance(got.get(k), str) and got[k], "%s must be a non-empty string in %r" % (k, got)
        assert type(got.get("FileSize")) is int, "FileSize must be a JSON integer in %r" % (got,)
        for k in ("LogBeginTime", "LogEndTime", "LinkExpiredTime"):
            assert TIME_RE.match(got[k]), "%s=%r is not yyyy-MM-ddTHH:mm:ssZ" % (k, got[k])
        assert got["FileSize"] == seed["size"]
        assert got["Checksum"] == seed["crc64"], "Checksum is the file's decimal CRC-64/XZ"
        assert (got["LogBeginTime"], got["LogEndTime"]) == (seed["first_event"], seed["last_event"])
        assert got["HostInstanceID"] == str(seeded["instance_number"])
        assert got["RemoteStatus"] == "Completed"
        assert parse_ts(got["LinkExpiredTime"]) > now, "the links must not have expired yet"
    begins = [f["LogBeginTime"] for f in files]
    assert begins == sorted(begins) and all(f["LogBeginTime"] <= f["LogEndTime"] for f in files)


def test_paging(sdk, env, seeded):
    want = seeded["files"]
    total, size = len(want), sum(f["size"] for f in want)
    default = sdk.files(query(seeded))  # PageSize 30, PageNumber 1
    assert_top(default, total, 1, total, size)
    for page_size in (30, 50, 100):
        body = sdk.files(query(seeded, PageSize=page_size, PageNumber=1))
        assert [f["LogFileName"] for f in files_of(body)] == [f["name"] for f in want]
    # one page past the end: an empty page, the same totals
    past = sdk.files(query(seeded, PageSize=30, PageNumber=2))
    assert past["Items"] == {"BinLogFile": []}
    assert_top(past, total, 2, 0, size)


def test_download_links_serve_the_file_and_its_checksum(sdk, env, seeded):
    by_name = {f["name"]: f for f in seeded["files"]}
    for got in files_of(sdk.files(query(seeded))):
        seed = by_name[got["LogFileName"]]
        for link in ("DownloadLink", "IntranetDownloadLink"):
            data = fetch_bytes(got[link])
            assert len(data) == got["FileSize"], link
            assert data[:4] == b"\xfebin", "a binlog file starts with its magic"
            assert str(crc64(data)) == got["Checksum"] == seed["crc64"], link
            assert hashlib.sha256(data).hexdigest() == seed["sha256"], link


def test_window_selects_overlapping_files(sdk, env, seeded):
    files = seeded["files"]
    first, last = parse_ts(files[0]["first_event"]), parse_ts(files[-1]["last_event"])
    windows = [
        ("2000-01-01T00:00:00Z", fmt_ts(first - dt.timedelta(seconds=1))),   # before the first file
        (fmt_ts(last + dt.timedelta(seconds=1)), "2100-01-01T00:00:00Z"),    # after the last closed one
        (files[1]["first_event"], files[1]["first_event"]),                  # one instant, bounds inclusive
        tuple(sorted((files[1]["last_event"], files[-2]["first_event"]))),
        (files[0]["first_event"], files[0]["first_event"]),
        (files[-1]["last_event"], files[-1]["last_event"]),
    ]
    for start, end in windows:
        want = overlapping(seeded, start, end)
        body = sdk.files({"DBInstanceId": seeded["id"], "StartTime": start, "EndTime": end})
        assert [f["LogFileName"] for f in files_of(body)] == [f["name"] for f in want], (start, end)
        assert_top(body, len(want), 1, len(want), sum(f["size"] for f in want))
    assert overlapping(seeded, *windows[0]) == [] and len(overlapping(seeded, *windows[2])) >= 1
    empty = sdk.files({"DBInstanceId": seeded["id"], "StartTime": windows[0][0], "EndTime": windows[0][1]})
    assert empty["Items"] == {"BinLogFile": []}


def test_minute_precision_times_accepted(sdk, env, seeded):
    # yyyy-MM-ddTHH:mmZ, as DescribeCrossRegionBackups accepts: floor the first, past the last by a minute
    start = seeded["files"][0]["first_event"][:16] + "Z"
    end = fmt_ts(parse_ts(seeded["files"][-1]["last_event"]) + dt.timedelta(minutes=1))[:16] + "Z"
    body = sdk.files({"DBInstanceId": seeded["id"], "StartTime": start, "EndTime": end})
    assert [f["LogFileName"] for f in files_of(body)] == [f["name"] for f in seeded["files"]]


# -- XML (only core can ask for it) -------------------------------------------------------------------

def test_xml_body(env, seeded):
    core = Core(env)
    status, raw, exc = core.files_xml(query(seeded, PageSize=30))
    assert status == 200 and exc is None, (status, exc, raw[:300])
    root = ET.fromstring(raw)
    assert root.tag == "DescribeBinlogFilesResponse"
    assert root.findtext("RequestId")
    assert root.findtext("TotalRecordCount") == str(len(seeded["files"])) == root.findtext("PageRecordCount")
    assert root.findtext("TotalFileSize") == str(sum(f["size"] for f in seeded["files"]))
    xml_files = root.findall("Items/BinLogFile")
    json_files = files_of(core.files(query(seeded, PageSize=30)))
    assert [x.findtext("LogFileName") for x in xml_files] == [j["LogFileName"] for j in json_files]
    for x, j in zip(xml_files, json_files):
        for k, v in j.items():
            if k in ("DownloadLink", "IntranetDownloadLink", "LinkExpiredTime"):
                continue  # signed anew by each call
            assert x.findtext(k) == str(v), (k, x.findtext(k), v)
    status, raw, exc = core.files_xml({"DBInstanceId": seeded["id"], "StartTime": "2000-01-01T00:00:00Z",
                                       "EndTime": "2000-01-02T00:00:00Z"})
    assert status == 200 and exc is None, (status, exc, raw[:300])
    root = ET.fromstring(raw)
    assert root.findtext("TotalRecordCount") == "0" and root.findall("Items/BinLogFile") == []


# -- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error(sdk, env, seeded, case):
    _id, creds, params, code, status = case
    subst = {"$L": seeded["id"], "$B": env.instance_b, "$W0": WIDE["StartTime"], "$W1": WIDE["EndTime"]}
    e = expect_error(sdk.files, {k: subst.get(v, v) if isinstance(v, str) else v for k, v in params.items()}, creds)
    assert (e.code, e.status) == (code or sdk.wrong_secret_code, status), str(e)
    assert isinstance(e.request_id, str) and e.request_id and e.request_id not in ("None", "undefined"), str(e)
