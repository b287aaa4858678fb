"""(b) alibabacloud_rds20140815 with a default Config: ACS3-HMAC-SHA256 (v3) Authorization header."""
from alibabacloud_rds20140815 import models as rds_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions

from xbak_sdk import Adapter, ApiError, ScenarioSuite, tea_client


class TeaAdapter(Adapter):
    name = "tea-v3"
    signature_algorithm = None  # default: v3

    def client(self, creds):
        return self.cached_client(creds, lambda ak, sk: tea_client(self.env, ak, sk, self.signature_algorithm))

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
