//! Prometheus metrics at `GET /metrics`: RPC outcomes, copy progress from the replicator's
//! events (bytes per destination region included), and from the catalog at scrape time: copy
//! counts, and per instance the copy lag and the recovery point.
//!
//! Hand-rolled text exposition rather than the `prometheus` crate: a handful of monotonic
//! counters and gauges, rendered on scrape, need nothing beyond atomics.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
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

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dec(c: &AtomicU64) {
    let _ = c.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
}

/// `GET /metrics`.
pub async fn handle(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let mut out = String::with_capacity(2048);
    let mut counter = |name: &str, help: &str, kind: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    counter(
        "xbak_rpc_ok_total",
        "RPC calls answered 2xx.",
        "counter",
        m.rpc_ok.load(Relaxed),
    );
    counter(
        "xbak_rpc_client_errors_total",
        "RPC calls answered 4xx.",
        "counter",
        m.rpc_client_errors.load(Relaxed),
    );
    counter(
        "xbak_rpc_server_errors_total",
        "RPC calls answered 5xx.",
        "counter",
        m.rpc_server_errors.load(Relaxed),
    );
    counter(
        "xbak_copy_attempts_total",
        "Copy attempts started by this process.",
        "counter",
        m.copy_attempts.load(Relaxed),
    );
    counter(
        "xbak_copies_completed_total",
        "Copies verified and published by this process.",
        "counter",
        m.copies_completed.load(Relaxed),
    );
    counter(
        "xbak_copy_bytes_completed_total",
        "Bytes of completed copies.",
        "counter",
        m.copy_bytes_completed.load(Relaxed),
    );
    counter(
        "xbak_copy_bytes_written_total",
        "Bytes written to destination staging, retries included.",
        "counter",
        m.copy_bytes_written.load(Relaxed),
    );
    counter(
        "xbak_copy_failures_retried_total",
        "Failed copy attempts that will be retried.",
        "counter",
        m.copy_failures_retried.load(Relaxed),
    );
    counter(
        "xbak_copy_failures_final_total",
        "Copies that failed for good.",
        "counter",
        m.copy_failures_final.load(Relaxed),
    );
    counter(
        "xbak_copies_in_progress",
        "Copy attempts running in this process.",
        "gauge",
        m.copies_in_progress.load(Relaxed),
    );
    {
        let by_region = m
            .copy_bytes_by_region
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            out,
            "# HELP xbak_copy_bytes_total Bytes of copies completed by this process, by destination region.\n\
             # TYPE xbak_copy_bytes_total counter"
        );
        for (region, bytes) in by_region.iter() {
            let _ = writeln!(
                out,
                "xbak_copy_bytes_total{{dest_region=\"{}\"}} {bytes}",
                label(region)
            );
        }
    }
    match state.catalog.copy_freshness().await {
        Ok(rows) => {
            let now = chrono::Utc::now();
            let _ = writeln!(
                out,
                "# HELP xbak_copy_lag_seconds Per instance: seconds since the start of the oldest backup set newer than the recovery point whose copy is not completed (0 when all are).\n\
                 # TYPE xbak_copy_lag_seconds gauge"
            );
            for r in &rows {
                let lag = r
                    .oldest_uncopied
                    .map_or(0, |t| (now - t).num_seconds().max(0));
                let _ = writeln!(
                    out,
                    "xbak_copy_lag_seconds{{instance=\"{}\"}} {lag}",
                    label(&r.db_instance_id)
                );
            }
            let _ = writeln!(
                out,
                "# HELP xbak_recovery_point_timestamp_seconds Per instance: start time (unix seconds) of the newest backup set with a completed copy.\n\
                 # TYPE xbak_recovery_point_timestamp_seconds gauge"
            );
            for r in &rows {
                if let Some(t) = r.recovery_point {
                    let _ = writeln!(
                        out,
                        "xbak_recovery_point_timestamp_seconds{{instance=\"{}\"}} {}",
                        label(&r.db_instance_id),
                        t.timestamp()
                    );
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read copy freshness"),
    }
    match state.catalog.copy_counts().await {
        Ok(c) => {
            let _ = writeln!(
                out,
                "# HELP xbak_catalog_copies Copies in the catalog by state.\n# TYPE xbak_catalog_copies gauge\n\
                 xbak_catalog_copies{{state=\"pending\"}} {}\nxbak_catalog_copies{{state=\"completed\"}} {}\n\
                 xbak_catalog_copies{{state=\"failed\"}} {}",
                c.pending, c.completed, c.failed
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read copy counts"),
    }
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
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
}
