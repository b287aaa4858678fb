#!/usr/bin/env bash
# The data bench/backup-restore.sh backs up: database `xbak_bench` on the MariaDB at
# 127.0.0.1:3306, about 270 MiB of InnoDB data and indexes (1.2 M event rows, 100 k users).
# SCALE=N makes N times the events (SCALE=5: about 1.2 GiB, for bench/physical-window.sh).
set -euo pipefail
M="mariadb -uroot -h127.0.0.1"
SCALE=${SCALE:-1}
$M -e "DROP DATABASE IF EXISTS xbak_bench; CREATE DATABASE xbak_bench;
  CREATE TABLE xbak_bench.events (id INT PRIMARY KEY, kind VARCHAR(32), actor VARCHAR(64),
    amount DECIMAL(12,2), at DATETIME, body VARCHAR(255), KEY (actor)) ENGINE=InnoDB;
  CREATE TABLE xbak_bench.users (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128), bio TEXT) ENGINE=InnoDB;"
for i in $(seq 0 $((6 * SCALE - 1))); do
  $M -e "INSERT INTO xbak_bench.events SELECT seq, ELT(1 + seq % 5, 'click','view','buy','login','logout'),
    CONCAT('user-', seq % 50000), (seq * 7919) % 100000 / 100, '2026-01-01' + INTERVAL seq SECOND,
    CONCAT(MD5(seq), ' ', SHA1(seq), ' ', MD5(seq * 3)) FROM xbak_bench.seq_$((i*200000+1))_to_$(((i+1)*200000))"
done
$M -e "INSERT INTO xbak_bench.users SELECT seq, CONCAT('user-', seq), CONCAT('u', seq, '@example.com'),
  REPEAT(CONCAT(MD5(seq), ' '), 8) FROM xbak_bench.seq_1_to_100000; ANALYZE TABLE xbak_bench.events, xbak_bench.users"
