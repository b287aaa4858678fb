"""(c) alibabacloud_rds20140815 with Config(signature_algorithm='v2'): RPC HMAC-SHA1 in the query
(Format=json, lower case)."""
from test_tea_v3 import TeaAdapter
from xbak_sdk import ScenarioSuite


class TeaV2Adapter(TeaAdapter):
    name = "tea-v2"
    signature_algorithm = "v2"


class TestTeaV2(ScenarioSuite):
    adapter_class = TeaV2Adapter
