#!/usr/bin/env python3
"""Seed an xbak data dir through the `xbak` CLI for the official-SDK compatibility tests.

Usage: seed.py XBAK_BIN DATA_DIR WORK_DIR

Creates (all through the CLI, nothing written into DATA_DIR directly):
  * regions cn-hangzhou (source), cn-shanghai and cn-beijing (destinations);
  * accounts sdk-a and sdk-b (keys captured from `account create --json`);
  * rm-sdk0001  (account A, cn-hangzhou, MySQL 5.7 HA local_ssd, policy -> cn-shanghai) with
    130 registered backup sets: small generated files of distinct sizes, distinct start times spread
    over ~3.5 days, a mix of P/L methods, F/I types, scale 0/1, and a few taken on the standby
    (--instance-number);
  * rm-sdkb001  (account B, cn-hangzhou, MySQL 5.7, policy -> cn-beijing) with 3 backup sets;
  * rm-sdk8001  (account A, cn-hangzhou, MySQL 8.0: not eligible for cross-region backup);
  * rm-sdkp001..3 (account A, cn-hangzhou, MySQL 5.7, no policy, one backup an hour old): one per
    SDK for the policy scenarios;
  * rm-sdkm001  (account A, cn-hangzhou, MariaDB 10.11, policy -> cn-shanghai) with one logical
    backup taken by `xbak backup run --database xbak_sdk_meta` from the MariaDB server on
    127.0.0.1:3306 (root, no password; the database is recreated with known tables), so its set
    has a manifest for DescribeCrossBackupMetaList;
  * rm-sdkl001  (account A, cn-hangzhou, MariaDB 10.11, policy -> cn-shanghai with log backup) whose
    binlog files `xbak worker` streamed into cn-hangzhou from a scratch `mariadbd --log-bin` the
    seed starts on a free 127.0.0.1 port (its own data dir under WORK_DIR; stopped and deleted
    afterwards): rows written in batches a second apart, FLUSH BINARY LOGS after each, so several
    files are closed; log backup is then turned off again (`--log-backup=false`) so `xbak serve`
    does not try to reach the stopped source; the worker also shipped each closed file to
    cn-shanghai (the seed waits for every copy). For DescribeBinlogFiles and
    DescribeCrossRegionLogBackupFiles;
with `xbak replicate --once` run before the worker of rm-sdkl001 starts (and again for its set).

Writes WORK_DIR/seed.json, the manifest the scenarios compare against (keys, instance ids, the
query window, and per registered backup: times, method, type, scale, instance number, size, sha256;
and per closed binlog file of rm-sdkl001, read from the source's data dir: name, size, CRC-64/XZ,
sha256, first and last event time).
Stdlib only.
"""
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

SOURCE = "cn-hangzhou"
DEST_A = "cn-shanghai"
DEST_B = "cn-beijing"
INSTANCE_A = "rm-sdk0001"
INSTANCE_B = "rm-sdkb001"
INSTANCE_INELIGIBLE = "rm-sdk8001"
# A set taken by the agent (it has a manifest): its database and tables, created by the seed.
INSTANCE_META = "rm-sdkm001"
META_DSN = "mysql://root@127.0.0.1:3306"
META_DATABASE = "xbak_sdk_meta"
META_TABLES = ["customers", "orders", "order_lines"]
# Account A, MySQL 5.7 HA, no policy, one backup set an hour old: each policy scenario (one per
# SDK, so their order does not matter) turns cross-region backup on for its own instance.
POLICY_INSTANCES = {"core": "rm-sdkp001", "tea-v3": "rm-sdkp002", "node-tea-v3": "rm-sdkp003"}
POLICY_NUMBER = 8170000
PRIMARY_NUMBER = 8161055
STANDBY_NUMBER = 8161056
INSTANCE_B_NUMBER = 9100001
# Account A, MariaDB 10.11, log backup streamed from a scratch source the seed starts (DescribeBinlogFiles).
INSTANCE_BINLOG = "rm-sdkl001"
BINLOG_NUMBER = 8180001
BINLOG_REPL_PASSWORD = "xbak-sdk-repl-pw"
BINLOG_BATCHES = 4          # each ends with FLUSH BINARY LOGS: bin.000001..4 closed, bin.000005 open
N_BACKUPS = 130
N_BACKUPS_B = 3
# Relative to now (so no retention rule can expire the sets): first set ~6 days ago, last ~2.6 days ago.
BASE = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=6)).replace(minute=0, second=0, microsecond=0)
WINDOW = (BASE - dt.timedelta(days=1), BASE + dt.timedelta(days=5))


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Cli:
    def __init__(self, binary, data_dir):
        self.binary = binary
        self.data_dir = data_dir

    def __call__(self, *args):
        cmd = [self.binary, "--data-dir", self.data_dir, *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write(
                "seed: command failed (%d): %s\nstdout: %s\nstderr: %s\n"
                % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
            raise SystemExit(2)
        return p.stdout


def make_file(path, size, rng):
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def consistent_now():
    """The base of a one-set `backup_plan` whose set is consistent at this second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=115)


def backup_plan(n, base, rng, instance_number, standby_every=0):
    """Deterministic list of backup sets with distinct start times, spread over a few days."""
    plan = []
    for i in range(n):
        start = base + dt.timedelta(minutes=37 * i, seconds=(i * 13) % 60)
        end = start + dt.timedelta(minutes=2 + (i * 7) % 19, seconds=(i * 29) % 60)
        consistent = end - dt.timedelta(seconds=5 + i % 11)
        item = {
            "start": ts(start),
            "end": ts(end),
            "consistent": ts(consistent),
            "method": "L" if i % 4 == 0 else "P",
            "type": "F" if i % 3 == 0 else "I",
            "scale": 1 if i % 10 == 0 else 0,
            "instance_number": instance_number,
            "explicit_instance_number": False,
            "size": 256 + (i * 97) % 3000 + rng.randrange(0, 64),
        }
        if standby_every and i % standby_every == 5:
            item["instance_number"] = STANDBY_NUMBER
            item["explicit_instance_number"] = True
        plan.append(item)
    rng.shuffle(plan)  # register out of chronological order: the listing must sort
    return plan


# ---------------------------------------------------------------------------------------------------
# binlog files (DescribeBinlogFiles)

def _crc64_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xC96C5795D7870F42 if c & 1 else c >> 1
        table.append(c)
    return table


CRC64_TABLE = _crc64_table()


def crc64(data):
    """CRC-64/XZ (ECMA-182 reflected, init and xorout all ones): the CRC-64 OSS reports."""
    c = 0xFFFFFFFFFFFFFFFF
    for b in data:
        c = CRC64_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFFFFFFFFFF


assert crc64(b"123456789") == 0x995DC9BBDF1939FA


def event_times(data):
    """(first, last) non-zero event timestamp of a binlog file, in file order."""
    assert data[:4] == b"\xfebin", "not a binlog file"
    pos, times = 4, []
    while pos + 19 <= len(data):
        when, _type, _server, size = struct.unpack_from("<IBII", data, pos)
        assert size >= 19, "bad event at %d" % pos
        if when:
            times.append(when)
        pos += size
    assert pos == len(data), "binlog file ends inside an event"
    return times[0], times[-1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ScratchMariaDB:
    """A scratch `mariadbd` with binary logging on, on a free 127.0.0.1 port, in its own folder (the
    invocation of crates/cli/tests/binlog_stream.rs's `Source::start`)."""

    def __init__(self, root):
        self.root = root
        self.datadir = os.path.join(root, "data")
        tmp = os.path.join(root, "tmp")  # its own: installs sharing /tmp at once fail now and then
        os.makedirs(tmp)
        p = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.datadir, "--tmpdir=" + tmp,
                            "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write("seed: mariadb-install-db failed:\n%s\n%s\n" % (p.stdout, p.stderr))
            raise SystemExit(2)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + self.datadir, "--port=%d" % self.port,
             "--socket=" + os.path.join(root, "sock"), "--pid-file=" + os.path.join(root, "pid"),
             "--log-error=" + os.path.join(root, "error.log"), "--log-bin=" + os.path.join(self.datadir, "bin"),
             "--user=root", "--bind-address=127.0.0.1", "--skip-name-resolve", "--server-id=1",
             "--binlog-format=ROW", "--innodb-buffer-pool-size=64M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while self._run("SELECT 1").returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = open(os.path.join(root, "error.log")).read()[-2000:] if os.path.exists(
                    os.path.join(root, "error.log")) else ""
                self.stop()
                sys.stderr.write("seed: scratch mariadbd did not start:\n%s\n" % log)
                raise SystemExit(2)
            time.sleep(0.2)

    def _run(self, sql):
        return subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(self.root, "sock"),
                               "-uroot", "-N", "-B", "-e", sql], capture_output=True, text=True)

    def sql(self, sql):
        p = self._run(sql)
        if p.returncode != 0:
            sys.stderr.write("seed: scratch mariadbd: %s: %s\n" % (sql[:200], p.stderr))
            raise SystemExit(2)
        return p.stdout

    def current(self):
        """SHOW MASTER STATUS: the file in use."""
        return self.sql("SHOW MASTER STATUS").split("\t")[0]

    def binlogs(self):
        return [line.split("\t")[0] for line in self.sql("SHOW BINARY LOGS").splitlines()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def stop_process(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seed_binlogs(cli, work, register_recent):
    """rm-sdkl001: a scratch source with binary logging, a few closed binlog files streamed into the
    instance's region by `xbak worker`. Returns the manifest entry (the closed files as the source
    wrote them)."""
    started = time.monotonic()
    src = ScratchMariaDB(os.path.join(work, "binlog-source"))
    worker = None
    try:
        src.sql("CREATE USER repl@'127.0.0.1' IDENTIFIED BY '%s'; "
                "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO repl@'127.0.0.1'; "
                "CREATE DATABASE shop; "
                "CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(1000)) ENGINE=InnoDB;"
                % BINLOG_REPL_PASSWORD)
        cli("instance", "create", INSTANCE_BINLOG, "--region", SOURCE, "--account", "sdk-a", "--engine", "MariaDB",
            "--engine-version", "10.11", "--category", "HighAvailability", "--storage-type", "local_ssd",
            "--instance-number", BINLOG_NUMBER,
            "--dsn", "mysql://repl:%s@127.0.0.1:%d" % (BINLOG_REPL_PASSWORD, src.port))
        # A set consistent now, after the source wrote its first events: enabling the policy queues
        # its copy rather than requesting a full backup of the scratch source (whose repl user may
        # not take one), and the binlog files copied with it carry its recovery window forward.
        (the_set,) = register_recent(INSTANCE_BINLOG, BINLOG_NUMBER, "l")
        cli("policy", "set", INSTANCE_BINLOG, "--cross-region", DEST_A, "--log-backup")
        cli("replicate", "--once")  # that copy: the worker below then only streams
        # Batches a second apart, each closed by FLUSH BINARY LOGS: files with distinct times.
        n = 0
        for batch in range(BINLOG_BATCHES):
            time.sleep(1.05)
            rows = []
            for _ in range(3 + batch):
                n += 1
                rows.append("INSERT INTO shop.t (v) VALUES (REPEAT('b%d-', %d));" % (n, 5 + 7 * n))
            src.sql(" ".join(rows) + " FLUSH BINARY LOGS;")
        src.sql("INSERT INTO shop.t (v) VALUES ('open');")  # the open file, not listed
        current = src.current()
        closed = [f for f in src.binlogs() if f != current]
        assert len(closed) >= 3, closed

        log = open(os.path.join(work, "seed-binlog-worker.log"), "w")
        worker = subprocess.Popen([cli.binary, "--data-dir", cli.data_dir, "worker", "--log-flush-seconds", "1"],
                                  stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            out = cli("backup", "runs", INSTANCE_BINLOG)
            at = [line.split()[4].rsplit(":", 1)[0] for line in out.splitlines()
                  if line.startswith("log backup: streamed to ")]
            if at and at[0] == current:
                break
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write("seed: xbak worker did not stream %s's binlogs to %s (worker rc %s):\n%s\n"
                                 % (INSTANCE_BINLOG, current, worker.poll(), out))
                raise SystemExit(2)
            time.sleep(0.3)
        # Every closed file shipped to the destination as well (its object is published, then its
        # row recorded at once; a second of margin for that before the worker is stopped).
        shipped = os.path.join(cli.data_dir, "regions", DEST_A, "binlogs", INSTANCE_BINLOG)
        # And the open file, as segments, up to the source's end.
        open_size = os.path.getsize(os.path.join(src.datadir, current))

        def open_shipped():
            segments = os.path.join(shipped, current + ".segments")
            if not os.path.isdir(segments):
                return 0
            return 4 + sum(os.path.getsize(os.path.join(segments, n)) for n in os.listdir(segments))

        while not (all(os.path.exists(os.path.join(shipped, name)) for name in closed)
                   and open_shipped() >= open_size):
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write("seed: xbak worker did not ship %s's binlogs to %s\n" % (INSTANCE_BINLOG, DEST_A))
                raise SystemExit(2)
            time.sleep(0.3)
        time.sleep(1.5)
        stop_process(worker)
        worker = None
        # Nothing to stream from once the source is gone: `xbak serve` must not keep trying.
        cli("policy", "set", INSTANCE_BINLOG, "--cross-region", DEST_A, "--log-backup=false")

        files = []
        for name in closed:
            with open(os.path.join(src.datadir, name), "rb") as f:
                data = f.read()
            first, last = event_times(data)
            files.append({
                "name": name,
                "size": len(data),
                "crc64": str(crc64(data)),  # a string: more than 2^53
                "sha256": hashlib.sha256(data).hexdigest(),
                "first_event": ts(dt.datetime.fromtimestamp(first, dt.timezone.utc)),
                "last_event": ts(dt.datetime.fromtimestamp(last, dt.timezone.utc)),
            })
        with open(os.path.join(src.datadir, current), "rb") as f:
            _, open_last = event_times(f.read())
    finally:
        if worker is not None:
            stop_process(worker)
        src.stop()
    print("seed: %s: %d closed binlog files streamed (%s open) in %.1f s"
          % (INSTANCE_BINLOG, len(files), current, time.monotonic() - started))
    return {"id": INSTANCE_BINLOG, "instance_number": BINLOG_NUMBER, "region": SOURCE, "dest": DEST_A,
            "open_file": current, "files": files, "set": the_set,
            # The open file's last event: where the recovery window in the destination ends.
            "open_last_event": ts(dt.datetime.fromtimestamp(open_last, dt.timezone.utc))}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, data_dir, work = sys.argv[1:]
    cli = Cli(binary, data_dir)
    files_dir = os.path.join(work, "files")
    os.makedirs(files_dir, exist_ok=True)
    rng = random.Random(20240302)

    for region in (SOURCE, DEST_A, DEST_B):
        cli("region", "add", region)

    accounts = {}
    for key, name in (("A", "sdk-a"), ("B", "sdk-b")):
        out = cli("account", "create", name, "--json")
        obj = json.loads(out)
        accounts[key] = {"name": obj["AccountName"], "ak": obj["AccessKeyId"], "sk": obj["AccessKeySecret"]}

    common = ["--engine", "MySQL", "--category", "HighAvailability", "--storage-type", "local_ssd"]
    cli("instance", "create", INSTANCE_A, "--region", SOURCE, "--account", "sdk-a",
        "--engine-version", "5.7", "--instance-number", PRIMARY_NUMBER, *common)
    cli("policy", "set", INSTANCE_A, "--cross-region", DEST_A, "--retention-days", "730")
    cli("instance", "create", INSTANCE_B, "--region", SOURCE, "--account", "sdk-b",
        "--engine-version", "5.7", "--instance-number", INSTANCE_B_NUMBER, *common)
    cli("policy", "set", INSTANCE_B, "--cross-region", DEST_B, "--retention-days", "730")
    cli("instance", "create", INSTANCE_INELIGIBLE, "--region", SOURCE, "--account", "sdk-a",
        "--engine-version", "8.0", *common)

    def register(instance, plan, prefix):
        for idx, b in enumerate(plan):
            path = os.path.join(files_dir, "%s_%03d.xb" % (prefix, idx))
            b["file"] = path
            b["sha256"] = make_file(path, b["size"], rng)
            args = ["backup", "register", instance, "--file", path, "--method", b["method"],
                    "--type", b["type"], "--scale", b["scale"], "--start", b["start"],
                    "--end", b["end"], "--consistent", b["consistent"]]
            if b["explicit_instance_number"]:
                args += ["--instance-number", b["instance_number"]]
            cli(*args)
        return plan

    backups_a = register(INSTANCE_A, backup_plan(N_BACKUPS, BASE, rng, PRIMARY_NUMBER, standby_every=9), "a")
    backups_b = register(INSTANCE_B, backup_plan(N_BACKUPS_B, BASE + dt.timedelta(hours=5), rng,
                                                 INSTANCE_B_NUMBER), "b")
    assert len({b["start"] for b in backups_a}) == N_BACKUPS
    recent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).replace(microsecond=0)
    for n, (who, inst) in enumerate(sorted(POLICY_INSTANCES.items())):
        cli("instance", "create", inst, "--region", SOURCE, "--account", "sdk-a",
            "--engine-version", "5.7", "--instance-number", POLICY_NUMBER + n, *common)
        register(inst, backup_plan(1, recent, rng, POLICY_NUMBER + n), "p%d" % n)

    # The backup is taken before the policy is set: enabling then queues its copy instead of
    # requesting a full backup of the whole server from serve's workers.
    subprocess.run(
        ["mariadb", "-h127.0.0.1", "-P3306", "-uroot", "-e",
         "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; " % (META_DATABASE, META_DATABASE)
         + " ".join("CREATE TABLE %s.%s (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB; "
                    "INSERT INTO %s.%s VALUES (1, 'a'), (2, 'b');" % (META_DATABASE, t, META_DATABASE, t)
                    for t in META_TABLES)],
        check=True)
    cli("instance", "create", INSTANCE_META, "--region", SOURCE, "--account", "sdk-a", "--engine", "MariaDB",
        "--engine-version", "10.11", "--category", "HighAvailability", "--storage-type", "local_ssd",
        "--dsn", META_DSN)
    cli("backup", "run", INSTANCE_META, "--method", "L", "--database", META_DATABASE)
    cli("policy", "set", INSTANCE_META, "--cross-region", DEST_A)

    cli("replicate", "--once")

    # After the copies: the worker it runs is stopped as soon as the binlogs are stored, and would
    # leave copies it had started to their leases.
    instance_binlog = seed_binlogs(
        cli, work, lambda inst, number, prefix: register(inst, backup_plan(1, consistent_now(), rng, number), prefix))

    manifest = {
        "source_region": SOURCE,
        "accounts": accounts,
        "instance_a": {"id": INSTANCE_A, "dest": DEST_A, "engine": "MySQL", "engine_version": "5.7",
                       "category": "HighAvailability", "backups": backups_a},
        "instance_b": {"id": INSTANCE_B, "dest": DEST_B, "engine": "MySQL", "engine_version": "5.7",
                       "category": "HighAvailability", "backups": backups_b},
        "instance_ineligible": INSTANCE_INELIGIBLE,
        "instance_meta": {"id": INSTANCE_META, "dest": DEST_A, "database": META_DATABASE,
                          "tables": sorted(META_TABLES)},
        "instance_binlog": instance_binlog,
        "policy_instances": POLICY_INSTANCES,
        "regions": sorted([SOURCE, DEST_A, DEST_B]),
        "other_dest": DEST_B,
        "window": {"start": ts(WINDOW[0]), "end": ts(WINDOW[1])},
    }
    out = os.path.join(work, "seed.json")
    with open(out, "w") as f:
        json.dump(manifest, f, indent=1)
    print("seed: %d + %d backup sets registered and replicated; manifest %s"
          % (len(backups_a), len(backups_b), out))


if __name__ == "__main__":
    main()
