"""(b) alibabacloud_rds20140815 with a default Config: ACS3-HMAC-SHA256 (v3) Authorization header."""
from alibabacloud_rds20140815 import models as rds_models
from alibabacloud_rds20140815.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions

from xbak_sdk import Adapter, ApiError, ScenarioSuite


class TeaAdapter(Adapter):
    name = "tea-v3"
    signature_algorithm = None  # default: v3

    def __init__(self, env):
        super().__init__(env)
        self._clients = {}

    def client(self, creds):
        ak, sk = self.env.creds(creds)
        if (ak, sk) not in self._clients:
            cfg = open_api_models.Config(access_key_id=ak, access_key_secret=sk, endpoint=self.env.endpoint,
                                         protocol="http", region_id=self.env.region)
            if self.signature_algorithm:
                cfg.signature_algorithm = self.signature_algorithm
            client = Client(cfg)
            # keep the raw response map (before it is cast into models) so JSON types can be checked
            orig = client.call_api

            def call_api(params, request, runtime, _orig=orig, _client=client):
                result = _orig(params, request, runtime)
                _client.last_raw = result
                return result

            client.call_api = call_api
            self._clients[(ak, sk)] = client
        return self._clients[(ak, sk)]

    def describe(self, params, creds="A"):
        client = self.client(creds)
        req = rds_models.DescribeCrossRegionBackupsRequest().from_map(params)
        try:
            resp = client.describe_cross_region_backups_with_options(req, RuntimeOptions())
        except AlibabaCloudException as e:
            raise ApiError(e.code, e.status_code, e.request_id, e.message, getattr(e, "data", None))
        raw = client.last_raw["body"]
        # the SDK's models parsed the same thing
        assert resp.status_code == 200
        assert resp.body.total_record_count == raw.get("TotalRecordCount")
        assert resp.body.request_id == raw.get("RequestId")
        assert [i.cross_backup_id for i in resp.body.items.item] == \
            [i.get("CrossBackupId") for i in raw["Items"]["Item"]]
        for model, it in zip(resp.body.items.item, raw["Items"]["Item"]):
            assert model.restore_regions.restore_region == it["RestoreRegions"]["RestoreRegion"]
        return raw


class TestTeaV3(ScenarioSuite):
    adapter_class = TeaAdapter
