'use strict';
// (d) @alicloud/rds20140815 (Tea, @alicloud/openapi-core): default Config = ACS3-HMAC-SHA256 (v3), and
// signatureAlgorithm:'v2' = RPC HMAC-SHA1 in the query (Format=json).
const assert = require('node:assert/strict');
const Rds = require('@alicloud/rds20140815');
const OpenApi = require('@alicloud/openapi-core');
const $dara = require('@darabonba/typescript');
const { ApiError, defineSuite } = require('./common');

const RdsClient = Rds.default;
// API parameter name -> request model field name (e.g. PageSize -> pageSize, DBInstanceId -> DBInstanceId)
const FIELD = Object.fromEntries(Object.entries(Rds.DescribeCrossRegionBackupsRequest.names()).map(([f, api]) => [api, f]));

function teaAdapter(name, signatureAlgorithm) {
  return (env) => {
    const clients = new Map();
    function client(creds) {
      const [ak, sk] = env.creds(creds);
      const key = `${ak}\n${sk}`;
      if (!clients.has(key)) {
        const cfg = new OpenApi.$OpenApiUtil.Config({
          accessKeyId: ak, accessKeySecret: sk, endpoint: env.endpoint, protocol: 'http', regionId: env.region,
        });
        if (signatureAlgorithm) cfg.signatureAlgorithm = signatureAlgorithm;
        const c = new RdsClient(cfg);
        // keep the raw response map (before $dara.cast coerces it into models) to check JSON types
        const orig = c.callApi.bind(c);
        c.callApi = async (...args) => {
          const res = await orig(...args);
          c.lastRaw = res;
          return res;
        };
        clients.set(key, c);
      }
      return clients.get(key);
    }
    return {
      name,
      wrongSecretCode: 'SignatureDoesNotMatch',
      async describe(params, creds = 'A') {
        const c = client(creds);
        const fields = {};
        for (const [k, v] of Object.entries(params)) {
          assert.ok(FIELD[k], `no request model field for ${k}`);
          fields[FIELD[k]] = v;
        }
        const req = new Rds.DescribeCrossRegionBackupsRequest(fields);
        let resp;
        try {
          resp = await c.describeCrossRegionBackupsWithOptions(req, new $dara.RuntimeOptions({}));
        } catch (e) {
          if (e instanceof OpenApi.AlibabaCloudError) {
            throw new ApiError(e.code, e.statusCode, e.requestId, e.message, e.data);
          }
          throw e;
        }
        const raw = c.lastRaw.body;
        // the SDK's models parsed the same thing
        assert.equal(resp.statusCode, 200);
        assert.equal(resp.body.totalRecordCount, raw.TotalRecordCount);
        assert.equal(resp.body.requestId, raw.RequestId);
        assert.deepEqual(resp.body.items.item.map((i) => i.crossBackupId), raw.Items.Item.map((i) => i.CrossBackupId));
        resp.body.items.item.forEach((m, idx) => {
          assert.deepEqual(m.restoreRegions.restoreRegion, raw.Items.Item[idx].RestoreRegions.RestoreRegion);
        });
        return raw;
      },
    };
  };
}

defineSuite('@alicloud/rds20140815 default (v3 ACS3-HMAC-SHA256)', teaAdapter('node-tea-v3', null));
defineSuite("@alicloud/rds20140815 signatureAlgorithm:'v2'", teaAdapter('node-tea-v2', 'v2'));
