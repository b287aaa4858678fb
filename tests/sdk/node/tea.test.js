'use strict';
// (d) @alicloud/rds20140815 (Tea, @alicloud/openapi-core): default Config = ACS3-HMAC-SHA256 (v3), and
// signatureAlgorithm:'v2' = RPC HMAC-SHA1 in the query (Format=json).
const assert = require('node:assert/strict');
const Rds = require('@alicloud/rds20140815');
const OpenApi = require('@alicloud/openapi-core');
const $dara = require('@darabonba/typescript');
const { ApiError, clientsByCreds, defineSuite, teaClient } = require('./common');

// API parameter name -> request model field name (e.g. PageSize -> pageSize, DBInstanceId -> DBInstanceId)
const FIELD = Object.fromEntries(Object.entries(Rds.DescribeCrossRegionBackupsRequest.names()).map(([f, api]) => [api, f]));

function teaAdapter(name, signatureAlgorithm) {
  return (env) => {
    const client = clientsByCreds(env, (ak, sk) => teaClient(env, ak, sk, signatureAlgorithm));
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
