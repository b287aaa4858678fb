//! [`Replicator`]: claims copy jobs from the catalog and runs them, `concurrency` at a time,
//! once ([`Replicator::run_once`], for `xbak replicate --once`) or until shut down
//! ([`Replicator::run`], for `xbak serve`).

use crate::config::ReplicatorConfig;
use crate::context::CopyContext;
use crate::copy::{self, Outcome};
use crate::error::ReplicatorError;
use chrono::Utc;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use xbak_catalog::leases::{take_over_dead_leases, this_process};
use xbak_catalog::{Catalog, CatalogError, HeldLease, LeasedQueue};
use xbak_domain::CopyEvent;
use xbak_storage::throttle::Throttles;
use xbak_storage::{RegionStore, Regions};

/// Shortest idle sleep of [`Replicator::run`]: the catalog counts in whole seconds, so a job may
/// look due a moment before it can be claimed.
const MIN_IDLE_SLEEP: Duration = Duration::from_millis(250);

/// The cross-region replicator. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Replicator {
    context: Arc<CopyContext>,
}

/// What one [`Replicator::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Copies published and recorded Completed.
    pub completed: u64,
    /// Bytes of the completed copies.
    pub bytes: u64,
    /// Failed attempts queued again for later.
    pub retried: u64,
    /// Copies that failed for good.
    pub failed: u64,
    /// Attempts abandoned because their lease was lost, or whose outcome could not be
    /// recorded; their jobs are attempted again once the lease runs out.
    pub abandoned: u64,
    /// Due jobs left alone because a live worker (on this host, or on another one until its
    /// lease runs out) holds them, with their holders and lease ends.
    pub skipped: Vec<HeldLease>,
}

impl RunSummary {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Completed { bytes } => {
                self.completed += 1;
                self.bytes += bytes;
            }
            Outcome::Retrying => self.retried += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::LeaseLost | Outcome::Unrecorded => self.abandoned += 1,
        }
    }
}

impl Replicator {
    /// A replicator over `catalog`'s queue. `regions` may be incomplete: regions missing from it
    /// are opened from the catalog when a job needs them.
    pub fn new(catalog: Arc<dyn Catalog>, regions: Regions, config: ReplicatorConfig) -> Self {
        let throttles = Arc::new(Throttles::new(config.bwlimit));
        Replicator::sharing(catalog, regions, config, throttles)
    }

    /// [`Replicator::new`] with the bandwidth limits of `throttles` (shared with other copiers
    /// into the same regions, such as the log shipper) instead of its own from `config.bwlimit`.
    pub fn sharing(
        catalog: Arc<dyn Catalog>,
        regions: Regions,
        config: ReplicatorConfig,
        throttles: Arc<Throttles>,
    ) -> Self {
        Replicator {
            context: Arc::new(CopyContext::new(catalog, regions, config, throttles)),
        }
    }

    /// Progress of every copy this replicator runs from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CopyEvent> {
        self.context.subscribe()
    }

    /// Sweeps the staging area of every open region of what crashed copies left behind (idle
    /// longer than `staging_max_age`). Returns the objects removed; a region that cannot be
    /// swept is logged and skipped.
    pub async fn sweep_staging(&self) -> u64 {
        let mut removed = 0;
        for store in self.context.regions.all() {
            match store
                .sweep_staging(self.context.config.staging_max_age)
                .await
            {
                Ok(n) => removed += n,
                Err(e) => {
                    tracing::warn!(region = store.region_id(), error = %e, "cannot sweep staging")
                }
            }
        }
        removed
    }

    /// Sweeps staging, then runs every copy due now to its end (retries that fall due during
    /// the run included; jobs rescheduled for later stay queued) and returns what happened.
    /// Fails only if the catalog cannot be asked for work; copies already running are finished
    /// first.
    pub async fn run_once(&self) -> Result<RunSummary, ReplicatorError> {
        self.sweep_staging().await;
        let mut summary = RunSummary::default();
        let mut tasks = JoinSet::new();
        let mut claim_error = None;
        loop {
            // Claims again after every finished attempt: it may have queued a retry that is
            // already due.
            if claim_error.is_none() {
                if let Err(e) = self.fill(&mut tasks).await {
                    claim_error = Some(e);
                }
            }
            match tasks.join_next().await {
                None => break,
                Some(joined) => summary.add(joined_outcome(joined)),
            }
        }
        if let Some(e) = claim_error {
            return Err(e.into());
        }
        // Leases still held by others; ours ended above (or were abandoned, counted as such).
        summary.skipped = self
            .context
            .catalog
            .held_leases(LeasedQueue::Copies, Utc::now())
            .await?
            .into_iter()
            .filter(|l| l.holder.as_ref() != Some(this_process()))
            .collect();
        Ok(summary)
    }

    /// Sweeps staging, then claims and runs copies until `shutdown` resolves, sleeping while
    /// nothing is due (until the next due time, at most `poll_interval`). On shutdown, copies
    /// in progress are abandoned: nothing of them is visible, and their leases run out so that
    /// the next worker takes them over.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), ReplicatorError> {
        self.sweep_staging().await;
        tokio::pin!(shutdown);
        let mut tasks = JoinSet::new();
        loop {
            let idle = match self.fill(&mut tasks).await {
                Ok(full) => !full,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim copy jobs");
                    true
                }
            };
            let sleep = if idle {
                self.idle_sleep().await
            } else {
                self.context.config.poll_interval
            };
            tokio::select! {
                _ = &mut shutdown => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    joined_outcome(joined);
                }
                _ = tokio::time::sleep(sleep), if idle => {}
            }
        }
        if !tasks.is_empty() {
            tracing::info!(
                copies = tasks.len(),
                "shutting down; copies in progress are abandoned to their leases"
            );
        }
        tasks.shutdown().await;
        Ok(())
    }

    fn concurrency(&self) -> usize {
        self.context.config.concurrency.max(1)
    }

    /// Claims and starts copies until `concurrency` run: `Ok(true)` when they do, `Ok(false)`
    /// when nothing more is claimable now. With nothing claimable, the jobs of holders on this
    /// host that are no longer running are taken over at once rather than after their leases.
    async fn fill(&self, tasks: &mut JoinSet<Outcome>) -> Result<bool, CatalogError> {
        let catalog = self.context.catalog.as_ref();
        let mut took_over = false;
        while tasks.len() < self.concurrency() {
            match catalog
                .claim_copy_job(Utc::now(), self.context.config.lease)
                .await?
            {
                Some(job) => self.spawn(tasks, job),
                None if !took_over => {
                    took_over = true;
                    let found =
                        take_over_dead_leases(catalog, LeasedQueue::Copies, Utc::now()).await?;
                    if found.broken.is_empty() {
                        return Ok(false);
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn spawn(&self, tasks: &mut JoinSet<Outcome>, job: xbak_domain::CopyJob) {
        let context = Arc::clone(&self.context);
        tasks.spawn(async move { copy::run_job(&context, job).await });
    }

    /// How long to sleep with nothing to claim: until the next job is due, within bounds.
    async fn idle_sleep(&self) -> Duration {
        let poll = self.context.config.poll_interval.max(MIN_IDLE_SLEEP);
        match self.context.catalog.next_copy_due().await {
            // Due already but not claimable: leased (by us or another worker); a lease that
            // runs out is noticed at the next poll.
            Ok(Some(due)) => match (due - Utc::now()).to_std() {
                Ok(wait) => wait.clamp(MIN_IDLE_SLEEP, poll),
                Err(_) => poll,
            },
            Ok(None) => poll,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the next due copy");
                poll
            }
        }
    }
}

fn joined_outcome(joined: Result<Outcome, tokio::task::JoinError>) -> Outcome {
    joined.unwrap_or_else(|e| {
        // A panicking copy: its lease runs out and the job is attempted again.
        tracing::error!(error = %e, "copy task failed");
        Outcome::Unrecorded
    })
}

/// Opens the store of every region in the catalog. A region whose store cannot be opened is
/// logged and left out: copies to or from it fail with the reason when they are attempted.
pub async fn regions_from_catalog(catalog: &dyn Catalog) -> Result<Regions, ReplicatorError> {
    let regions = Regions::new();
    for region in catalog.regions().await? {
        match RegionStore::open(&region.region_id, &region.store_url) {
            Ok(store) => regions.insert(store),
            Err(e) => {
                tracing::warn!(region = %region.region_id, error = %e, "cannot open region store")
            }
        }
    }
    Ok(regions)
}
