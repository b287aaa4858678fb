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
then runs `xbak replicate --once`.

Writes WORK_DIR/seed.json, the manifest the scenarios compare against (keys, instance ids, the
query window, and per registered backup: times, method, type, scale, instance number, size, sha256).
Stdlib only.
"""
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys

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
