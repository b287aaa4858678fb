'use strict';
// Throttling through @alicloud/rds20140815 (Tea, v3): a second `xbak serve` on the same data dir with a
// per-AccessKey budget (--key-rate 0.5 --key-burst 2) answers the call over budget with Throttling.User
// and x-acs-retry-after, which the SDK raises as its ThrottlingError carrying retryAfter.
// Needs XBAK_BIN and XBAK_DATA_DIR (exported by tests/sdk/run.sh).
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { test, before, after } = require('node:test');
const Rds = require('@alicloud/rds20140815');
const OpenApi = require('@alicloud/openapi-core');
const $dara = require('@darabonba/typescript');
const { loadEnv, teaClient, windowParams } = require('./common');

let server;
let env;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

before(async () => {
  const xbak = process.env.XBAK_BIN;
  const data = process.env.XBAK_DATA_DIR;
  assert.ok(xbak && data, 'XBAK_BIN / XBAK_DATA_DIR not set: run these tests through tests/sdk/run.sh');
  const port = await freePort();
  const log = fs.openSync(path.join(data, '..', 'throttled-server-node.log'), 'w');
  server = spawn(xbak, ['--data-dir', data, 'serve', '--no-workers', '--no-metrics', '--listen', `127.0.0.1:${port}`,
    '--key-rate', '0.5', '--key-burst', '2'], { stdio: ['ignore', log, log] });
  for (let i = 0; i < 150 && !(await canConnect(port)); i++) {
    assert.equal(server.exitCode, null, 'the throttled xbak serve exited');
    await new Promise((r) => setTimeout(r, 100));
  }
  env = { ...loadEnv(), endpoint: `127.0.0.1:${port}` };
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.on('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
});

test('over budget: ThrottlingError with the server\'s retryAfter', async () => {
  const [ak, sk] = env.keys.A;
  const client = teaClient(env, ak, sk, null);
  const p = windowParams(env);
  const req = new Rds.DescribeCrossRegionBackupsRequest({
    DBInstanceId: p.DBInstanceId, regionId: p.RegionId, startTime: p.StartTime, endTime: p.EndTime,
  });
  const call = () => client.describeCrossRegionBackupsWithOptions(req, new $dara.RuntimeOptions({}));
  for (let i = 0; i < 2; i++) assert.equal((await call()).statusCode, 200);
  await assert.rejects(call(), (e) => {
    assert.ok(e instanceof OpenApi.ThrottlingError, `${e && e.constructor && e.constructor.name}: ${e}`);
    assert.equal(e.code, 'Throttling.User');
    assert.equal(e.statusCode, 400);
    assert.ok(e.requestId);
    assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter > 0 && e.retryAfter <= 2000, `${e.retryAfter}`);
    return true;
  });
});
