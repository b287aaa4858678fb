import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xbak_sdk import NOTES, Env  # noqa: E402

for _v in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)  # aliyun-python-sdk-core sends through these when set


@pytest.fixture(scope="session")
def env():
    return Env.load()


@pytest.fixture(scope="session")
def seeded(env):
    """rm-sdkl001 of the manifest: its closed binlog files (streamed and shipped by the seed's worker)
    and its one set."""
    inst = env.manifest["instance_binlog"]
    assert len(inst["files"]) >= 3, "the seed must have closed at least 3 binlog files"
    return inst


@pytest.fixture(scope="class")
def api(request, env):
    cls = request.cls
    if cls is None or getattr(cls, "adapter_class", None) is None:
        pytest.fail("the api fixture is for ScenarioSuite subclasses")
    return cls.adapter_class(env)


def pytest_terminal_summary(terminalreporter):
    for line in NOTES:
        terminalreporter.write_line(line)
