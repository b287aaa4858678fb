"""xbak's own client next to an official SDK: `xbak rds DescribeCrossRegionBackups` must print the
JSON the official Tea v3 SDK receives for the same call (ignoring RequestId and the link query
strings, whose Expires moves), `--pager` must merge every page, errors must carry the same Code, and
`xbak backups download` must produce the bytes registered by seed.py (SHA-256 from the manifest).

Needs XBAK_BIN (exported by tests/sdk/run.sh) besides the usual environment.
"""
import json
import os
import subprocess
import tempfile

import pytest

from test_tea_v3 import TeaAdapter
from xbak_sdk import ApiError


def xbak_bin():
    path = os.environ.get("XBAK_BIN")
    if not path:
        pytest.fail("XBAK_BIN not set: run these tests through tests/sdk/run.sh")
    return path


def run_xbak(env, args, creds="A"):
    ak, sk = env.creds(creds)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("ALIBABA_CLOUD_", "ALIBABACLOUD_", "ALICLOUD_"))}
    with tempfile.TemporaryDirectory() as home:
        clean.update({"HOME": home, "ALIBABA_CLOUD_ACCESS_KEY_ID": ak,
                      "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sk, "XBAK_ENDPOINT": env.endpoint})
        return subprocess.run([xbak_bin()] + args, env=clean, capture_output=True, text=True, timeout=120)


def cli_args(params):
    out = ["rds", "DescribeCrossRegionBackups"]
    for k, v in params.items():
        out += ["--" + k, str(v)]
    return out


def normalize(body):
    body = dict(body)
    body.pop("RequestId", None)
    items = []
    for it in body.get("Items", {}).get("Item", []):
        it = dict(it)
        it["CrossBackupDownloadLink"] = it["CrossBackupDownloadLink"].split("?")[0]
        items.append(it)
    body["Items"] = {"Item": items}
    return body


@pytest.fixture(scope="module")
def tea(env):
    return TeaAdapter(env)


class TestXbakCli:
    def test_rds_prints_what_the_official_sdk_receives(self, env, tea):
        for page in (1, 2):
            params = {"RegionId": env.region, "DBInstanceId": env.instance_a, "StartTime": env.window[0],
                      "EndTime": env.window[1], "PageSize": 50, "PageNumber": page}
            official = tea.describe(params)
            out = run_xbak(env, cli_args(params))
            assert out.returncode == 0, out.stderr
            assert out.stdout.startswith('{\n  "'), "pretty-printed like aliyun"
            assert normalize(json.loads(out.stdout)) == normalize(official)

    def test_pager_merges_every_page(self, env):
        params = {"RegionId": env.region, "DBInstanceId": env.instance_a, "StartTime": env.window[0],
                  "EndTime": env.window[1]}
        out = run_xbak(env, cli_args(params) + ["--pager"])
        assert out.returncode == 0, out.stderr
        merged = json.loads(out.stdout)
        assert list(merged) == ["Items"]
        items = merged["Items"]["Item"]
        assert len(items) == env.total
        assert len({i["CrossBackupId"] for i in items}) == env.total

    def test_errors_carry_the_sdks_code(self, env, tea):
        params = {"RegionId": env.region, "DBInstanceId": "rm-doesnotexist", "StartTime": env.window[0],
                  "EndTime": env.window[1]}
        with pytest.raises(ApiError) as official:
            tea.describe(params)
        out = run_xbak(env, cli_args(params))
        assert out.returncode == 3
        assert "ErrorCode: %s" % official.value.code in out.stderr
        assert "RequestId: " in out.stderr and "Message: " in out.stderr

    def test_download_gives_the_registered_bytes(self, env, tea):
        backup = env.backups_a[-1]
        params = {"RegionId": env.region, "DBInstanceId": env.instance_a, "StartTime": backup["start"],
                  "EndTime": backup["start"]}
        item = next(i for i in tea.describe(params)["Items"]["Item"] if i["BackupStartTime"] == backup["start"])
        with tempfile.TemporaryDirectory() as d:
            dest = os.path.join(d, "set")
            out = run_xbak(env, ["backups", "download", env.instance_a, str(item["CrossBackupId"]),
                                 "--region", env.region, "-o", dest, "--sha256", backup["sha256"]])
            assert out.returncode == 0, out.stderr
            assert out.stdout == "%s  %s\n" % (backup["sha256"], dest)
            assert os.path.getsize(dest) == item["CrossBackupSetSize"]
