//! One claimed stream: reconnects, follows the source's binlog event by event, stores the
//! open file's tail on a timer and each file whole when it ends, and records each step with
//! the position after it.

use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_catalog::CatalogError;
use xbak_domain::binlog::{binlog_sequence, BINLOG_FIRST_EVENT};
use xbak_domain::{BinlogPosition, BinlogProgress, Dsn, LogFileState};

use super::event::{kind, RawEvent};
use super::gtid::GtidState;
use super::ship::Shipper;
use super::sink::sweep_closed_segments;
use super::sink::Sink;
use super::source::{binary_logs, cannot_read_from, open_stream};
use super::{BinlogError, StreamerConfig};

/// Why a stream's run ended (its lease is released in every case but `LeaseLost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The stop token was cancelled (the tail was stored first).
    Stopped,
    /// Log backup was turned off, or the instance lost its connection.
    NotWanted,
    /// Another holder has the stream: nothing more was recorded.
    LeaseLost,
}

/// The bytes of the current file after the durable position, not stored yet.
struct Tail {
    file: String,
    /// The durable offset (where `bytes` start) and the GTID state there.
    start: u64,
    start_gtid: String,
    bytes: Vec<u8>,
    /// How much of `bytes` ends on a transaction boundary, the GTID state and event times there.
    boundary: usize,
    boundary_gtid: String,
    boundary_last: Option<u32>,
    first: Option<u32>,
    last: Option<u32>,
    gtid: GtidState,
}

impl Tail {
    fn at(position: &BinlogPosition) -> Tail {
        Tail {
            file: position.file.clone(),
            start: position.offset,
            start_gtid: position.gtid_state.clone(),
            bytes: Vec::new(),
            boundary: 0,
            boundary_gtid: position.gtid_state.clone(),
            boundary_last: None,
            first: None,
            last: None,
            gtid: GtidState::parse(&position.gtid_state),
        }
    }

    /// Where the next event of the file must start.
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    fn push(&mut self, event: &RawEvent) {
        self.bytes.extend_from_slice(&event.bytes);
        let ts = event.timestamp();
        if ts != 0 {
            self.first.get_or_insert(ts);
            self.last = Some(ts);
        }
        self.gtid.follow(event);
        if self.gtid.is_idle() {
            self.boundary = self.bytes.len();
            self.boundary_gtid = self.gtid.to_string();
            self.boundary_last = self.last;
        }
    }
}

fn time_of(ts: Option<u32>) -> Option<DateTime<Utc>> {
    ts.and_then(|s| DateTime::from_timestamp(i64::from(s), 0))
}

/// Streams one claimed instance.
pub struct Streamer {
    pub(super) sink: Sink,
    pub(super) shipper: Shipper,
    pub(super) dsn: Dsn,
    pub(super) config: StreamerConfig,
}

impl Streamer {
    fn server_id(&self) -> u32 {
        let id = u32::try_from(self.sink.instance_id).unwrap_or(u32::MAX);
        self.config.server_id_base.wrapping_add(id)
    }

    /// Streams from `position` (the durable one; `None`: from the oldest binlog the source
    /// has) until `stop`, log backup turned off, or the lease lost.
    pub async fn run(
        &self,
        position: Option<BinlogPosition>,
        stop: &CancellationToken,
    ) -> StreamEnd {
        let s = &self.sink;
        let stores = [
            Some(s.store.clone()),
            self.shipper.destination().await.ok().flatten(),
        ];
        for store in stores.iter().flatten() {
            match sweep_closed_segments(&*s.catalog, store, s.instance_id, &s.db_instance_id).await
            {
                Ok(0) => {}
                Ok(n) => info!(
                    instance = s.instance_id,
                    region = store.region_id(),
                    segments = n,
                    "deleted segments of closed binlog files left by an earlier streamer"
                ),
                Err(e) => {
                    warn!(instance = s.instance_id, region = store.region_id(), error = %e, "cannot sweep the segments of closed binlog files")
                }
            }
        }
        let ended = CancellationToken::new();
        let follow = async {
            let end = self.follow(position, stop).await;
            ended.cancel();
            end
        };
        let (end, ()) = tokio::join!(follow, self.ship_until(&ended));
        if end != StreamEnd::LeaseLost {
            let s = &self.sink;
            if let Err(e) = s
                .catalog
                .release_binlog_stream(s.instance_id, &s.lease_token)
                .await
            {
                warn!(instance = s.instance_id, error = %e, "cannot release the binlog stream");
            }
        }
        end
    }

    async fn follow(
        &self,
        mut position: Option<BinlogPosition>,
        stop: &CancellationToken,
    ) -> StreamEnd {
        let mut retry = self.config.retry;
        loop {
            match self.renew().await {
                Ok(true) => {}
                Ok(false) => return StreamEnd::NotWanted,
                Err(e) => return e,
            }
            let result = match position.clone() {
                Some(p) => self.session(p, stop).await,
                None => match self.first_position().await {
                    Ok(p) => Err(Failure::Moved(p)),
                    Err(e) => Err(Failure::Retry(e)),
                },
            };
            match result {
                Ok(end) => return end,
                Err(failure) => {
                    let e = match failure {
                        Failure::Moved(p) => {
                            position = Some(p);
                            retry = self.config.retry;
                            continue;
                        }
                        Failure::At(p, e) => {
                            position = Some(p);
                            e
                        }
                        Failure::Retry(e) => e,
                        Failure::LeaseLost => return StreamEnd::LeaseLost,
                    };
                    warn!(instance = self.sink.instance_id, error = %e, "binlog stream interrupted; reconnecting");
                    tokio::select! {
                        _ = stop.cancelled() => return StreamEnd::Stopped,
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Copies closed files to the destination region every flush interval until `ended` (a copy
    /// under way is dropped then: its staging object is swept like any other).
    async fn ship_until(&self, ended: &CancellationToken) {
        let id = self.sink.instance_id;
        loop {
            tokio::select! {
                _ = ended.cancelled() => return,
                shipped = self.shipper.ship_pending() => match shipped {
                    Ok(_) => {}
                    Err(BinlogError::Catalog(CatalogError::LeaseLost(_))) => return,
                    Err(e) => warn!(instance = id, error = %e, "cannot copy binlog files to the destination region"),
                },
            }
            tokio::select! {
                _ = ended.cancelled() => return,
                _ = tokio::time::sleep(self.config.flush_interval) => {}
            }
        }
    }

    /// Renews the lease: whether the stream is still wanted, or how it ends.
    async fn renew(&self) -> Result<bool, StreamEnd> {
        let s = &self.sink;
        let until = Utc::now() + self.config.lease;
        match s
            .catalog
            .renew_binlog_stream(s.instance_id, &s.lease_token, until)
            .await
        {
            Ok(wanted) => Ok(wanted),
            Err(CatalogError::LeaseLost(_)) => Err(StreamEnd::LeaseLost),
            Err(e) => {
                warn!(instance = s.instance_id, error = %e, "cannot renew the binlog stream lease");
                Ok(true)
            }
        }
    }

    /// The start of the oldest binlog the source still has.
    async fn first_position(&self) -> Result<BinlogPosition, BinlogError> {
        let logs = binary_logs(&self.dsn).await?;
        let (file, _) = logs.into_iter().next().ok_or(BinlogError::NoBinlogs)?;
        info!(instance = self.sink.instance_id, %file, "binlog stream starts at the oldest binlog");
        Ok(BinlogPosition::start_of(&file, ""))
    }

    /// One connection: `Ok(end)` when the stream ends for good, `Err` with where to reconnect
    /// from (at once after a recorded gap, after a pause after a failure).
    async fn session(
        &self,
        position: BinlogPosition,
        stop: &CancellationToken,
    ) -> Result<StreamEnd, Failure> {
        let mut tail = Tail::at(&position);
        let opened = open_stream(
            &self.dsn,
            self.server_id(),
            &position.file,
            position.offset,
            self.config.heartbeat,
        )
        .await;
        let mut stream = match opened {
            Ok(s) => s,
            Err(e) => return self.maybe_gap(&tail, e).await,
        };
        let mut flush = tokio::time::interval(self.config.flush_interval);
        let mut renew = tokio::time::interval(self.config.lease / 3);
        let silent = self.config.heartbeat * 3;
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    self.store_tail(&mut tail).await?;
                    return Ok(StreamEnd::Stopped);
                }
                _ = renew.tick() => match self.renew().await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.store_tail(&mut tail).await?;
                        return Ok(StreamEnd::NotWanted);
                    }
                    Err(end) => return Ok(end),
                },
                _ = flush.tick() => self.store_tail(&mut tail).await?,
                next = tokio::time::timeout(silent, stream.next_event()) => {
                    let event = match next {
                        Err(_) => Err(BinlogError::Silent(silent)),
                        Ok(Ok(None)) => Err(BinlogError::Setup("the source closed the binlog stream".into())),
                        Ok(Err(e)) => Err(e.into()),
                        Ok(Ok(Some(bytes))) => RawEvent::from_bytes(bytes).map_err(BinlogError::from),
                    };
                    let event = match event {
                        Ok(event) => event,
                        Err(e) if tail.bytes.is_empty() => return self.maybe_gap(&tail, e).await,
                        Err(e) => return Err(Failure::At(durable(&tail), e)),
                    };
                    self.take(&mut tail, &event).await?;
                }
            }
        }
    }

    /// Follows one event: skips what is in no file, appends the rest, closes the file at its
    /// end, stores a large tail at once.
    async fn take(&self, tail: &mut Tail, event: &RawEvent) -> Result<(), Failure> {
        if event.kind() == kind::ROTATE && !event.is_in_file() {
            // The source names the file it sends from: ours at connect; another once it moved
            // on from a file that ended without a rotate event (a restart after a crash or a stop).
            if let Some(next) = event.rotate_target() {
                if next != tail.file && tail.end() > BINLOG_FIRST_EVENT {
                    self.close(tail, &next).await?;
                } else if next != tail.file {
                    *tail = Tail::at(&BinlogPosition::start_of(&next, &tail.boundary_gtid));
                }
            }
            return Ok(());
        }
        if !event.is_in_file() {
            return Ok(());
        }
        let start = u64::from(event.log_pos()).saturating_sub(event.len() as u64);
        if start != tail.end() {
            let e = BinlogError::Discontinuity {
                file: tail.file.clone(),
                start,
                expected: tail.end(),
            };
            return Err(Failure::At(durable(tail), e));
        }
        tail.push(event);
        if event.kind() == kind::ROTATE {
            if let Some(next) = event.rotate_target() {
                self.close(tail, &next).await?;
            }
        } else if tail.boundary >= self.config.max_tail {
            self.store_tail(tail).await?;
        }
        Ok(())
    }

    /// Stores the tail up to its last transaction boundary as a segment and records it.
    async fn store_tail(&self, tail: &mut Tail) -> Result<(), Failure> {
        if tail.boundary == 0 {
            return Ok(());
        }
        let at = |e| Failure::from_error(durable(tail), e);
        let bytes = &tail.bytes[..tail.boundary];
        let segment = self
            .sink
            .segment(&tail.file, tail.start, bytes)
            .await
            .map_err(at)?;
        let end = tail.start + segment.size;
        let progress = BinlogProgress::Segment {
            file_name: tail.file.clone(),
            segment,
            first_event_at: time_of(tail.first),
            last_event_at: time_of(tail.boundary_last),
            position: BinlogPosition {
                file: tail.file.clone(),
                offset: end,
                gtid_state: tail.boundary_gtid.clone(),
            },
        };
        self.sink.record(&progress).await.map_err(at)?;
        tail.bytes.drain(..tail.boundary);
        tail.start = end;
        tail.start_gtid = tail.boundary_gtid.clone();
        tail.boundary = 0;
        if tail.bytes.is_empty() {
            tail.first = None;
        }
        Ok(())
    }

    /// Publishes the current file whole (its stored segments and the tail), records it closed
    /// and moves to `next`.
    async fn close(&self, tail: &mut Tail, next: &str) -> Result<(), Failure> {
        let at = |e| Failure::from_error(durable(tail), e);
        let files = self
            .sink
            .catalog
            .log_files(self.sink.instance_id)
            .await
            .map_err(|e| at(e.into()))?;
        let region = self.sink.store.region_id();
        let segments = files
            .into_iter()
            .find(|f| {
                f.file_name == tail.file && f.region_id == region && f.state == LogFileState::Open
            })
            .map(|f| f.segments)
            .unwrap_or_default();
        let (key, sum, crc64) = self
            .sink
            .whole_file(&tail.file, &segments, &tail.bytes)
            .await
            .map_err(at)?;
        if sum.size != tail.end() {
            let e = BinlogError::Setup(format!(
                "{} rebuilt as {} bytes, expected {}",
                tail.file,
                sum.size,
                tail.end()
            ));
            return Err(at(e));
        }
        let progress = BinlogProgress::Closed {
            file_name: tail.file.clone(),
            size: sum.size,
            sha256: sum.sha256,
            crc64,
            object_key: key,
            first_event_at: time_of(tail.first),
            last_event_at: time_of(tail.last),
            position: BinlogPosition::start_of(next, &tail.gtid.to_string()),
        };
        self.sink.record(&progress).await.map_err(at)?;
        info!(instance = self.sink.instance_id, file = %tail.file, size = sum.size, "binlog file stored");
        // Its segments are redundant now. Left behind if this fails or the process dies here:
        // unlisted objects, which nothing reads, swept when the stream is next claimed.
        match self.sink.drop_segments(&tail.file).await {
            Ok(n) => {
                tracing::debug!(instance = self.sink.instance_id, file = %tail.file, segments = n, "segments deleted")
            }
            Err(e) => {
                warn!(instance = self.sink.instance_id, file = %tail.file, error = %e, "cannot delete the segments of a stored file")
            }
        }
        *tail = Tail::at(progress.position());
        Ok(())
    }

    /// The source refused the durable position: a gap if its file is older than the oldest
    /// binlog the source lists (purged), recorded and skipped; any other failure is retried.
    async fn maybe_gap(&self, tail: &Tail, e: BinlogError) -> Result<StreamEnd, Failure> {
        let here = durable(tail);
        if !cannot_read_from(&e) {
            return Err(Failure::At(here, e));
        }
        let logs = binary_logs(&self.dsn)
            .await
            .map_err(|e| Failure::At(here.clone(), e))?;
        let ours = binlog_sequence(&tail.file);
        let oldest = logs.first().map(|(f, _)| f.clone());
        let purged = match (&oldest, ours) {
            (Some(f), Some(ours)) => binlog_sequence(f).is_some_and(|s| s > ours),
            _ => false,
        };
        let Some(oldest) = oldest.filter(|_| purged) else {
            return Err(Failure::At(here, e));
        };
        let files = self
            .sink
            .catalog
            .log_files(self.sink.instance_id)
            .await
            .map_err(|e| Failure::At(here.clone(), e.into()))?;
        let from_time = files.iter().filter_map(|f| f.last_event_at).max();
        let progress = BinlogProgress::Gap {
            reason: format!(
                "{} purged on the source before it was read ({e})",
                tail.file
            ),
            from_time,
            position: BinlogPosition::start_of(&oldest, &tail.boundary_gtid),
        };
        warn!(instance = self.sink.instance_id, from = %tail.file, to = %oldest, "binlog gap recorded");
        self.sink
            .record(&progress)
            .await
            .map_err(|e| Failure::from_error(here, e))?;
        Err(Failure::Moved(progress.position().clone()))
    }
}

/// A failed session: the position to reconnect from, or a lost lease.
enum Failure {
    At(BinlogPosition, BinlogError),
    /// Before any position: retry as before.
    Retry(BinlogError),
    /// Go on from this position at once (the first one found, or past a recorded gap).
    Moved(BinlogPosition),
    LeaseLost,
}

impl Failure {
    fn from_error(at: BinlogPosition, e: BinlogError) -> Failure {
        match e {
            BinlogError::Catalog(CatalogError::LeaseLost(_)) => Failure::LeaseLost,
            e => Failure::At(at, e),
        }
    }
}

/// The durable position of `tail` (where its unstored bytes start).
fn durable(tail: &Tail) -> BinlogPosition {
    BinlogPosition {
        file: tail.file.clone(),
        offset: tail.start,
        gtid_state: tail.start_gtid.clone(),
    }
}
