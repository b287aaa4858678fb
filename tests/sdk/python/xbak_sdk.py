"""Shared scenario code for the Python official-SDK tests.

Each SDK is wrapped in a tiny *adapter* with one method, ``describe(params, creds)``, taking the API's
own parameter names (``{"DBInstanceId": ..., "PageSize": 30}``) and returning the **raw** JSON body as a
dict (so the scenarios can check JSON types), or raising :class:`ApiError` built from the SDK's own
exception (code / HTTP status / request id as the SDK reports them). Anything else the SDK raises
(parse errors, model errors) propagates and fails the test.

The scenarios (:class:`ScenarioSuite`) are written once and run for every adapter. The expectations
are tables (``error_cases``, ``credential_cases``) so the suite can be replayed against the real
service by pointing the env vars at it.

Environment (set by tests/sdk/run.sh):
  XBAK_ENDPOINT        host:port of the server (only 127.0.0.1 / localhost is accepted)
  XBAK_AK_A/XBAK_SK_A  account A (owns rm-sdk0001 and the ineligible instance)
  XBAK_AK_B/XBAK_SK_B  account B (owns rm-sdkb001)
  XBAK_SEED_MANIFEST   seed.json written by tests/sdk/seed.py
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LOOPBACK = {"127.0.0.1", "localhost"}
NOTES = []  # lines printed in pytest's terminal summary (conftest.py)

# Every field of an Items.Item in the contract, with its JSON type.
INT_FIELDS = ("BackupSetScale", "BackupSetStatus", "CrossBackupId", "CrossBackupSetSize", "InstanceId")
STR_FIELDS = ("BackupEndTime", "BackupMethod", "BackupStartTime", "BackupType", "Category",
              "ConsistentTime", "CrossBackupDownloadLink", "CrossBackupRegion", "CrossBackupSetFile",
              "CrossBackupSetLocation", "DBInstanceStorageType", "Engine", "EngineVersion")
TOP_INT_FIELDS = ("TotalRecordCount", "PageNumber", "PageRecordCount")
TOP_STR_FIELDS = ("RequestId", "RegionId")


# ---------------------------------------------------------------------------------------------------
# environment

@dataclass
class Env:
    endpoint: str
    keys: dict            # "A"/"B" -> (ak, sk)
    manifest: dict
    region: str
    instance_a: str
    instance_b: str
    instance_ineligible: str
    window: tuple
    backups_a: list = field(default_factory=list)

    @property
    def total(self):
        return len(self.backups_a)

    @classmethod
    def load(cls):
        endpoint = os.environ.get("XBAK_ENDPOINT")
        path = os.environ.get("XBAK_SEED_MANIFEST")
        if not endpoint or not path:
            pytest.fail("XBAK_ENDPOINT / XBAK_SEED_MANIFEST not set: run these tests through tests/sdk/run.sh")
        host = endpoint.split(":")[0]
        assert host in LOOPBACK, "refusing to target %r: tests only talk to 127.0.0.1" % endpoint
        with open(path) as f:
            m = json.load(f)
        keys = {k: (os.environ["XBAK_AK_" + k], os.environ["XBAK_SK_" + k]) for k in ("A", "B")}
        return cls(endpoint=endpoint, keys=keys, manifest=m, region=m["source_region"],
                   instance_a=m["instance_a"]["id"], instance_b=m["instance_b"]["id"],
                   instance_ineligible=m["instance_ineligible"],
                   window=(m["window"]["start"], m["window"]["end"]),
                   backups_a=m["instance_a"]["backups"])

    def creds(self, who):
        if isinstance(who, tuple):
            return who
        if who == "wrong-secret":
            return (self.keys["A"][0], self.keys["A"][1] + "x")
        if who == "unknown-key":
            return ("LTAI5tUnknownXbakKey0000", "NoSuchSecret0000000000000000000")
        return self.keys[who]


# ---------------------------------------------------------------------------------------------------
# adapters

class ApiError(Exception):
    """An error response as the SDK under test reported it."""

    def __init__(self, code, status, request_id, message="", raw=None):
        super().__init__("%s (HTTP %s, RequestId %s): %s" % (code, status, request_id, message))
        self.code = code
        self.status = status
        self.request_id = request_id
        self.message = message
        self.raw = raw


class Adapter:
    name = "?"
    # core rewrites SignatureDoesNotMatch to InvalidAccessKeySecret when the server's string-to-sign
    # equals its own (PROTOCOL §2.3); the other SDKs report the server's code as is.
    wrong_secret_code = "SignatureDoesNotMatch"

    def __init__(self, env: Env):
        self.env = env
        self._clients = {}

    def describe(self, params: dict, creds="A") -> dict:
        raise NotImplementedError

    def cached_client(self, creds, make):
        """One client per credential set ("A", "B", … resolved by the env), made by make(ak, sk) on first use."""
        ak, sk = self.env.creds(creds)
        if (ak, sk) not in self._clients:
            self._clients[(ak, sk)] = make(ak, sk)
        return self._clients[(ak, sk)]


def tea_client(env: Env, ak: str, sk: str, signature_algorithm=None):
    """An alibabacloud_rds20140815 client that keeps the raw response map of its last call in
    `last_raw` (before it is cast into models), so JSON types can be checked."""
    from alibabacloud_rds20140815.client import Client
    from alibabacloud_tea_openapi import utils_models as open_api_models

    cfg = open_api_models.Config(access_key_id=ak, access_key_secret=sk, endpoint=env.endpoint,
                                 protocol="http", region_id=env.region)
    if signature_algorithm:
        cfg.signature_algorithm = signature_algorithm
    client = Client(cfg)
    orig = client.call_api

    def call_api(params, request, runtime):
        result = orig(params, request, runtime)
        client.last_raw = result
        return result

    client.call_api = call_api
    return client


def core_call(env: Env, req, params: dict, creds="A") -> dict:
    """Sends `req` (an aliyunsdkrds request) through aliyun-python-sdk-core with the API's own parameter
    names (`set_<Name>` when the request model has it, else a query parameter): the raw JSON body, or
    ApiError from the SDK's ServerException."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.client import AcsClient

    ak, sk = env.creds(creds)
    req.set_endpoint(env.endpoint)
    for k, v in params.items():
        setter = getattr(req, "set_" + k, None)
        if setter is not None:
            setter(v)
        else:
            req.add_query_param(k, v)
    assert req.get_method() == "POST"
    try:
        body = AcsClient(ak, sk, env.region).do_action_with_exception(req)
    except ServerException as e:
        raise ApiError(e.get_error_code(), e.get_http_status(), e.get_request_id(), e.get_error_msg())
    return json.loads(body)


def core_adapter(**requests):
    """An adapter class for aliyun-python-sdk-core (`name` "core"): each keyword `method=RequestClass`
    becomes a method `method(params, creds="A")` that sends a fresh request with core_call."""
    class Core:
        name = "core"

        def __init__(self, env):
            self.env = env

    for method, request in requests.items():
        setattr(Core, method,
                lambda self, params, creds="A", _request=request: core_call(self.env, _request(), params, creds))
    return Core


def tea_call(env: Env, method: str, model, fields: dict, params: dict, creds="A"):
    """Calls `method` of an alibabacloud_rds20140815 client (default Config: v3) with a `model` request
    built from the API's parameter names (`fields` maps them to the model's): (the Tea response body,
    the raw JSON map), or ApiError from the SDK's exception."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from darabonba.runtime import RuntimeOptions

    ak, sk = env.creds(creds)
    client = tea_client(env, ak, sk)
    req = model(**{fields[k]: v for k, v in params.items()})
    try:
        resp = getattr(client, method)(req, RuntimeOptions())
    except AlibabaCloudException as e:
        raise ApiError(e.code, e.status_code, e.request_id, e.message, getattr(e, "data", None))
    assert resp.status_code == 200
    raw = client.last_raw["body"]
    assert resp.body.request_id == raw["RequestId"]
    return resp.body, raw


# ---------------------------------------------------------------------------------------------------
# expectations: ../cases.json (shared with the Node scenarios; ids resolved from the env, so the same
# table can be replayed against the real service)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cases.json")) as _f:
    ERROR_CASES = json.load(_f)["error_cases"]


def resolve_params(params, env):
    subst = {"$A": env.instance_a, "$B": env.instance_b, "$W0": env.window[0], "$W1": env.window[1]}
    out = {"RegionId": env.region}
    out.update({k: subst.get(v, v) if isinstance(v, str) else v for k, v in params.items()})
    return out


# ---------------------------------------------------------------------------------------------------
# helpers

def items_of(body):
    assert isinstance(body.get("Items"), dict), "Items must be an object wrapping Item, got %r" % (body.get("Items"),)
    item = body["Items"].get("Item")
    assert isinstance(item, list), "Items.Item must be a list, got %r" % (item,)
    return item


def order_key(it):
    return (it["BackupStartTime"], it["CrossBackupId"])


def assert_newest_first(items):
    keys = [order_key(i) for i in items]
    assert keys == sorted(keys, reverse=True), \
        "items not in BackupStartTime desc, CrossBackupId desc order: %r" % keys[:10]


def fetch_bytes(url):
    host = urllib.parse.urlsplit(url).hostname
    assert host in LOOPBACK, "download link must point at the local server, got %r" % url
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as r:
        assert r.status == 200, "GET %s -> %s" % (url, r.status)
        return r.read()


def _seed_module():
    """tests/sdk/seed.py as a module (its `main` runs only as a script): one CRC-64 for both."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "seed.py")
    spec = importlib.util.spec_from_file_location("xbak_sdk_seed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# CRC-64/XZ (ECMA-182 reflected; init and xorout all ones), the CRC-64 OSS reports and
# DescribeBinlogFiles' Checksum carries (in decimal); checked against its check value in seed.py.
crc64 = _seed_module().crc64


def window_params(env, **extra):
    p = {"RegionId": env.region, "DBInstanceId": env.instance_a,
         "StartTime": env.window[0], "EndTime": env.window[1]}
    p.update(extra)
    return p


def expect_call_error(call, params, creds="A"):
    """The ApiError `call(params, creds)` raises; fails the test on a success body."""
    try:
        body = call(params, creds)
    except ApiError as e:
        return e
    pytest.fail("expected an error, got a success body: %s" % json.dumps(body)[:500])


def expect_error(api, creds, params):
    try:
        body = api.describe(params, creds)
    except ApiError as e:
        return e
    pytest.fail("expected an error, got a success body: %s" % json.dumps(body)[:500])


# ---------------------------------------------------------------------------------------------------
# the scenarios

class ScenarioSuite:
    """Subclasses set ``adapter_class``; the ``api``/``env`` fixtures come from conftest.py."""

    adapter_class = Adapter

    # -- listing --------------------------------------------------------------------------------------

    def test_window_listing(self, api, env):
        body = api.describe(window_params(env, PageSize=100))
        for k in TOP_INT_FIELDS:
            assert type(body.get(k)) is int, "%s must be a JSON integer, got %r" % (k, body.get(k))
        for k in TOP_STR_FIELDS:
            assert isinstance(body.get(k), str) and body[k], "%s must be a non-empty string" % k
        assert body["TotalRecordCount"] == env.total
        assert body["PageNumber"] == 1
        items = items_of(body)
        assert len(items) == 100
        assert body["PageRecordCount"] == len(items)
        assert body["RegionId"] == env.region
        assert body.get("StartTime") == env.window[0]
        assert body.get("EndTime") == env.window[1]
        assert_newest_first(items)

    def test_default_page_size_is_30(self, api, env):
        body = api.describe(window_params(env))
        assert body["TotalRecordCount"] == env.total
        assert body["PageNumber"] == 1
        assert len(items_of(body)) == 30 == body["PageRecordCount"]

    def test_window_bounds_are_inclusive(self, api, env):
        starts = sorted(b["start"] for b in env.backups_a)
        lo, hi = starts[10], starts[40]
        body = api.describe({"RegionId": env.region, "DBInstanceId": env.instance_a,
                             "StartTime": lo, "EndTime": hi, "PageSize": 100})
        items = items_of(body)
        got = sorted(i["BackupStartTime"] for i in items)
        assert body["TotalRecordCount"] == 31 == len(items), got
        assert got == starts[10:41]

    def test_minute_precision_times_accepted(self, api, env):
        # the contract's own examples write times as yyyy-MM-ddTHH:mmZ (e.g. 2019-05-30T12:10Z)
        w0, w1 = (t[:16] + "Z" for t in env.window)
        body = api.describe({"RegionId": env.region, "DBInstanceId": env.instance_a, "StartTime": w0, "EndTime": w1})
        assert body["TotalRecordCount"] == env.total

    @pytest.mark.parametrize("page_size", [30, 50, 100])
    def test_paging(self, api, env, page_size):
        pages = math.ceil(env.total / page_size)
        all_items = []
        for n in range(1, pages + 1):
            body = api.describe(window_params(env, PageSize=page_size, PageNumber=n))
            items = items_of(body)
            assert body["TotalRecordCount"] == env.total
            assert body["PageNumber"] == n
            assert body["PageRecordCount"] == len(items)
            assert len(items) == min(page_size, env.total - (n - 1) * page_size), "page %d" % n
            all_items += items
        ids = [i["CrossBackupId"] for i in all_items]
        assert len(ids) == len(set(ids)) == env.total, "duplicate or missing CrossBackupIds across pages"
        assert_newest_first(all_items)
        assert sorted(i["BackupStartTime"] for i in all_items) == sorted(b["start"] for b in env.backups_a)
        # one page past the end: an empty page (or InvalidPage.notFound, which the contract also lists)
        try:
            body = api.describe(window_params(env, PageSize=page_size, PageNumber=pages + 1))
        except ApiError as e:
            assert (e.code, e.status) == ("InvalidPage.notFound", 404), str(e)
        else:
            assert items_of(body) == [] and body["PageRecordCount"] == 0
            assert body["TotalRecordCount"] == env.total

    def test_fetch_by_cross_backup_id(self, api, env):
        listed = items_of(api.describe(window_params(env, PageSize=50, PageNumber=2)))
        target = listed[7]
        body = api.describe({"RegionId": env.region, "DBInstanceId": env.instance_a,
                             "CrossBackupId": target["CrossBackupId"]})
        items = items_of(body)
        assert body["TotalRecordCount"] == 1 and len(items) == 1, items
        got = dict(items[0])
        want = dict(target)
        # a pre-signed link may legitimately differ between two calls
        got.pop("CrossBackupDownloadLink"), want.pop("CrossBackupDownloadLink")
        assert got == want

    def test_cross_backup_region_filter(self, api, env):
        dest = env.manifest["instance_a"]["dest"]
        body = api.describe(window_params(env, PageSize=100, CrossBackupRegion=dest))
        assert body["TotalRecordCount"] == env.total
        assert {i["CrossBackupRegion"] for i in items_of(body)} == {dest}
        other = env.manifest["other_dest"]
        body = api.describe(window_params(env, CrossBackupRegion=other))
        assert body["TotalRecordCount"] == 0
        assert items_of(body) == []
        assert body["PageRecordCount"] == 0

    def test_item_fields(self, api, env):
        inst = env.manifest["instance_a"]
        by_start = {b["start"]: b for b in env.backups_a}
        items = []
        for n in (1, 2):
            items += items_of(api.describe(window_params(env, PageSize=100, PageNumber=n)))
        assert len(items) == env.total
        for it in items:
            for k in INT_FIELDS:
                assert type(it.get(k)) is int, "%s must be a JSON integer in %r" % (k, it)
            for k in STR_FIELDS:
                assert isinstance(it.get(k), str) and it[k], "%s must be a non-empty string in %r" % (k, it)
            for k in ("BackupStartTime", "BackupEndTime", "ConsistentTime"):
                assert TIME_RE.match(it[k]), "%s=%r is not yyyy-MM-ddTHH:mm:ssZ" % (k, it[k])
            rr = it.get("RestoreRegions")
            assert isinstance(rr, dict) and isinstance(rr.get("RestoreRegion"), list), \
                "RestoreRegions must be {RestoreRegion: [...]}, got %r" % (rr,)
            assert rr["RestoreRegion"] == [env.region, inst["dest"]]
            assert it["CrossBackupRegion"] == inst["dest"]
            assert it["Engine"].lower() == inst["engine"].lower()
            assert it["EngineVersion"] == inst["engine_version"]
            assert it["Category"] == inst["category"]
            assert it["BackupSetStatus"] == 0, "replicated copies must be complete (0)"
            seed = by_start[it["BackupStartTime"]]
            assert it["BackupEndTime"] == seed["end"]
            assert it["ConsistentTime"] == seed["consistent"]
            assert it["BackupMethod"] == seed["method"]
            assert it["BackupType"] == seed["type"]
            assert it["BackupSetScale"] == seed["scale"]
            assert it["CrossBackupSetSize"] == seed["size"]
            assert it["InstanceId"] == seed["instance_number"]

    def test_download_link_serves_the_registered_bytes(self, api, env):
        by_start = {b["start"]: b for b in env.backups_a}
        items = items_of(api.describe(window_params(env, PageSize=30)))
        # one logical and one physical set
        picked = [next(i for i in items if i["BackupMethod"] == m) for m in ("L", "P")]
        for it in picked:
            data = fetch_bytes(it["CrossBackupDownloadLink"])
            assert len(data) == it["CrossBackupSetSize"]
            assert hashlib.sha256(data).hexdigest() == by_start[it["BackupStartTime"]]["sha256"]

    def test_other_account_lists_its_own_instance(self, api, env):
        inst = env.manifest["instance_b"]
        body = api.describe({"RegionId": env.region, "DBInstanceId": inst["id"],
                             "StartTime": env.window[0], "EndTime": env.window[1]}, "B")
        items = items_of(body)
        assert body["TotalRecordCount"] == len(inst["backups"]) == len(items)
        assert {i["CrossBackupRegion"] for i in items} == {inst["dest"]}
        assert all(i["RestoreRegions"]["RestoreRegion"] == [env.region, inst["dest"]] for i in items)

    # -- errors ---------------------------------------------------------------------------------------

    @pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
    def test_error(self, api, env, case):
        code = case["code"] or api.wrong_secret_code
        e = expect_error(api, case["creds"], resolve_params(case["params"], env))
        assert (e.code, e.status) == (code, case["status"]), str(e)
        assert isinstance(e.request_id, str) and e.request_id and e.request_id not in ("None", "undefined"), str(e)

    def test_ineligible_instance(self, api, env):
        e = expect_error(api, "A", {"RegionId": env.region, "DBInstanceId": env.instance_ineligible,
                                    "StartTime": env.window[0], "EndTime": env.window[1]})
        NOTES.append("[%s] ineligible instance -> HTTP %s %s" % (api.name, e.status, e.code))
        assert 400 <= e.status < 500, str(e)
        assert isinstance(e.code, str) and e.code, str(e)
