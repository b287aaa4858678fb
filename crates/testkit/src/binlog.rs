//! A binlog stream as the streamer leaves it, for the tests of what reads or copies log files.

use chrono::{DateTime, Utc};
use xbak_catalog::leases::this_process;
use xbak_domain::{BinlogPosition, BinlogProgress, Dsn, InstanceConnection, Policy};

use crate::{Fixture, DEST, INSTANCE, SRC};

/// A closed binlog file: its name, bytes and first and last event times.
pub struct ClosedFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub first_event: DateTime<Utc>,
    pub last_event: DateTime<Utc>,
}

impl Fixture {
    /// Turns INSTANCE's log backup on (policy to DEST), claims its binlog stream and stores each
    /// of `files` whole in SRC and records it closed, as the streamer does; returns the stream's
    /// lease token (valid for a minute).
    pub async fn stream_closed_files(&self, files: &[ClosedFile]) -> String {
        let cat = &self.catalog;
        let instance = self.instance(INSTANCE).await;
        let policy = Policy {
            instance_id: instance.id,
            enabled: true,
            dest_region_id: DEST.into(),
            retention_days: 7,
            updated_at: Utc::now(),
        };
        cat.put_cross_backup_policy(&policy, true).await.unwrap();
        let connection = InstanceConnection {
            instance_id: instance.id,
            dsn: Dsn::parse("mysql://repl@127.0.0.1:3306").unwrap(),
            standby: None,
        };
        cat.put_instance_connection(&connection).await.unwrap();
        let lease = std::time::Duration::from_secs(60);
        let claim = cat
            .claim_binlog_stream_by(Utc::now(), lease, this_process())
            .await
            .unwrap()
            .expect("the stream is claimable");
        let store = self.regions.get(SRC).unwrap();
        for file in files {
            let key = format!("binlogs/{INSTANCE}/{}", file.name);
            let staged = store
                .upload_staged(&key, &file.bytes[..], &|_| {})
                .await
                .unwrap();
            store.publish(&staged, &key).await.unwrap();
            let mut crc = crc64fast::Digest::new();
            crc.write(&file.bytes);
            let progress = BinlogProgress::Closed {
                file_name: file.name.into(),
                size: file.bytes.len() as u64,
                sha256: staged.checksum().sha256,
                crc64: crc.sum64(),
                object_key: key,
                first_event_at: Some(file.first_event),
                last_event_at: Some(file.last_event),
                position: BinlogPosition::start_of(&next_file(file.name), ""),
            };
            cat.advance_binlog_stream(instance.id, &claim.lease_token, &progress, Utc::now())
                .await
                .unwrap();
        }
        claim.lease_token
    }
}

/// The file after `name` (`bin.000001` → `bin.000002`).
fn next_file(name: &str) -> String {
    let (stem, number) = name.rsplit_once('.').expect("a binlog file name");
    let next = number.parse::<u64>().expect("a numbered binlog file") + 1;
    format!("{stem}.{next:0width$}", width = number.len())
}
