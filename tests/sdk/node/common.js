'use strict';
// Shared scenario code for the Node official-SDK tests (mirrors tests/sdk/python/xbak_sdk.py).
//
// Each SDK is wrapped in an adapter with one method, `describe(params, creds)`, taking the API's own
// parameter names ({DBInstanceId, PageSize, ...}) and resolving to the RAW JSON body (so JSON types can
// be checked), or rejecting with an ApiError built from the SDK's own error (code / HTTP status /
// request id as the SDK reports them). Anything else the SDK throws fails the test as is.
//
// Env (set by tests/sdk/run.sh): XBAK_ENDPOINT (127.0.0.1:PORT), XBAK_AK_A/XBAK_SK_A,
// XBAK_AK_B/XBAK_SK_B, XBAK_SEED_MANIFEST (seed.json from tests/sdk/seed.py).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { describe, it, before } = require('node:test');

for (const v of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) {
  delete process.env[v];
}

const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost']);
const INT_FIELDS = ['BackupSetScale', 'BackupSetStatus', 'CrossBackupId', 'CrossBackupSetSize', 'InstanceId'];
const STR_FIELDS = ['BackupEndTime', 'BackupMethod', 'BackupStartTime', 'BackupType', 'Category',
  'ConsistentTime', 'CrossBackupDownloadLink', 'CrossBackupRegion', 'CrossBackupSetFile',
  'CrossBackupSetLocation', 'DBInstanceStorageType', 'Engine', 'EngineVersion'];
const TOP_INT_FIELDS = ['TotalRecordCount', 'PageNumber', 'PageRecordCount'];
const TOP_STR_FIELDS = ['RequestId', 'RegionId'];

// Expected error answers, shared with the Python scenarios.
const ERROR_CASES = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cases.json'), 'utf8')).error_cases;

// ---------------------------------------------------------------------------------------------------
// environment

let ENV = null;
function loadEnv() {
  if (ENV) return ENV;
  const endpoint = process.env.XBAK_ENDPOINT;
  const manifestPath = process.env.XBAK_SEED_MANIFEST;
  if (!endpoint || !manifestPath) {
    throw new Error('XBAK_ENDPOINT / XBAK_SEED_MANIFEST not set: run these tests through tests/sdk/run.sh');
  }
  assert.ok(LOOPBACK.has(endpoint.split(':')[0]), `refusing to target ${endpoint}: tests only talk to 127.0.0.1`);
  const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const keys = {};
  for (const k of ['A', 'B']) keys[k] = [process.env[`XBAK_AK_${k}`], process.env[`XBAK_SK_${k}`]];
  ENV = {
    endpoint,
    keys,
    manifest: m,
    region: m.source_region,
    instanceA: m.instance_a.id,
    instanceB: m.instance_b.id,
    instanceIneligible: m.instance_ineligible,
    window: [m.window.start, m.window.end],
    backupsA: m.instance_a.backups,
    get total() { return this.backupsA.length; },
    creds(who) {
      if (Array.isArray(who)) return who;
      if (who === 'wrong-secret') return [keys.A[0], keys.A[1] + 'x'];
      if (who === 'unknown-key') return ['LTAI5tUnknownXbakKey0000', 'NoSuchSecret0000000000000000000'];
      return keys[who];
    },
  };
  return ENV;
}

class ApiError extends Error {
  constructor(code, status, requestId, message, raw) {
    super(`${code} (HTTP ${status}, RequestId ${requestId}): ${message}`);
    this.code = code;
    this.status = status;
    this.requestId = requestId;
    this.raw = raw;
  }
}

function resolveParams(params, env) {
  const subst = { $A: env.instanceA, $B: env.instanceB, $W0: env.window[0], $W1: env.window[1] };
  const out = { RegionId: env.region };
  for (const [k, v] of Object.entries(params)) out[k] = (typeof v === 'string' && v in subst) ? subst[v] : v;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// helpers

function itemsOf(body) {
  assert.ok(body.Items && typeof body.Items === 'object' && !Array.isArray(body.Items),
    `Items must be an object wrapping Item, got ${JSON.stringify(body.Items)}`);
  assert.ok(Array.isArray(body.Items.Item), `Items.Item must be a list, got ${JSON.stringify(body.Items.Item)}`);
  return body.Items.Item;
}

function isInt(v) {
  return typeof v === 'number' && Number.isInteger(v);
}

function cmpDesc(a, b) {
  // BackupStartTime desc, then CrossBackupId desc
  if (a.BackupStartTime !== b.BackupStartTime) return a.BackupStartTime < b.BackupStartTime ? 1 : -1;
  return b.CrossBackupId - a.CrossBackupId;
}

function assertNewestFirst(items) {
  const sorted = [...items].sort(cmpDesc);
  assert.deepEqual(items.map((i) => i.CrossBackupId), sorted.map((i) => i.CrossBackupId),
    'items not in BackupStartTime desc, CrossBackupId desc order');
}

function fetchBytes(url) {
  const u = new URL(url);
  assert.ok(LOOPBACK.has(u.hostname), `download link must point at the local server, got ${url}`);
  assert.equal(u.protocol, 'http:');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('download timed out')));
  });
}

// CRC-64/XZ (ECMA-182 reflected; init and xorout all ones), the CRC-64 OSS reports and
// DescribeBinlogFiles' Checksum carries: in decimal, as a string (it exceeds 2^53).
const CRC64_TABLE = (() => {
  const table = [];
  for (let i = 0n; i < 256n; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1n) ? (c >> 1n) ^ 0xC96C5795D7870F42n : c >> 1n;
    table.push(c);
  }
  return table;
})();

function crc64(buf) {
  let c = 0xFFFFFFFFFFFFFFFFn;
  for (const b of buf) c = CRC64_TABLE[Number((c ^ BigInt(b)) & 0xFFn)] ^ (c >> 8n);
  return (c ^ 0xFFFFFFFFFFFFFFFFn).toString();
}
assert.equal(crc64(Buffer.from('123456789')), 0x995DC9BBDF1939FAn.toString());

function windowParams(env, extra = {}) {
  return { RegionId: env.region, DBInstanceId: env.instanceA, StartTime: env.window[0], EndTime: env.window[1], ...extra };
}

async function expectError(api, creds, params) {
  let body;
  try {
    body = await api.describe(params, creds);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail(`expected an error, got a success body: ${JSON.stringify(body).slice(0, 500)}`);
}

function assertRequestId(e) {
  assert.ok(typeof e.requestId === 'string' && e.requestId && !['None', 'undefined'].includes(e.requestId), e.message);
}

// ---------------------------------------------------------------------------------------------------
// the scenarios

// The seeded world and an SDK adapter on it, for a suite's before().
function loadApi(makeAdapter) {
  const env = loadEnv();
  return { env, api: makeAdapter(env) };
}

function defineSuite(name, makeAdapter) {
  describe(name, () => {
    let env;
    let api;
    before(() => ({ env, api } = loadApi(makeAdapter)));

    it('lists by window', async () => {
      const body = await api.describe(windowParams(env, { PageSize: 100 }));
      for (const k of TOP_INT_FIELDS) assert.ok(isInt(body[k]), `${k} must be a JSON integer, got ${JSON.stringify(body[k])}`);
      for (const k of TOP_STR_FIELDS) assert.ok(typeof body[k] === 'string' && body[k], `${k} must be a non-empty string`);
      assert.equal(body.TotalRecordCount, env.total);
      assert.equal(body.PageNumber, 1);
      const items = itemsOf(body);
      assert.equal(items.length, 100);
      assert.equal(body.PageRecordCount, items.length);
      assert.equal(body.RegionId, env.region);
      assert.equal(body.StartTime, env.window[0]);
      assert.equal(body.EndTime, env.window[1]);
      assertNewestFirst(items);
    });

    it('default PageSize is 30', async () => {
      const body = await api.describe(windowParams(env));
      assert.equal(body.TotalRecordCount, env.total);
      assert.equal(body.PageNumber, 1);
      assert.equal(itemsOf(body).length, 30);
      assert.equal(body.PageRecordCount, 30);
    });

    it('window bounds are inclusive', async () => {
      const starts = env.backupsA.map((b) => b.start).sort();
      const body = await api.describe({ RegionId: env.region, DBInstanceId: env.instanceA,
        StartTime: starts[10], EndTime: starts[40], PageSize: 100 });
      const got = itemsOf(body).map((i) => i.BackupStartTime).sort();
      assert.equal(body.TotalRecordCount, 31);
      assert.deepEqual(got, starts.slice(10, 41));
    });

    it('accepts minute-precision times (yyyy-MM-ddTHH:mmZ, as in the contract examples)', async () => {
      const [w0, w1] = env.window.map((t) => `${t.slice(0, 16)}Z`);
      const body = await api.describe({ RegionId: env.region, DBInstanceId: env.instanceA, StartTime: w0, EndTime: w1 });
      assert.equal(body.TotalRecordCount, env.total);
    });

    for (const pageSize of [30, 50, 100]) {
      it(`pages with PageSize ${pageSize}`, async () => {
        const pages = Math.ceil(env.total / pageSize);
        let all = [];
        for (let n = 1; n <= pages; n++) {
          const body = await api.describe(windowParams(env, { PageSize: pageSize, PageNumber: n }));
          const items = itemsOf(body);
          assert.equal(body.TotalRecordCount, env.total);
          assert.equal(body.PageNumber, n);
          assert.equal(body.PageRecordCount, items.length);
          assert.equal(items.length, Math.min(pageSize, env.total - (n - 1) * pageSize), `page ${n}`);
          all = all.concat(items);
        }
        const ids = all.map((i) => i.CrossBackupId);
        assert.equal(new Set(ids).size, ids.length, 'duplicate CrossBackupIds across pages');
        assert.equal(ids.length, env.total);
        assertNewestFirst(all);
        assert.deepEqual(all.map((i) => i.BackupStartTime).sort(), env.backupsA.map((b) => b.start).sort());
        // one page past the end: an empty page (or InvalidPage.notFound, which the contract also lists)
        let body;
        try {
          body = await api.describe(windowParams(env, { PageSize: pageSize, PageNumber: pages + 1 }));
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          assert.deepEqual([e.code, e.status], ['InvalidPage.notFound', 404], e.message);
          return;
        }
        assert.deepEqual(itemsOf(body), []);
        assert.equal(body.PageRecordCount, 0);
        assert.equal(body.TotalRecordCount, env.total);
      });
    }

    it('fetches by CrossBackupId', async () => {
      const listed = itemsOf(await api.describe(windowParams(env, { PageSize: 50, PageNumber: 2 })));
      const target = listed[7];
      const body = await api.describe({ RegionId: env.region, DBInstanceId: env.instanceA, CrossBackupId: target.CrossBackupId });
      const items = itemsOf(body);
      assert.equal(body.TotalRecordCount, 1);
      assert.equal(items.length, 1);
      const { CrossBackupDownloadLink: _a, ...got } = items[0];
      const { CrossBackupDownloadLink: _b, ...want } = target;
      assert.deepEqual(got, want);
    });

    it('filters by CrossBackupRegion', async () => {
      const dest = env.manifest.instance_a.dest;
      let body = await api.describe(windowParams(env, { PageSize: 100, CrossBackupRegion: dest }));
      assert.equal(body.TotalRecordCount, env.total);
      assert.deepEqual([...new Set(itemsOf(body).map((i) => i.CrossBackupRegion))], [dest]);
      body = await api.describe(windowParams(env, { CrossBackupRegion: env.manifest.other_dest }));
      assert.equal(body.TotalRecordCount, 0);
      assert.deepEqual(itemsOf(body), []);
      assert.equal(body.PageRecordCount, 0);
    });

    it('returns every contract field with its type', async () => {
      const inst = env.manifest.instance_a;
      const byStart = new Map(env.backupsA.map((b) => [b.start, b]));
      let items = [];
      for (const n of [1, 2]) items = items.concat(itemsOf(await api.describe(windowParams(env, { PageSize: 100, PageNumber: n }))));
      assert.equal(items.length, env.total);
      for (const it of items) {
        const show = JSON.stringify(it);
        for (const k of INT_FIELDS) assert.ok(isInt(it[k]), `${k} must be a JSON integer in ${show}`);
        for (const k of STR_FIELDS) assert.ok(typeof it[k] === 'string' && it[k], `${k} must be a non-empty string in ${show}`);
        for (const k of ['BackupStartTime', 'BackupEndTime', 'ConsistentTime']) assert.match(it[k], TIME_RE, `${k} in ${show}`);
        assert.ok(it.RestoreRegions && Array.isArray(it.RestoreRegions.RestoreRegion),
          `RestoreRegions must be {RestoreRegion: [...]}, got ${JSON.stringify(it.RestoreRegions)}`);
        assert.deepEqual(it.RestoreRegions.RestoreRegion, [env.region, inst.dest]);
        assert.equal(it.CrossBackupRegion, inst.dest);
        assert.equal(it.Engine.toLowerCase(), inst.engine.toLowerCase());
        assert.equal(it.EngineVersion, inst.engine_version);
        assert.equal(it.Category, inst.category);
        assert.equal(it.BackupSetStatus, 0, 'replicated copies must be complete (0)');
        const seed = byStart.get(it.BackupStartTime);
        assert.ok(seed, `unknown BackupStartTime ${it.BackupStartTime}`);
        assert.equal(it.BackupEndTime, seed.end);
        assert.equal(it.ConsistentTime, seed.consistent);
        assert.equal(it.BackupMethod, seed.method);
        assert.equal(it.BackupType, seed.type);
        assert.equal(it.BackupSetScale, seed.scale);
        assert.equal(it.CrossBackupSetSize, seed.size);
        assert.equal(it.InstanceId, seed.instance_number);
      }
    });

    it('download link serves the registered bytes', async () => {
      const byStart = new Map(env.backupsA.map((b) => [b.start, b]));
      const items = itemsOf(await api.describe(windowParams(env, { PageSize: 30 })));
      for (const method of ['L', 'P']) {
        const it = items.find((i) => i.BackupMethod === method);
        const { status, body } = await fetchBytes(it.CrossBackupDownloadLink);
        assert.equal(status, 200, `GET ${it.CrossBackupDownloadLink}`);
        assert.equal(body.length, it.CrossBackupSetSize);
        assert.equal(crypto.createHash('sha256').update(body).digest('hex'), byStart.get(it.BackupStartTime).sha256);
      }
    });

    it("the other account lists its own instance", async () => {
      const inst = env.manifest.instance_b;
      const body = await api.describe({ RegionId: env.region, DBInstanceId: inst.id,
        StartTime: env.window[0], EndTime: env.window[1] }, 'B');
      const items = itemsOf(body);
      assert.equal(body.TotalRecordCount, inst.backups.length);
      assert.equal(items.length, inst.backups.length);
      for (const i of items) {
        assert.equal(i.CrossBackupRegion, inst.dest);
        assert.deepEqual(i.RestoreRegions.RestoreRegion, [env.region, inst.dest]);
      }
    });

    for (const c of ERROR_CASES) {
      it(`error: ${c.id}`, async () => {
        const code = c.code || api.wrongSecretCode;
        const e = await expectError(api, c.creds, resolveParams(c.params, env));
        assert.deepEqual([e.code, e.status], [code, c.status], e.message);
        assertRequestId(e);
      });
    }

    it('ineligible instance is refused with a 4xx code', async () => {
      const e = await expectError(api, 'A', { RegionId: env.region, DBInstanceId: env.instanceIneligible,
        StartTime: env.window[0], EndTime: env.window[1] });
      console.log(`[${api.name}] ineligible instance -> HTTP ${e.status} ${e.code}`);
      assert.ok(e.status >= 400 && e.status < 500, e.message);
      assert.ok(typeof e.code === 'string' && e.code, e.message);
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// clients

// One client per credential set ('A', 'B', …, resolved by env.creds), made on first use.
function clientsByCreds(env, make) {
  const clients = new Map();
  return (creds) => {
    const [ak, sk] = env.creds(creds);
    const key = `${ak}\n${sk}`;
    if (!clients.has(key)) clients.set(key, make(ak, sk));
    return clients.get(key);
  };
}

// A Tea client (@alicloud/rds20140815) that keeps the raw response map of its last call in
// `lastRaw` (before $dara.cast coerces it into models), so tests can check JSON types.
function teaClient(env, ak, sk, signatureAlgorithm) {
  const Rds = require('@alicloud/rds20140815');
  const OpenApi = require('@alicloud/openapi-core');
  const cfg = new OpenApi.$OpenApiUtil.Config({
    accessKeyId: ak, accessKeySecret: sk, endpoint: env.endpoint, protocol: 'http', regionId: env.region,
  });
  if (signatureAlgorithm) cfg.signatureAlgorithm = signatureAlgorithm;
  const c = new Rds.default(cfg);
  const orig = c.callApi.bind(c);
  c.callApi = async (...args) => {
    const res = await orig(...args);
    c.lastRaw = res;
    return res;
  };
  return c;
}

// The request model's fields for the API's own parameter names (model.names() maps field -> API name).
function fieldsOf(model, params) {
  const byApi = Object.fromEntries(Object.entries(model.names()).map(([f, api]) => [api, f]));
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    assert.ok(byApi[k], `no request model field for ${k}`);
    out[byApi[k]] = v;
  }
  return out;
}

// call(method, Model, params, creds): calls `method` of a default (v3) Tea client with a `Model`
// request built from the API's parameter names; resolves to { body (the Tea model), raw (the JSON
// map) }, or rejects with an ApiError built from the SDK's own error.
function teaCaller(env) {
  const OpenApi = require('@alicloud/openapi-core');
  const $dara = require('@darabonba/typescript');
  const client = clientsByCreds(env, (ak, sk) => teaClient(env, ak, sk));
  return async (method, model, params, creds = 'A') => {
    const c = client(creds);
    let resp;
    try {
      resp = await c[method](new model(fieldsOf(model, params)), new $dara.RuntimeOptions({}));
    } catch (e) {
      if (e instanceof OpenApi.AlibabaCloudError) {
        throw new ApiError(e.code, e.statusCode, e.requestId, e.message, e.data);
      }
      throw e;
    }
    assert.equal(resp.statusCode, 200);
    const raw = c.lastRaw.body;
    assert.equal(resp.body.requestId, raw.RequestId);
    return { body: resp.body, raw };
  };
}

// The ApiError a teaCaller call rejects with (a success fails the test).
async function expectApiError(promise) {
  try {
    const r = await promise;
    assert.fail(`expected an error, got ${JSON.stringify(r.raw).slice(0, 300)}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return e;
  }
}

module.exports = {
  ApiError, defineSuite, loadApi, loadEnv, itemsOf, windowParams, resolveParams, ERROR_CASES, clientsByCreds, teaClient,
  teaCaller, expectApiError, fetchBytes, crc64,
};
