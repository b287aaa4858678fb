"""(a) aliyun-python-sdk-core + aliyun-python-sdk-rds: DescribeCrossRegionBackupsRequest (v1 HMAC-SHA1,
POST with the parameters in the query string), JSON via do_action_with_exception and XML via
set_accept_format('XML')."""
import json
import xml.etree.ElementTree as ET

from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkrds.request.v20140815.DescribeCrossRegionBackupsRequest import DescribeCrossRegionBackupsRequest

from xbak_sdk import Adapter, ApiError, ScenarioSuite, items_of, window_params, resolve_params, ERROR_CASES


class CoreAdapter(Adapter):
    name = "core"
    wrong_secret_code = "InvalidAccessKeySecret"

    def client(self, creds):
        return self.cached_client(creds, lambda ak, sk: AcsClient(ak, sk, self.env.region))

    def request(self, params):
        req = DescribeCrossRegionBackupsRequest()
        req.set_endpoint(self.env.endpoint)
        for k, v in params.items():
            setter = getattr(req, "set_" + k, None)
            if setter is not None:
                setter(v)
            else:  # RegionId has no setter; core would add the client's region anyway
                req.add_query_param(k, v)
        assert req.get_method() == "POST"
        return req

    def describe(self, params, creds="A"):
        req = self.request(params)
        try:
            body = self.client(creds).do_action_with_exception(req)
        except ServerException as e:
            raise ApiError(e.get_error_code(), e.get_http_status(), e.get_request_id(), e.get_error_msg())
        return json.loads(body)

    def describe_xml(self, params, creds="A"):
        """Returns (HTTP status, raw body bytes, exception or None) for Format=XML."""
        req = self.request(params)
        req.set_accept_format("XML")
        status, _headers, body, exc = self.client(creds)._implementation_of_do_action(req)
        return status, body, exc


class TestCore(ScenarioSuite):
    adapter_class = CoreAdapter

    # -- XML (only core can ask for it) ------------------------------------------------------------

    def test_xml_success_body(self, api, env):
        status, raw, exc = api.describe_xml(window_params(env, PageSize=50, PageNumber=2))
        assert status == 200 and exc is None, (status, exc, raw[:300])
        root = ET.fromstring(raw)
        assert root.tag == "DescribeCrossRegionBackupsResponse"
        assert root.findtext("TotalRecordCount") == str(env.total)
        assert root.findtext("PageNumber") == "2"
        assert root.findtext("RequestId")
        xml_items = root.findall("Items/Item")
        assert len(xml_items) == 50 == int(root.findtext("PageRecordCount"))
        # same page through JSON: same ids in the same order, same values
        json_items = items_of(api.describe(window_params(env, PageSize=50, PageNumber=2)))
        assert [int(i.findtext("CrossBackupId")) for i in xml_items] == [i["CrossBackupId"] for i in json_items]
        for x, j in zip(xml_items, json_items):
            for k, v in j.items():
                if k == "CrossBackupDownloadLink":
                    continue
                if k == "RestoreRegions":
                    assert [r.text for r in x.findall("RestoreRegions/RestoreRegion")] == v["RestoreRegion"]
                else:
                    assert x.findtext(k) == str(v), (k, x.findtext(k), v)

    def test_xml_empty_list(self, api, env):
        status, raw, exc = api.describe_xml(window_params(env, CrossBackupRegion=env.manifest["other_dest"]))
        assert status == 200 and exc is None, (status, exc, raw[:300])
        root = ET.fromstring(raw)
        assert root.findtext("TotalRecordCount") == "0"
        assert root.find("Items") is not None and root.findall("Items/Item") == []

    def test_xml_error_body(self, api, env):
        case = next(c for c in ERROR_CASES if c["id"] == "missing-crossbackupid-and-times")
        status, raw, exc = api.describe_xml(resolve_params(case["params"], env))
        assert status == case["status"], (status, raw[:300])
        root = ET.fromstring(raw)
        assert root.tag == "Error", raw[:300]
        assert root.findtext("Code") == case["code"]
        assert root.findtext("RequestId") and root.findtext("Message")
        # core parses error bodies as JSON only: an XML error surfaces as SDK.UnknownServerError
        assert exc is not None and exc.get_http_status() == case["status"]
