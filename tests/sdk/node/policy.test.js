'use strict';
// Cross-region backup policy through @alicloud/rds20140815 (Tea, default v3 ACS3-HMAC-SHA256):
// ModifyInstanceCrossBackupPolicy, DescribeInstanceCrossBackupPolicy, DescribeAvailableCrossRegion.
// Turns the policy on for the seeded instance reserved for this SDK (no policy, one backup an hour
// old), reads it back, waits for the copy that enabling queued, turns it off, checks refusals.
const assert = require('node:assert/strict');
const { describe, it, before } = require('node:test');
const Rds = require('@alicloud/rds20140815');
const { expectApiError, loadEnv, teaCaller } = require('./common');

const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const DEST = 'cn-beijing';

function adapter(env) {
  const call = teaCaller(env);
  return {
    modify: (p, creds) => call('modifyInstanceCrossBackupPolicyWithOptions', Rds.ModifyInstanceCrossBackupPolicyRequest, p, creds),
    describe: (p, creds) => call('describeInstanceCrossBackupPolicyWithOptions', Rds.DescribeInstanceCrossBackupPolicyRequest, p, creds),
    available: (p, creds) => call('describeAvailableCrossRegionWithOptions', Rds.DescribeAvailableCrossRegionRequest, p, creds),
    listing: (p, creds) => call('describeCrossRegionBackupsWithOptions', Rds.DescribeCrossRegionBackupsRequest, p, creds),
  };
}

describe('@alicloud/rds20140815 policy actions (v3)', () => {
  let env;
  let api;
  before(() => {
    env = loadEnv();
    api = adapter(env);
  });

  it('DescribeAvailableCrossRegion lists the other configured regions', async () => {
    const { body, raw } = await api.available({ RegionId: env.region });
    assert.deepEqual(raw.Regions.Region, env.manifest.regions.filter((r) => r !== env.region));
    assert.deepEqual(body.regions.region, raw.Regions.Region);
  });

  it('enables, describes and disables the policy', async () => {
    const inst = env.manifest.policy_instances['node-tea-v3'];
    const ids = { DBInstanceId: inst, RegionId: env.region };
    let r = await api.describe(ids);
    assert.equal(r.raw.BackupEnabled, 'Disable');
    assert.equal(r.raw.CrossBackupRegion, '');

    r = await api.modify({
      ...ids, BackupEnabled: '1', LogBackupEnabled: '0', CrossBackupRegion: DEST, CrossBackupType: '1', RetentType: 1, Retention: 14,
    });
    assert.equal(r.raw.BackupEnabled, 'Enable');
    assert.equal(r.raw.LogBackupEnabled, 'Disable');
    assert.equal(r.raw.CrossBackupRegion, DEST);
    assert.equal(r.raw.Retention, 14);
    assert.equal(r.body.retention, 14);
    assert.equal(r.body.retentType, 1);
    assert.equal(r.raw.Code, undefined);

    const on = await api.describe(ids);
    assert.equal(on.raw.BackupEnabled, 'Enable');
    assert.equal(on.raw.LogBackupEnabled, 'Disable');
    assert.match(on.raw.BackupEnabledTime, TIME_RE);
    assert.equal(on.raw.LogBackupEnabledTime, '');
    assert.equal(on.body.crossBackupRegion, DEST);
    assert.equal(on.body.DBInstanceStatus ?? on.raw.DBInstanceStatus, 'Running');
    assert.equal(on.raw.LockMode, 'Unlock');

    const deadline = Date.now() + 30000;
    let items = [];
    while (items.length === 0) {
      const l = await api.listing({
        DBInstanceId: inst, RegionId: env.region, StartTime: '2000-01-01T00:00:00Z', EndTime: '2100-01-01T00:00:00Z',
      });
      items = l.raw.Items.Item;
      if (items.length === 0) {
        assert.ok(Date.now() < deadline, 'the copy queued by enabling never completed');
        await new Promise((res) => setTimeout(res, 500));
      }
    }
    assert.deepEqual(items.map((i) => i.CrossBackupRegion), [DEST]);

    r = await api.modify({ ...ids, BackupEnabled: '0' });
    assert.equal(r.raw.BackupEnabled, 'Disable');
    const off = await api.describe(ids);
    assert.equal(off.raw.BackupEnabled, 'Disable');
    assert.equal(off.raw.BackupEnabledTime, on.raw.BackupEnabledTime);
  });

  it('refuses with Alibaba codes', async () => {
    const ids = { DBInstanceId: env.instanceA, RegionId: env.region };
    let e = await expectApiError(api.modify({ ...ids, BackupEnabled: '1', CrossBackupRegion: env.region }));
    assert.deepEqual([e.status, e.code], [403, 'CrossBackupNotSupport']);
    e = await expectApiError(api.modify({ ...ids, Retention: 2000 }));
    assert.deepEqual([e.status, e.code], [400, 'InvalidParameters.Format']);
    e = await expectApiError(api.modify({ ...ids, BackupEnabled: '0' }, 'B'));
    assert.deepEqual([e.status, e.code], [404, 'InvalidDBInstance.NotFound']);
    e = await expectApiError(api.describe({ DBInstanceId: env.instanceIneligible, RegionId: env.region }));
    assert.deepEqual([e.status, e.code], [403, 'IncorrectDBInstanceType']);
  });
});
