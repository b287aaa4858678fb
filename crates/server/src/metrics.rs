//! This process's metrics: RPC outcomes and copy progress folded from the replicator's events
//! (bytes per destination region included). Kept in relaxed atomics on the hot path and
//! rendered at scrape time ([`crate::scrape`] adds the catalog's figures).

use crate::exposition::{Exposition, Kind};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use xbak_domain::CopyEvent;

/// Counters updated on the hot path with relaxed atomics.
#[derive(Default)]
pub struct Metrics {
    pub rpc_ok: AtomicU64,
    pub rpc_client_errors: AtomicU64,
    pub rpc_server_errors: AtomicU64,
    pub copy_attempts: AtomicU64,
    pub copies_completed: AtomicU64,
    pub copy_bytes_completed: AtomicU64,
    pub copy_bytes_written: AtomicU64,
    pub copy_failures_retried: AtomicU64,
    pub copy_failures_final: AtomicU64,
    pub copies_in_progress: AtomicU64,
    /// Bytes of completed copies by destination region.
    pub copy_bytes_by_region: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts one answered RPC by its HTTP status.
    pub fn record_rpc(&self, status: u16) {
        let c = match status {
            200..=299 => &self.rpc_ok,
            400..=499 => &self.rpc_client_errors,
            _ => &self.rpc_server_errors,
        };
        c.fetch_add(1, Relaxed);
    }

    /// Folds one replicator event into the counters. `Progress` carries a running total per
    /// attempt, so bytes are counted from the deltas of each copy.
    pub fn record_copy(
        &self,
        event: &CopyEvent,
        last_progress: &mut std::collections::HashMap<i64, u64>,
    ) {
        match event {
            CopyEvent::Started { copy_id, .. } => {
                self.copy_attempts.fetch_add(1, Relaxed);
                self.copies_in_progress.fetch_add(1, Relaxed);
                last_progress.insert(*copy_id, 0);
            }
            // Bytes an earlier attempt wrote are not written again: count from there.
            CopyEvent::Resumed { copy_id, from } => {
                last_progress.insert(*copy_id, *from);
            }
            CopyEvent::Progress { copy_id, bytes } => {
                let prev = last_progress.insert(*copy_id, *bytes).unwrap_or(0);
                self.copy_bytes_written
                    .fetch_add(bytes.saturating_sub(prev), Relaxed);
            }
            CopyEvent::Verified { .. } => {}
            CopyEvent::Completed {
                copy_id,
                bytes,
                dest_region_id,
                ..
            } => {
                *self
                    .copy_bytes_by_region
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(dest_region_id.clone())
                    .or_default() += *bytes;
                let prev = last_progress.remove(copy_id).unwrap_or(0);
                self.copy_bytes_written
                    .fetch_add(bytes.saturating_sub(prev), Relaxed);
                self.copies_completed.fetch_add(1, Relaxed);
                self.copy_bytes_completed.fetch_add(*bytes, Relaxed);
                dec(&self.copies_in_progress);
            }
            CopyEvent::Failed {
                copy_id,
                will_retry,
                ..
            } => {
                last_progress.remove(copy_id);
                let c = if *will_retry {
                    &self.copy_failures_retried
                } else {
                    &self.copy_failures_final
                };
                c.fetch_add(1, Relaxed);
                dec(&self.copies_in_progress);
            }
        }
    }
}

fn dec(c: &AtomicU64) {
    let _ = c.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
}

impl Metrics {
    /// This process's counters, in the order `GET /metrics` has always listed them.
    fn counters(&self) -> [(&'static str, &'static str, Kind, &AtomicU64); 10] {
        [
            (
                "xbak_rpc_ok_total",
                "RPC calls answered 2xx.",
                Kind::Counter,
                &self.rpc_ok,
            ),
            (
                "xbak_rpc_client_errors_total",
                "RPC calls answered 4xx.",
                Kind::Counter,
                &self.rpc_client_errors,
            ),
            (
                "xbak_rpc_server_errors_total",
                "RPC calls answered 5xx.",
                Kind::Counter,
                &self.rpc_server_errors,
            ),
            (
                "xbak_copy_attempts_total",
                "Copy attempts started by this process.",
                Kind::Counter,
                &self.copy_attempts,
            ),
            (
                "xbak_copies_completed_total",
                "Copies verified and published by this process.",
                Kind::Counter,
                &self.copies_completed,
            ),
            (
                "xbak_copy_bytes_completed_total",
                "Bytes of completed copies.",
                Kind::Counter,
                &self.copy_bytes_completed,
            ),
            (
                "xbak_copy_bytes_written_total",
                "Bytes written to destination staging, retries included.",
                Kind::Counter,
                &self.copy_bytes_written,
            ),
            (
                "xbak_copy_failures_retried_total",
                "Failed copy attempts that will be retried.",
                Kind::Counter,
                &self.copy_failures_retried,
            ),
            (
                "xbak_copy_failures_final_total",
                "Copies that failed for good.",
                Kind::Counter,
                &self.copy_failures_final,
            ),
            (
                "xbak_copies_in_progress",
                "Copy attempts running in this process.",
                Kind::Gauge,
                &self.copies_in_progress,
            ),
        ]
    }

    /// Writes this process's counters, then the bytes copied per destination region.
    pub fn render(&self, out: &mut Exposition) {
        for (name, help, kind, value) in self.counters() {
            out.family(name, help, kind).value(value.load(Relaxed));
        }
        let by_region = self
            .copy_bytes_by_region
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut family = out.family(
            "xbak_copy_bytes_total",
            "Bytes of copies completed by this process, by destination region.",
            Kind::Counter,
        );
        for (region, bytes) in by_region.iter() {
            family.labelled("dest_region", region, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    #[test]
    fn a_resumed_copy_counts_only_the_bytes_it_writes() {
        let m = Metrics::default();
        let mut progress = HashMap::new();
        let copy_id = 7;
        for event in [
            CopyEvent::Started { copy_id, size: 100 },
            CopyEvent::Resumed { copy_id, from: 60 },
            CopyEvent::Progress { copy_id, bytes: 80 },
            CopyEvent::Completed {
                copy_id,
                dest_region_id: "cn-shanghai".into(),
                bytes: 100,
                elapsed: Duration::from_secs(1),
                resumed_from: 60,
                sent: 40,
            },
        ] {
            m.record_copy(&event, &mut progress);
        }
        assert_eq!(m.copy_bytes_written.load(Relaxed), 40);
        assert_eq!(m.copy_bytes_completed.load(Relaxed), 100);
        assert_eq!(m.copies_in_progress.load(Relaxed), 0);
    }

    #[test]
    fn render_lists_every_counter_and_the_bytes_by_region() {
        let m = Metrics::default();
        m.record_rpc(200);
        m.record_rpc(404);
        m.record_copy(
            &CopyEvent::Completed {
                copy_id: 1,
                dest_region_id: "cn-shanghai".into(),
                bytes: 42,
                elapsed: Duration::from_secs(1),
                resumed_from: 0,
                sent: 42,
            },
            &mut HashMap::new(),
        );
        let mut out = Exposition::new();
        m.render(&mut out);
        let text = out.finish();
        for line in [
            "# HELP xbak_rpc_ok_total RPC calls answered 2xx.\n# TYPE xbak_rpc_ok_total counter\nxbak_rpc_ok_total 1\n",
            "xbak_rpc_client_errors_total 1\n",
            "xbak_rpc_server_errors_total 0\n",
            "# TYPE xbak_copies_in_progress gauge\nxbak_copies_in_progress 0\n",
            "xbak_copies_completed_total 1\n",
            "# TYPE xbak_copy_bytes_total counter\nxbak_copy_bytes_total{dest_region=\"cn-shanghai\"} 42\n",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
        assert_eq!(text.matches("# TYPE ").count(), 11);
    }
}
