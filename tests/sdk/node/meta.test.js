'use strict';
// DescribeCrossRegionBackupDBInstance and DescribeCrossBackupMetaList through @alicloud/rds20140815
// (Tea, default v3 ACS3-HMAC-SHA256): raw JSON names and types, the Tea models' values, the caller's
// own resources only, paging and refusals. Totals are read with DBInstanceId filters: the policy
// scenarios turn account A's policies on and off meanwhile. The meta list reads rm-sdkm001's set,
// taken by `xbak backup run` with a manifest (seed.py), and a registered set of rm-sdk0001 (none).
const assert = require('node:assert/strict');
const { describe, it, before } = require('node:test');
const Rds = require('@alicloud/rds20140815');
const { expectApiError, loadEnv, teaCaller } = require('./common');

const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const POLICY_STR = ['DBInstanceId', 'BackupEnabled', 'BackupEnabledTime', 'LogBackupEnabled', 'LogBackupEnabledTime',
  'CrossBackupRegion', 'CrossBackupType', 'Engine', 'EngineVersion', 'DBInstanceStatus', 'LockMode',
  'DBInstanceDescription'];
const WIDE = { StartTime: '2000-01-01T00:00:00Z', EndTime: '2100-01-01T00:00:00Z' };

function adapter(env) {
  const call = teaCaller(env);
  return {
    instances: (p, creds) => call('describeCrossRegionBackupDBInstanceWithOptions', Rds.DescribeCrossRegionBackupDBInstanceRequest, p, creds),
    meta: (p, creds) => call('describeCrossBackupMetaListWithOptions', Rds.DescribeCrossBackupMetaListRequest, p, creds),
    listing: (p, creds) => call('describeCrossRegionBackupsWithOptions', Rds.DescribeCrossRegionBackupsRequest, p, creds),
  };
}

describe('@alicloud/rds20140815 DescribeCrossRegionBackupDBInstance and DescribeCrossBackupMetaList (v3)', () => {
  let env;
  let api;
  let metaInst;
  async function firstCopy(instance) {
    const { raw } = await api.listing({ ...WIDE, DBInstanceId: instance, RegionId: env.region });
    assert.ok(raw.Items.Item.length > 0, `no cross-region copy of ${instance}`);
    return String(raw.Items.Item[0].CrossBackupId);
  }
  before(() => {
    env = loadEnv();
    api = adapter(env);
    metaInst = env.manifest.instance_meta;
  });

  it('lists the caller\'s instances with cross-region backup on', async () => {
    const named = [env.instanceA, env.instanceB, env.instanceIneligible, metaInst.id, 'rm-nosuch01'].join(',');
    const { body, raw } = await api.instances({ RegionId: env.region, DBInstanceId: named });
    assert.equal(raw.Code, undefined);
    assert.equal(raw.RegionId, env.region);
    assert.deepEqual([raw.PageNumber, raw.PageSize, raw.ItemsNumbers, raw.TotalRecords], [1, 30, 2, 2]);
    assert.deepEqual(raw.Items.Item.map((i) => i.DBInstanceId), [env.instanceA, metaInst.id].sort());
    for (const item of raw.Items.Item) {
      for (const k of POLICY_STR) assert.equal(typeof item[k], 'string', k);
      assert.ok(Number.isInteger(item.RetentType) && Number.isInteger(item.Retention));
      assert.equal(item.BackupEnabled, 'Enable');
      assert.match(item.BackupEnabledTime, TIME_RE);
    }
    assert.equal(body.totalRecords, 2);
    assert.deepEqual(body.items.item.map((i) => [i.DBInstanceId, i.crossBackupRegion, i.retention]),
      raw.Items.Item.map((i) => [i.DBInstanceId, i.CrossBackupRegion, i.Retention]));

    const theirs = await api.instances({ RegionId: env.region, DBInstanceId: named }, 'B');
    assert.deepEqual(theirs.raw.Items.Item.map((i) => i.DBInstanceId), [env.instanceB]);
    const page = await api.instances({ RegionId: env.region, DBInstanceId: named, PageSize: 1, PageNumber: 3 });
    assert.deepEqual(page.raw.Items, { Item: [] });
    assert.equal(page.raw.TotalRecords, 2);
    assert.deepEqual(page.body.items.item, []);
  });

  it('lists the databases of a set from its manifest', async () => {
    const setId = await firstCopy(metaInst.id);
    let { body, raw } = await api.meta({ BackupSetId: setId });
    assert.equal(raw.Code, undefined);
    assert.equal(raw.DBInstanceName, metaInst.id);
    assert.deepEqual([raw.PageNumber, raw.PageRecordCount, raw.TotalPageCount, raw.TotalRecordCount], [1, 1, 1, 1]);
    assert.equal(raw.Items.Meta[0].Database, metaInst.database);
    assert.equal(raw.Items.Meta[0].Tables, '');
    assert.equal(typeof raw.Items.Meta[0].Size, 'string');
    assert.equal(body.DBInstanceName, metaInst.id);

    ({ body, raw } = await api.meta({ BackupSetId: setId, GetDbName: metaInst.database, Region: env.region }));
    assert.deepEqual(raw.Items.Meta[0].Tables.split(',').sort(), metaInst.tables);
    assert.deepEqual(body.items.meta.map((m) => [m.database, m.tables, m.size]),
      raw.Items.Meta.map((m) => [m.Database, m.Tables, m.Size]));
    ({ raw } = await api.meta({ BackupSetId: setId, PageSize: '1', PageIndex: '2' }));
    assert.deepEqual([raw.PageNumber, raw.PageRecordCount, raw.TotalPageCount], [2, 0, 1]);
  });

  it('refuses with Alibaba codes', async () => {
    const registered = await firstCopy(env.instanceA);
    let e = await expectApiError(api.meta({ BackupSetId: registered }));
    assert.deepEqual([e.status, e.code], [403, 'InvalidMeta.Empty']);
    assert.ok(e.requestId);
    const taken = await firstCopy(metaInst.id);
    e = await expectApiError(api.meta({ BackupSetId: taken }, 'B'));
    assert.deepEqual([e.status, e.code], [404, 'InvalidBackupSetID.NotFound']);
    e = await expectApiError(api.meta({ BackupSetId: 'not-an-id' }));
    assert.deepEqual([e.status, e.code], [404, 'InvalidBackupSetID.NotFound']);
    e = await expectApiError(api.meta({ BackupSetId: taken, PageSize: '-1', PageIndex: '1' }));
    assert.deepEqual([e.status, e.code], [400, 'InvalidPageSize']);
    e = await expectApiError(api.instances({ RegionId: env.region, PageSize: 500 }));
    assert.deepEqual([e.status, e.code], [400, 'InvalidParameters.Format']);
  });
});
