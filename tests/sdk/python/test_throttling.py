"""Throttling through the official Tea SDK (v3): a second `xbak serve` on the same data dir with a
per-AccessKey budget (`--key-rate 0.5 --key-burst 2`) answers the call over budget with
`Throttling.User` and `x-acs-retry-after`; the SDK raises its ThrottlingException carrying the wait,
and with retry options on that code it waits the time the server gave and the call succeeds.

Needs XBAK_BIN and XBAK_DATA_DIR (exported by tests/sdk/run.sh).
"""
import dataclasses
import os
import socket
import subprocess
import time

import pytest
from alibabacloud_rds20140815 import models as rds_models
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from darabonba.policy.retry import RetryOptions
from darabonba.runtime import RuntimeOptions

from xbak_sdk import tea_client, window_params


@pytest.fixture(scope="module")
def budget_env(env):
    xbak, data = os.environ.get("XBAK_BIN"), os.environ.get("XBAK_DATA_DIR")
    if not xbak or not data:
        pytest.fail("XBAK_BIN / XBAK_DATA_DIR not set: run these tests through tests/sdk/run.sh")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(data, "..", "throttled-server.log"), "w")
    proc = subprocess.Popen([xbak, "--data-dir", data, "serve", "--no-workers", "--no-metrics",
                             "--listen", "127.0.0.1:%d" % port, "--key-rate", "0.5", "--key-burst", "2"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            assert proc.poll() is None, "the throttled xbak serve exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the throttled xbak serve did not come up")
        yield dataclasses.replace(env, endpoint="127.0.0.1:%d" % port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def describe(client, env):
    req = rds_models.DescribeCrossRegionBackupsRequest().from_map(window_params(env))
    return client.describe_cross_region_backups_with_options(req, RuntimeOptions())


def test_over_budget_raises_throttling_exception_with_retry_after(budget_env):
    ak, sk = budget_env.creds("A")
    client = tea_client(budget_env, ak, sk)
    for _ in range(2):
        assert describe(client, budget_env).status_code == 200
    with pytest.raises(ThrottlingException) as caught:
        describe(client, budget_env)
    e = caught.value
    assert e.code == "Throttling.User"
    assert e.status_code == 400
    assert e.request_id
    assert isinstance(e.retry_after, int) and 0 < e.retry_after <= 2000, e.retry_after


def test_retry_options_wait_out_the_throttling(budget_env, monkeypatch):
    from darabonba.core import DaraCore
    slept = []
    real_sleep = DaraCore.sleep
    monkeypatch.setattr(DaraCore, "sleep", staticmethod(lambda ms: (slept.append(ms), real_sleep(ms))))
    ak, sk = budget_env.creds("B")
    client = tea_client(budget_env, ak, sk)
    client._retry_options = RetryOptions({"retryCondition": [
        {"maxAttempts": 3, "errorCode": ["Throttling.User"], "maxDelay": 5000}]})
    params = dict(window_params(budget_env), DBInstanceId=budget_env.instance_b)
    req = rds_models.DescribeCrossRegionBackupsRequest().from_map(params)
    for _ in range(2):
        assert client.describe_cross_region_backups_with_options(req, RuntimeOptions()).status_code == 200
    assert slept == []
    # Over budget: the SDK gets Throttling.User, sleeps x-acs-retry-after (not its own 100 ms
    # minimum), and the retry succeeds.
    assert client.describe_cross_region_backups_with_options(req, RuntimeOptions()).status_code == 200
    assert len(slept) == 1 and 100 < slept[0] <= 2000, slept
