//! `GET /metrics`, on the metrics listener only ([`metrics_app`]), never on the API's: the
//! figures name every tenant's instances. Prometheus scrapes this process's
//! [`Metrics`](crate::metrics::Metrics), then the catalog's figures read at scrape time: per
//! instance the copy lag and the recovery point (one query), the copies by state, and per instance
//! with log backup its recovery point in its own region and its gaps. A catalog
//! that cannot be read leaves its families out (logged). With a [`MetricsToken`], a scrape
//! without `Authorization: Bearer <token>` is answered 401.

use crate::exposition::{Exposition, Kind, CONTENT_TYPE};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use xbak_catalog::{
    Catalog, ClaimChecks, ClaimMemory, CopyCounts, CopyFreshness, LogBackupFreshness,
};
use xbak_domain::time::Timestamp;

/// The bearer token a scrape must present. `Debug` never shows it.
#[derive(Clone)]
pub struct MetricsToken(Arc<str>);

impl MetricsToken {
    /// A token; `None` when `token` (trimmed) is empty.
    pub fn new(token: &str) -> Option<MetricsToken> {
        let token = token.trim();
        (!token.is_empty()).then(|| MetricsToken(token.into()))
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>` (compared in constant time).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        given.trim().as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// What the metrics listener's handler needs.
#[derive(Clone)]
struct Scrape {
    state: AppState,
    token: Option<MetricsToken>,
}

/// The metrics listener's application: `GET /metrics`, and a plain 404 for anything else.
pub fn metrics_app(state: AppState, token: Option<MetricsToken>) -> Router {
    Router::new()
        .route("/metrics", get(handle))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(Scrape { state, token })
}

/// `GET /metrics`.
async fn handle(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(token) = &scrape.token {
        if !token.admits(&headers) {
            let mut resp =
                (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return resp;
        }
    }
    let state = &scrape.state;
    let mut out = Exposition::new();
    state.metrics.render(&mut out);
    render_catalog(state.catalog.as_ref(), &mut out).await;
    text_response(out.finish())
}

/// The catalog's figures; each family whose query fails is left out.
async fn render_catalog(catalog: &dyn Catalog, out: &mut Exposition) {
    match catalog.copy_freshness().await {
        Ok(rows) => render_freshness(&rows, chrono::Utc::now(), out),
        Err(e) => tracing::warn!(error = %e, "metrics: could not read copy freshness"),
    }
    match catalog.copy_counts().await {
        Ok(counts) => render_copy_counts(counts, out),
        Err(e) => tracing::warn!(error = %e, "metrics: could not read copy counts"),
    }
    match catalog.log_backup_freshness().await {
        Ok(rows) => render_log_backup(&rows, chrono::Utc::now(), out),
        Err(e) => tracing::warn!(error = %e, "metrics: could not read log backup freshness"),
    }
    match catalog.claim_view().await {
        Ok(view) => {
            render_claim_memory(view.memory, out);
            render_claim_checks(view.checks, out);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the replay claims' view"),
    }
}

/// What this process holds in memory to check replay claims, by part (all 0 on PostgreSQL).
fn render_claim_memory(memory: ClaimMemory, out: &mut Exposition) {
    out.family(
        "xbak_replay_claims_memory_bytes",
        "Bytes this process holds in memory to check new replay claims against earlier ones, by \
         part: exact (claims since the last finished run), epochs and open_epoch (its own \
         filters of the claims it read), stored_filters (runs it has not read yet), upkeep_run \
         (the run it is writing).",
        Kind::Gauge,
    )
    .labelled("part", "exact", memory.exact)
    .labelled("part", "epochs", memory.epochs)
    .labelled("part", "open_epoch", memory.open_epoch)
    .labelled("part", "stored_filters", memory.stored_filters)
    .labelled("part", "upkeep_run", memory.upkeep_run);
}

/// What this process's checks of new replay claims did, by step (all 0 on PostgreSQL).
fn render_claim_checks(checks: ClaimChecks, out: &mut Exposition) {
    out.family(
        "xbak_replay_claim_checks_total",
        "Steps of this process's checks of new replay claims against earlier ones: checked \
         (nonces checked), maybe (a filter of earlier claims answered maybe), lookup (reads of \
         the nonces file to confirm one).",
        Kind::Counter,
    )
    .labelled("step", "checked", checks.checked)
    .labelled("step", "maybe", checks.maybes)
    .labelled("step", "lookup", checks.lookups);
}

/// Per instance with log backup: how far its stored binlog reaches in its own region and in the
/// destination (as times, and as lags at `now`), and its gaps.
fn render_log_backup(rows: &[LogBackupFreshness], now: Timestamp, out: &mut Exposition) {
    let mut recovery_point = out.family(
        "xbak_log_backup_recovery_point_timestamp_seconds",
        "Per instance with log backup: time (unix seconds) of the newest binlog event stored in \
         the instance's own region.",
        Kind::Gauge,
    );
    for r in rows {
        if let Some(t) = r.recovery_point {
            recovery_point.labelled("instance", &r.db_instance_id, t.timestamp());
        }
    }
    let mut gaps = out.family(
        "xbak_log_backup_gaps",
        "Per instance with log backup: gaps in its stored binlog (binlogs purged on the source \
         before they were read); each ends a recovery window.",
        Kind::Gauge,
    );
    for r in rows {
        gaps.labelled("instance", &r.db_instance_id, r.gaps);
    }
    let mut destination = out.family(
        "xbak_log_backup_destination_recovery_point_timestamp_seconds",
        "Per instance with log backup: time (unix seconds) of the newest binlog event copied to \
         the policy's destination region (closed files only).",
        Kind::Gauge,
    );
    for r in rows {
        if let Some(t) = r.destination_recovery_point {
            destination.labelled("instance", &r.db_instance_id, t.timestamp());
        }
    }
    type Point = fn(&LogBackupFreshness) -> Option<Timestamp>;
    let lags: [(&'static str, &str, Point); 2] = [
        (
            "xbak_log_backup_lag_seconds",
            "Per instance with log backup: seconds since the newest binlog event stored in the \
             instance's own region (while the source writes, the log backup lag there).",
            |r| r.recovery_point,
        ),
        (
            "xbak_log_backup_destination_lag_seconds",
            "Per instance with log backup: seconds since the newest binlog event copied to the \
             policy's destination region (while the source writes, the log backup lag there).",
            |r| r.destination_recovery_point,
        ),
    ];
    for (name, help, point) in lags {
        let mut family = out.family(name, help, Kind::Gauge);
        for r in rows {
            if let Some(t) = point(r) {
                let seconds = (now - t).num_seconds().max(0);
                family.labelled("instance", &r.db_instance_id, seconds);
            }
        }
    }
}

/// Per instance: the copy lag at `now`, and the recovery point of those that have one.
fn render_freshness(rows: &[CopyFreshness], now: Timestamp, out: &mut Exposition) {
    let mut lag = out.family(
        "xbak_copy_lag_seconds",
        "Per instance: seconds since the start of the oldest backup set newer than the recovery \
         point whose copy is not completed (0 when all are).",
        Kind::Gauge,
    );
    for r in rows {
        let seconds = r
            .oldest_uncopied
            .map_or(0, |t| (now - t).num_seconds().max(0));
        lag.labelled("instance", &r.db_instance_id, seconds);
    }
    let mut recovery_point = out.family(
        "xbak_recovery_point_timestamp_seconds",
        "Per instance: start time (unix seconds) of the newest backup set with a completed copy.",
        Kind::Gauge,
    );
    for r in rows {
        if let Some(t) = r.recovery_point {
            recovery_point.labelled("instance", &r.db_instance_id, t.timestamp());
        }
    }
}

/// Copies in the catalog by state.
fn render_copy_counts(counts: CopyCounts, out: &mut Exposition) {
    out.family(
        "xbak_catalog_copies",
        "Copies in the catalog by state.",
        Kind::Gauge,
    )
    .labelled("state", "pending", counts.pending)
    .labelled("state", "completed", counts.completed)
    .labelled("state", "failed", counts.failed);
}

/// A 200 carrying the exposition.
fn text_response(text: String) -> Response {
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        xbak_protocol::time::parse_utc_seconds(s).unwrap()
    }

    #[test]
    fn freshness_gives_every_instance_a_lag_and_those_with_a_copy_a_recovery_point() {
        let rows = [
            CopyFreshness {
                instance_id: 1,
                db_instance_id: "rm-behind".into(),
                recovery_point: Some(at("2026-01-01T00:00:00Z")),
                oldest_uncopied: Some(at("2026-01-02T00:00:00Z")),
            },
            CopyFreshness {
                instance_id: 2,
                db_instance_id: "rm-never".into(),
                recovery_point: None,
                oldest_uncopied: None,
            },
        ];
        let mut out = Exposition::new();
        render_freshness(&rows, at("2026-01-02T00:01:30Z"), &mut out);
        let text = out.finish();
        assert!(text.contains("xbak_copy_lag_seconds{instance=\"rm-behind\"} 90\n"));
        assert!(text.contains("xbak_copy_lag_seconds{instance=\"rm-never\"} 0\n"));
        assert!(text.contains(
            "# TYPE xbak_recovery_point_timestamp_seconds gauge\n\
             xbak_recovery_point_timestamp_seconds{instance=\"rm-behind\"} 1767225600\n"
        ));
        assert!(!text.contains("xbak_recovery_point_timestamp_seconds{instance=\"rm-never\"}"));
    }

    #[test]
    fn log_backup_gives_every_stream_its_gaps_and_those_with_events_a_recovery_point() {
        let rows = [
            LogBackupFreshness {
                db_instance_id: "rm-log".into(),
                recovery_point: Some(at("2026-01-01T00:00:00Z")),
                gaps: 2,
                destination_recovery_point: Some(at("2025-12-31T23:59:00Z")),
            },
            LogBackupFreshness {
                db_instance_id: "rm-new".into(),
                recovery_point: None,
                gaps: 0,
                destination_recovery_point: None,
            },
        ];
        let mut out = Exposition::new();
        render_log_backup(&rows, at("2026-01-01T00:00:05Z"), &mut out);
        let text = out.finish();
        assert!(text.contains(
            "# TYPE xbak_log_backup_recovery_point_timestamp_seconds gauge\n\
             xbak_log_backup_recovery_point_timestamp_seconds{instance=\"rm-log\"} 1767225600\n"
        ));
        assert!(!text.contains("recovery_point_timestamp_seconds{instance=\"rm-new\"}"));
        assert!(text.contains("xbak_log_backup_gaps{instance=\"rm-log\"} 2\n"));
        assert!(text.contains("xbak_log_backup_gaps{instance=\"rm-new\"} 0\n"));
        assert!(text.contains(
            "xbak_log_backup_destination_recovery_point_timestamp_seconds{instance=\"rm-log\"} 1767225540\n"
        ));
        assert!(!text.contains("destination_recovery_point_timestamp_seconds{instance=\"rm-new\"}"));
        assert!(text.contains("xbak_log_backup_lag_seconds{instance=\"rm-log\"} 5\n"));
        assert!(text.contains("xbak_log_backup_destination_lag_seconds{instance=\"rm-log\"} 65\n"));
        assert!(!text.contains("lag_seconds{instance=\"rm-new\"}"));
    }

    #[test]
    fn a_token_admits_only_its_own_bearer_header() {
        let token = MetricsToken::new(" s3cret\n").unwrap();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(token.admits(&with("Bearer s3cret")));
        assert!(!token.admits(&with("Bearer s3cre")));
        assert!(!token.admits(&with("Bearer s3cretX")));
        assert!(!token.admits(&with("Basic s3cret")));
        assert!(!token.admits(&HeaderMap::new()));
        assert!(MetricsToken::new(" \n").is_none());
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn the_replay_claims_memory_and_checks_are_reported() {
        let catalog = xbak_catalog::sqlite::SqliteCatalog::open_in_memory()
            .await
            .unwrap();
        let part = |text: &str, part: &str| -> u64 {
            let line = format!("xbak_replay_claims_memory_bytes{{part=\"{part}\"}} ");
            let at = text
                .find(&line)
                .unwrap_or_else(|| panic!("{line} in {text}"));
            text[at + line.len()..]
                .lines()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let render = || async {
            let mut out = Exposition::new();
            render_catalog(&catalog, &mut out).await;
            out.finish()
        };
        let empty = render().await;
        assert_eq!((part(&empty, "exact"), part(&empty, "open_epoch")), (0, 0));
        let now = chrono::Utc::now();
        let nonces: Vec<_> = (0..1_000)
            .map(|i| xbak_catalog::SeenNonce {
                access_key_id: "LTAIa".into(),
                nonce: format!("n{i}"),
                expires_at: now + chrono::Duration::minutes(15),
            })
            .collect();
        catalog.claim_nonces(&nonces, now).await.unwrap();
        let claimed = render().await;
        assert!(part(&claimed, "exact") >= 1_000 * 24, "{claimed}");
        assert!(part(&claimed, "open_epoch") >= 1_000 * 2, "{claimed}");
        assert_eq!(part(&claimed, "stored_filters"), 0);
        let checks = "xbak_replay_claim_checks_total{step=\"checked\"} ";
        assert!(empty.contains(&format!("{checks}0\n")), "{empty}");
        assert!(claimed.contains(&format!("{checks}1000\n")), "{claimed}");
    }

    #[test]
    fn copy_counts_are_one_gauge_labelled_by_state() {
        let mut out = Exposition::new();
        render_copy_counts(
            CopyCounts {
                pending: 3,
                completed: 2,
                failed: 1,
            },
            &mut out,
        );
        assert_eq!(
            out.finish(),
            "# HELP xbak_catalog_copies Copies in the catalog by state.\n\
             # TYPE xbak_catalog_copies gauge\n\
             xbak_catalog_copies{state=\"pending\"} 3\n\
             xbak_catalog_copies{state=\"completed\"} 2\n\
             xbak_catalog_copies{state=\"failed\"} 1\n"
        );
    }
}
