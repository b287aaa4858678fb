'use strict';
// (e) @alicloud/pop-core RPCClient: GET with the signed parameters in the URL (its default), and
// {method:'POST'} with an application/x-www-form-urlencoded body.
const assert = require('node:assert/strict');
const RPCClient = require('@alicloud/pop-core').RPCClient;
const { ApiError, clientsByCreds, defineSuite } = require('./common');

function popAdapter(name, opts) {
  return (env) => {
    // verbose=true: request() also returns the HTTP exchange, so the status can be checked
    const client = clientsByCreds(env, (ak, sk) => new RPCClient({ accessKeyId: ak, accessKeySecret: sk,
      endpoint: `http://${env.endpoint}`, apiVersion: '2014-08-15' }, true));
    return {
      name,
      wrongSecretCode: 'SignatureDoesNotMatch',
      async describe(params, creds = 'A') {
        let json;
        let entry;
        try {
          [json, entry] = await client(creds).request('DescribeCrossRegionBackups', params, { ...opts, timeout: 30000 });
        } catch (e) {
          // pop-core throws when the body has a Code (whatever the HTTP status); it keeps the exchange
          if (e.data && e.code && e.entry) {
            throw new ApiError(e.code, e.entry.response.statusCode, e.data.RequestId, e.data.Message, e.data);
          }
          throw e;
        }
        assert.equal(entry.response.statusCode, 200, `success body with HTTP ${entry.response.statusCode}: ${JSON.stringify(json).slice(0, 300)}`);
        return json;
      },
    };
  };
}

defineSuite('@alicloud/pop-core GET', popAdapter('pop-get', {}));
defineSuite("@alicloud/pop-core {method:'POST'}", popAdapter('pop-post', { method: 'POST' }));
