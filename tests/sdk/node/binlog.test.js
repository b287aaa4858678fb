'use strict';
// DescribeBinlogFiles through @alicloud/rds20140815 (Tea, default v3 ACS3-HMAC-SHA256): raw JSON names
// and types, the Tea models' values, window overlap, paging, the download links' bytes and their
// CRC-64, and the refusals. rm-sdkl001's binlog files were streamed into cn-hangzhou by `xbak worker`
// from a scratch `mariadbd --log-bin` during seeding (seed.py); the manifest holds the closed ones as
// the source wrote them. The model has no RegionId: none is sent.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { describe, it, before } = require('node:test');
const Rds = require('@alicloud/rds20140815');
const { ApiError, crc64, fetchBytes, loadEnv, teaCaller } = require('./common');

const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const WIDE = { StartTime: '2000-01-01T00:00:00Z', EndTime: '2100-01-01T00:00:00Z' };
const FILE_STR = ['LogFileName', 'LogBeginTime', 'LogEndTime', 'DownloadLink', 'IntranetDownloadLink', 'LinkExpiredTime',
  'Checksum', 'HostInstanceID', 'RemoteStatus'];
const TOP_INT = ['TotalRecordCount', 'PageNumber', 'PageRecordCount', 'TotalFileSize'];

// Expected refusals (Code, HTTP status); the same table as tests/sdk/python/test_binlog_files.py.
// $L = rm-sdkl001 (account A), $B = account B's instance, $W0/$W1 = a window around every seeded file.
const ERROR_CASES = [
  ['missing-dbinstanceid', 'A', { StartTime: '$W0', EndTime: '$W1' }, 'MissingDBInstanceId', 400],
  ['missing-starttime', 'A', { DBInstanceId: '$L', EndTime: '$W1' }, 'ParameterAbsence', 400],
  ['missing-endtime', 'A', { DBInstanceId: '$L', StartTime: '$W0' }, 'ParameterAbsence', 400],
  ['missing-both-times', 'A', { DBInstanceId: '$L' }, 'ParameterAbsence', 400],
  ['bad-starttime', 'A', { DBInstanceId: '$L', StartTime: '2024/03/01 00:00', EndTime: '$W1' }, 'InvalidStartTime.Format', 400],
  ['bad-endtime', 'A', { DBInstanceId: '$L', StartTime: '$W0', EndTime: 'tomorrow' }, 'InvalidEndTime.Format', 400],
  ['endtime-before-starttime', 'A', { DBInstanceId: '$L', StartTime: '$W1', EndTime: '$W0' },
    'InvalidStartTimeAndEndTime.Malformed', 400],
  ['pagesize-31', 'A', { DBInstanceId: '$L', StartTime: '$W0', EndTime: '$W1', PageSize: 31 }, 'InvalidParameters.Format', 400],
  ['pagenumber-0', 'A', { DBInstanceId: '$L', StartTime: '$W0', EndTime: '$W1', PageNumber: 0 }, 'InvalidParameters.Format', 400],
  ['unknown-instance', 'A', { DBInstanceId: 'rm-doesnotexist0', StartTime: '$W0', EndTime: '$W1' }, 'InvalidDBInstance.NotFound', 404],
  ['other-accounts-instance', 'A', { DBInstanceId: '$B', StartTime: '$W0', EndTime: '$W1' }, 'InvalidDBInstance.NotFound', 404],
  ['other-account-asks', 'B', { DBInstanceId: '$L', StartTime: '$W0', EndTime: '$W1' }, 'InvalidDBInstance.NotFound', 404],
  ['wrong-secret', 'wrong-secret', { DBInstanceId: '$L', StartTime: '$W0', EndTime: '$W1' }, 'SignatureDoesNotMatch', 400],
  ['unknown-access-key-id', 'unknown-key', { DBInstanceId: '$L', StartTime: '$W0', EndTime: '$W1' }, 'InvalidAccessKeyId.NotFound', 404],
];

function ts(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function filesOf(raw) {
  assert.equal(raw.Code, undefined, JSON.stringify(raw));
  assert.ok(raw.Items && typeof raw.Items === 'object' && !Array.isArray(raw.Items),
    `Items must be {BinLogFile: [...]}, got ${JSON.stringify(raw.Items)}`);
  assert.deepEqual(Object.keys(raw.Items), ['BinLogFile']);
  assert.ok(Array.isArray(raw.Items.BinLogFile), `Items.BinLogFile must be a list, got ${JSON.stringify(raw.Items.BinLogFile)}`);
  return raw.Items.BinLogFile;
}

function assertTop(raw, total, pageNumber, pageCount, totalSize) {
  assert.ok(typeof raw.RequestId === 'string' && raw.RequestId, 'RequestId must be a non-empty string');
  for (const k of TOP_INT) assert.ok(Number.isInteger(raw[k]), `${k} must be a JSON integer, got ${JSON.stringify(raw[k])}`);
  assert.deepEqual([raw.TotalRecordCount, raw.PageNumber, raw.PageRecordCount, raw.TotalFileSize],
    [total, pageNumber, pageCount, totalSize]);
}

const sizeOf = (files) => files.reduce((n, f) => n + f.size, 0);
const names = (files) => files.map((f) => f.LogFileName ?? f.name);

describe('@alicloud/rds20140815 DescribeBinlogFiles (v3)', () => {
  let env;
  let seeded;
  let call;
  // The raw JSON of a DescribeBinlogFiles call; the Tea model must carry the same values.
  async function files(params, creds = 'A') {
    const { body, raw } = await call('describeBinlogFilesWithOptions', Rds.DescribeBinlogFilesRequest, params, creds);
    assert.deepEqual([body.totalRecordCount, body.pageNumber, body.pageRecordCount, body.totalFileSize],
      [raw.TotalRecordCount, raw.PageNumber, raw.PageRecordCount, raw.TotalFileSize]);
    assert.deepEqual(body.items.binLogFile.map((f) => [f.logFileName, f.fileSize, f.logBeginTime, f.logEndTime,
      f.downloadLink, f.intranetDownloadLink, f.linkExpiredTime, f.checksum, f.hostInstanceID, f.remoteStatus]),
    raw.Items.BinLogFile.map((f) => [f.LogFileName, f.FileSize, f.LogBeginTime, f.LogEndTime, f.DownloadLink,
      f.IntranetDownloadLink, f.LinkExpiredTime, f.Checksum, f.HostInstanceID, f.RemoteStatus]));
    return raw;
  }
  const query = (extra = {}) => ({ DBInstanceId: seeded.id, ...WIDE, ...extra });
  // The seeded files whose [first, last] event times overlap [start, end] (inclusive), in order.
  const overlapping = (start, end) => seeded.files.filter((f) => f.first_event <= end && f.last_event >= start);

  before(() => {
    env = loadEnv();
    seeded = env.manifest.instance_binlog;
    assert.ok(seeded.files.length >= 3, 'the seed must have closed at least 3 binlog files');
    call = teaCaller(env);
  });

  it('lists every closed file in order, with every field and its type', async () => {
    const raw = await files(query({ PageSize: 100 }));
    const got = filesOf(raw);
    assertTop(raw, seeded.files.length, 1, seeded.files.length, sizeOf(seeded.files));
    assert.deepEqual(names(got), names(seeded.files), 'every closed file, bin.000001 first');
    assert.ok(!names(got).includes(seeded.open_file), 'the open file is not listed');
    got.forEach((f, i) => {
      const seed = seeded.files[i];
      const show = JSON.stringify(f);
      for (const k of FILE_STR) assert.ok(typeof f[k] === 'string' && f[k], `${k} must be a non-empty string in ${show}`);
      assert.ok(Number.isInteger(f.FileSize), `FileSize must be a JSON integer in ${show}`);
      for (const k of ['LogBeginTime', 'LogEndTime', 'LinkExpiredTime']) assert.match(f[k], TIME_RE, `${k} in ${show}`);
      assert.equal(f.FileSize, seed.size);
      assert.equal(f.Checksum, seed.crc64, "Checksum is the file's decimal CRC-64/XZ");
      assert.deepEqual([f.LogBeginTime, f.LogEndTime], [seed.first_event, seed.last_event]);
      assert.equal(f.HostInstanceID, String(seeded.instance_number));
      assert.equal(f.RemoteStatus, 'Completed');
      assert.ok(Date.parse(f.LinkExpiredTime) > Date.now(), `the links must not have expired yet: ${f.LinkExpiredTime}`);
      assert.ok(f.LogBeginTime <= f.LogEndTime, show);
    });
  });

  it('pages (default 30, 30/50/100, a page past the end)', async () => {
    const total = seeded.files.length;
    const size = sizeOf(seeded.files);
    assertTop(await files(query()), total, 1, total, size);
    for (const pageSize of [30, 50, 100]) {
      assert.deepEqual(names(filesOf(await files(query({ PageSize: pageSize, PageNumber: 1 })))), names(seeded.files));
    }
    const past = await files(query({ PageSize: 30, PageNumber: 2 }));
    assert.deepEqual(past.Items, { BinLogFile: [] });
    assertTop(past, total, 2, 0, size);
  });

  it('download links serve the file; Checksum is its CRC-64', async () => {
    const byName = new Map(seeded.files.map((f) => [f.name, f]));
    for (const f of filesOf(await files(query()))) {
      const seed = byName.get(f.LogFileName);
      for (const link of ['DownloadLink', 'IntranetDownloadLink']) {
        const { status, body } = await fetchBytes(f[link]);
        assert.equal(status, 200, `GET ${f[link]}`);
        assert.equal(body.length, f.FileSize, link);
        assert.deepEqual([...body.subarray(0, 4)], [0xfe, 0x62, 0x69, 0x6e], 'a binlog file starts with its magic');
        assert.equal(crc64(body), f.Checksum, link);
        assert.equal(f.Checksum, seed.crc64, link);
        assert.equal(crypto.createHash('sha256').update(body).digest('hex'), seed.sha256, link);
      }
    }
  });

  it('lists the files whose events overlap the window (bounds inclusive)', async () => {
    const fs = seeded.files;
    const first = Date.parse(fs[0].first_event);
    const last = Date.parse(fs[fs.length - 1].last_event);
    const windows = [
      ['2000-01-01T00:00:00Z', ts(first - 1000)], // before the first file
      [ts(last + 1000), '2100-01-01T00:00:00Z'], // after the last closed one
      [fs[1].first_event, fs[1].first_event], // one instant
      [fs[1].last_event, fs[fs.length - 2].first_event].sort(),
      [fs[0].first_event, fs[0].first_event],
      [fs[fs.length - 1].last_event, fs[fs.length - 1].last_event],
    ];
    for (const [start, end] of windows) {
      const want = overlapping(start, end);
      const raw = await files({ DBInstanceId: seeded.id, StartTime: start, EndTime: end });
      assert.deepEqual(names(filesOf(raw)), names(want), `${start} .. ${end}`);
      assertTop(raw, want.length, 1, want.length, sizeOf(want));
    }
    assert.deepEqual(overlapping(...windows[0]), []);
    const empty = await files({ DBInstanceId: seeded.id, StartTime: windows[0][0], EndTime: windows[0][1] });
    assert.deepEqual(empty.Items, { BinLogFile: [] });
  });

  it('accepts minute-precision times (yyyy-MM-ddTHH:mmZ)', async () => {
    const start = `${seeded.files[0].first_event.slice(0, 16)}Z`;
    const end = `${ts(Date.parse(seeded.files[seeded.files.length - 1].last_event) + 60000).slice(0, 16)}Z`;
    const raw = await files({ DBInstanceId: seeded.id, StartTime: start, EndTime: end });
    assert.deepEqual(names(filesOf(raw)), names(seeded.files));
  });

  for (const [id, creds, params, code, status] of ERROR_CASES) {
    it(`error: ${id}`, async () => {
      const subst = { $L: seeded.id, $B: env.instanceB, $W0: WIDE.StartTime, $W1: WIDE.EndTime };
      const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' && v in subst ? subst[v] : v]));
      let raw;
      try {
        raw = await files(p, creds);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        assert.deepEqual([e.code, e.status], [code, status], e.message);
        assert.ok(typeof e.requestId === 'string' && e.requestId && e.requestId !== 'undefined', e.message);
        return;
      }
      assert.fail(`expected an error, got ${JSON.stringify(raw).slice(0, 300)}`);
    });
  }
});

describe('@alicloud/rds20140815 DescribeCrossRegionLogBackupFiles (v3)', () => {
  let seeded;
  let call;
  // The raw JSON of a call; the Tea model must carry the same values.
  async function copies(params, creds = 'A') {
    const { body, raw } = await call('describeCrossRegionLogBackupFilesWithOptions',
      Rds.DescribeCrossRegionLogBackupFilesRequest, params, creds);
    assert.deepEqual([body.DBInstanceId, body.regionId, body.startTime, body.totalRecordCount, body.pageRecordCount],
      [raw.DBInstanceId, raw.RegionId, raw.StartTime, raw.TotalRecordCount, raw.PageRecordCount]);
    assert.deepEqual(body.items.item.map((i) => [i.crossLogBackupId, i.crossBackupRegion, i.logFileName,
      i.crossLogBackupSize, i.instanceId, i.crossDownloadLink]),
    raw.Items.Item.map((i) => [i.CrossLogBackupId, i.CrossBackupRegion, i.LogFileName, i.CrossLogBackupSize,
      i.InstanceId, i.CrossDownloadLink]));
    return raw;
  }
  const query = (extra = {}) => ({ DBInstanceId: seeded.id, RegionId: seeded.region, ...WIDE, ...extra });

  before(() => {
    seeded = loadEnv().manifest.instance_binlog;
    call = teaCaller(loadEnv());
  });

  it('lists every closed file in the destination, byte for byte, with numbers where the model has them', async () => {
    const raw = await copies(query({ PageSize: 100 }));
    assert.equal(raw.Code, undefined, JSON.stringify(raw));
    assert.deepEqual(Object.keys(raw.Items), ['Item']);
    assert.deepEqual([raw.TotalRecordCount, raw.PageRecordCount, raw.PageNumber], [seeded.files.length, seeded.files.length, 1]);
    assert.deepEqual(names(raw.Items.Item), names(seeded.files));
    for (const [i, item] of raw.Items.Item.entries()) {
      const seed = seeded.files[i];
      for (const k of ['CrossLogBackupId', 'CrossLogBackupSize', 'InstanceId']) {
        assert.ok(Number.isInteger(item[k]), `${k} must be a JSON integer in ${JSON.stringify(item)}`);
      }
      assert.deepEqual([item.CrossBackupRegion, item.CrossLogBackupSize, item.InstanceId],
        [seeded.dest, seed.size, Number(seeded.instance_number)]);
      const { status, body } = await fetchBytes(item.CrossDownloadLink);
      assert.equal(status, 200);
      assert.equal(crypto.createHash('sha256').update(body).digest('hex'), seed.sha256);
    }
    const elsewhere = await copies(query({ CrossBackupRegion: 'cn-beijing' }));
    assert.deepEqual(elsewhere.Items, { Item: [] });
  });

  it('DescribeAvailableRecoveryTime: from the set to the last copied event; others get 404', async () => {
    const listing = await call('describeCrossRegionBackupsWithOptions', Rds.DescribeCrossRegionBackupsRequest,
      { DBInstanceId: seeded.id, RegionId: seeded.region, CrossBackupRegion: seeded.dest, ...WIDE });
    const [item] = listing.raw.Items.Item;
    assert.equal(item.ConsistentTime, seeded.set.consistent);
    const ask = (params, creds) => call('describeAvailableRecoveryTimeWithOptions',
      Rds.DescribeAvailableRecoveryTimeRequest, { CrossBackupId: item.CrossBackupId, ...params }, creds);
    const { body, raw } = await ask({});
    assert.deepEqual(Object.keys(raw).sort(),
      ['CrossBackupId', 'RecoveryBeginTime', 'RecoveryEndTime', 'RegionId', 'RequestId']);
    assert.ok(Number.isInteger(raw.CrossBackupId));
    assert.deepEqual([body.crossBackupId, body.recoveryBeginTime, body.recoveryEndTime],
      [raw.CrossBackupId, raw.RecoveryBeginTime, raw.RecoveryEndTime]);
    const last = seeded.open_last_event; // through the open file's last copied segment
    const begin = seeded.set.consistent;
    assert.deepEqual([raw.RecoveryBeginTime, raw.RecoveryEndTime, raw.RegionId],
      [begin, last > begin ? last : begin, seeded.region]);
    await assert.rejects(ask({}, 'B'),
      (e) => e instanceof ApiError && e.code === 'InvalidBackupSetID.NotFound' && e.status === 404);
    await assert.rejects(ask({ CrossBackupId: 2147483000 }),
      (e) => e instanceof ApiError && e.code === 'InvalidBackupSetID.NotFound' && e.status === 404);
  });

  it('error: no RegionId', async () => {
    const { RegionId, ...params } = query();
    assert.ok(RegionId);
    await assert.rejects(copies(params), (e) => e instanceof ApiError && e.code === 'MissingRegionId' && e.status === 400);
  });
});
