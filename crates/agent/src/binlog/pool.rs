//! [`BinlogStreamers`]: claims the instances to stream and runs a [`Streamer`] task for each.

use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_catalog::leases::{claim_or_take_over, this_process};
use xbak_catalog::{Catalog, CatalogError, LeasedQueue};
use xbak_domain::BinlogStreamClaim;
use xbak_storage::RegionStore;

use super::ship::Shipper;
use super::sink::Sink;
use super::{BinlogError, Streamer, StreamerConfig};

/// Runs one streamer per instance that has a connection and a policy with log backup on,
/// across any number of processes on one catalog (each instance's stream is held by a lease).
pub struct BinlogStreamers {
    catalog: Arc<dyn Catalog>,
    config: StreamerConfig,
}

impl BinlogStreamers {
    /// How long an idle claimer waits before looking for streams again.
    const POLL: Duration = Duration::from_secs(1);

    pub fn new(catalog: Arc<dyn Catalog>, config: StreamerConfig) -> Self {
        BinlogStreamers { catalog, config }
    }

    /// Claims and streams instances until `stop` is cancelled, then waits for every streamer to
    /// store its tail and release its stream.
    pub async fn run(self, stop: CancellationToken) {
        let mut tasks = JoinSet::new();
        loop {
            let idle = match self.claim().await {
                Ok(Some(claim)) => {
                    self.start(claim, &stop, &mut tasks).await;
                    Duration::ZERO
                }
                Ok(None) => Self::POLL,
                Err(e) => {
                    warn!(error = %e, "cannot claim binlog streams; will retry");
                    Self::POLL
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn start(
        &self,
        claim: BinlogStreamClaim,
        stop: &CancellationToken,
        tasks: &mut JoinSet<()>,
    ) {
        let id = claim.instance_id;
        match self.streamer(&claim).await {
            Ok(streamer) => {
                info!(instance = id, position = ?claim.position, "binlog stream claimed");
                let stop = stop.clone();
                tasks.spawn(async move {
                    let end = streamer.run(claim.position, &stop).await;
                    info!(instance = id, ?end, "binlog stream ended");
                });
            }
            Err(e) => {
                warn!(instance = id, error = %e, "cannot start the binlog stream");
                if let Err(e) = self
                    .catalog
                    .release_binlog_stream(id, &claim.lease_token)
                    .await
                {
                    warn!(instance = id, error = %e, "cannot release the binlog stream");
                }
            }
        }
    }

    /// Claims a stream: never streamed, released, expired, or held by a process of this host
    /// that is no longer running (taken over at once).
    async fn claim(&self) -> Result<Option<BinlogStreamClaim>, CatalogError> {
        let catalog = self.catalog.as_ref();
        let lease = self.config.lease;
        let claim = || catalog.claim_binlog_stream_by(Utc::now(), lease, this_process());
        claim_or_take_over(catalog, LeasedQueue::BinlogStreams, claim).await
    }

    async fn streamer(&self, claim: &BinlogStreamClaim) -> Result<Streamer, BinlogError> {
        let id = claim.instance_id;
        let missing = |what: &str| BinlogError::Setup(format!("instance {id} has no {what}"));
        let instance = self
            .catalog
            .instance(id)
            .await?
            .ok_or_else(|| missing("row"))?;
        let connection = self
            .catalog
            .instance_connection(id)
            .await?
            .ok_or_else(|| missing("connection"))?;
        let region = self
            .catalog
            .region(&instance.region_id)
            .await?
            .ok_or_else(|| missing("region"))?;
        let store = RegionStore::open(&region.region_id, &region.store_url)?;
        Ok(Streamer {
            shipper: Shipper {
                catalog: self.catalog.clone(),
                source: store.clone(),
                instance_id: id,
                db_instance_id: instance.db_instance_id.clone(),
                lease_token: claim.lease_token.clone(),
                throttles: self.config.throttles.clone(),
                dest: Default::default(),
            },
            sink: Sink {
                catalog: self.catalog.clone(),
                store,
                instance_id: id,
                db_instance_id: instance.db_instance_id,
                lease_token: claim.lease_token.clone(),
            },
            dsn: connection.dsn,
            config: self.config.clone(),
        })
    }
}
