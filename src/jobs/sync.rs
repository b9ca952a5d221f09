//! The runner of the push webhook's git syncs: the JSON API submits the add-ons a push
//! names ([`SyncRunner::submit`]), each owner's queue ([`super::queue`]) is worked by one
//! task at a time, and each sync — the sync service's ([`crate::service::sync`]) — runs in
//! a task of its own, holding its add-on's mirror lock, so that a panic fails that sync,
//! not the queue.
//!
//! Every job's state is recorded: queued, running, then its outcome, which
//! `git_syncs_total` also counts. [`SyncRunner::state`] answers it by id and
//! [`SyncRunner::finished`] waits for it (tests wait for that event rather than sleeping;
//! [`SyncRunner::known_jobs`] tells them that a refused push queued nothing);
//! the outcomes of the latest [`KEPT_OUTCOMES`] jobs are kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use uuid::Uuid;

use super::queue::{Job, SyncQueue};
use crate::metrics::Metrics;
use crate::service::Services;
use crate::service::sync::{SyncError, SyncOutcome};

pub use super::queue::QueueFull;

/// How many finished jobs keep their outcome.
pub const KEPT_OUTCOMES: usize = 1024;

/// How a sync job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// The tags were read; this many new versions were published.
    Synced {
        /// Versions published.
        published: u32,
    },
    /// The outbound-fetch policy refused the repository: nothing was contacted.
    Refused,
    /// git, the store or the add-on's settings failed (or the sync panicked).
    Failed,
    /// The add-on was deleted or changed owner since the push.
    Skipped,
}

impl JobOutcome {
    /// The `outcome` label of `git_syncs_total`: `ok`, `refused`, `failed` or `skipped`.
    pub fn label(self) -> &'static str {
        match self {
            JobOutcome::Synced { .. } => "ok",
            JobOutcome::Refused => "refused",
            JobOutcome::Failed => "failed",
            JobOutcome::Skipped => "skipped",
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting in its owner's queue.
    Queued,
    /// Syncing.
    Running,
    /// Ended.
    Finished(JobOutcome),
}

/// The jobs' states: every queued or running job, and the latest finished ones.
#[derive(Default)]
struct Records {
    states: HashMap<Uuid, JobState>,
    finished: VecDeque<Uuid>,
}

impl Records {
    fn set(&mut self, id: Uuid, state: JobState) {
        if let JobState::Finished(_) = state {
            self.finished.push_back(id);
            while self.finished.len() > KEPT_OUTCOMES {
                if let Some(old) = self.finished.pop_front() {
                    self.states.remove(&old);
                }
            }
        }
        self.states.insert(id, state);
    }
}

/// The runner (one per application).
pub struct SyncRunner {
    services: Services,
    metrics: Metrics,
    queue: SyncQueue,
    records: Mutex<Records>,
    changed: Notify,
}

impl SyncRunner {
    /// A runner of the sync service's syncs: queues of `per_owner` add-ons each,
    /// `concurrent` syncs at once in the process; outcomes counted in `metrics`.
    pub fn new(
        services: Services,
        metrics: Metrics,
        per_owner: usize,
        concurrent: usize,
    ) -> Arc<SyncRunner> {
        Arc::new(SyncRunner {
            services,
            metrics,
            queue: SyncQueue::new(per_owner, concurrent),
            records: Mutex::default(),
            changed: Notify::new(),
        })
    }

    /// Queues a sync of each of `packages` for `owner`, all of them or none ([`QueueFull`]):
    /// an add-on already waiting keeps its place and its job. Starts the owner's worker
    /// when its queue was idle.
    pub fn submit(
        self: &Arc<Self>,
        owner: Uuid,
        packages: &[String],
    ) -> Result<Vec<Job>, QueueFull> {
        let submitted = {
            // Recorded under the lock, so that a job is never asked for before it exists.
            let mut records = self.lock();
            let submitted = self.queue.submit(owner, packages)?;
            for job in &submitted.jobs {
                records.states.entry(job.id).or_insert(JobState::Queued);
            }
            submitted
        };
        if submitted.start_worker {
            tokio::spawn(Arc::clone(self).work_queue(owner));
        }
        Ok(submitted.jobs)
    }

    /// The state of job `id`; `None` for a job this runner does not know (or whose
    /// outcome was forgotten: only the latest [`KEPT_OUTCOMES`] are kept).
    pub fn state(&self, id: Uuid) -> Option<JobState> {
        self.lock().states.get(&id).copied()
    }

    /// How many jobs this runner has a record of: every queued or running one and the
    /// latest finished ones. `0` means that nothing was ever submitted to it.
    pub fn known_jobs(&self) -> usize {
        self.lock().states.len()
    }

    /// Waits until job `id` has ended and answers its outcome; `None` at once for a job
    /// this runner does not know.
    pub async fn finished(&self, id: Uuid) -> Option<JobOutcome> {
        loop {
            // Registered before the state is read, so that no change is missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.state(id)? {
                JobState::Finished(outcome) => return Some(outcome),
                JobState::Queued | JobState::Running => changed.await,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, id: Uuid, state: JobState) {
        self.lock().set(id, state);
        self.changed.notify_waiters();
    }

    /// Works an owner's queue until it is empty, one sync at a time, each in a task of its
    /// own (a panic fails that sync, not the queue).
    async fn work_queue(self: Arc<Self>, owner: Uuid) {
        loop {
            let slot = self.queue.slot().await;
            let Some(job) = self.queue.next(owner) else {
                break;
            };
            self.record(job.id, JobState::Running);
            let task = {
                let (runner, job) = (Arc::clone(&self), job.clone());
                tokio::spawn(async move { runner.run_job(owner, &job).await })
            };
            let outcome = task.await.unwrap_or_else(|e| {
                tracing::error!(job = %job.id, package = %job.package, error = %e, "sync panicked");
                JobOutcome::Failed
            });
            self.metrics.git_sync(outcome.label());
            self.record(job.id, JobState::Finished(outcome));
            drop(slot);
        }
    }

    /// One sync, with its add-on's mirror to itself.
    async fn run_job(&self, owner: Uuid, job: &Job) -> JobOutcome {
        let _mirror = self.queue.lock_mirror(&job.package).await;
        let (id, package) = (job.id, &job.package);
        match self.services.sync().sync_package(owner, package).await {
            Ok(SyncOutcome::Synced { published }) => {
                tracing::info!(job = %id, package, published, "sync done");
                JobOutcome::Synced { published }
            }
            Ok(SyncOutcome::Skipped) => {
                tracing::info!(job = %id, package, "add-on gone or changed owner; sync skipped");
                JobOutcome::Skipped
            }
            Err(e) => {
                tracing::warn!(job = %id, package, error = %e, "sync failed");
                match e {
                    SyncError::Refused(_) => JobOutcome::Refused,
                    SyncError::Failed(_) => JobOutcome::Failed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_outcomes_are_kept() {
        let mut records = Records::default();
        let ids: Vec<Uuid> = (0..KEPT_OUTCOMES + 2).map(|_| Uuid::new_v4()).collect();
        let waiting = Uuid::new_v4();
        records.set(waiting, JobState::Queued);
        for id in &ids {
            records.set(*id, JobState::Running);
            records.set(*id, JobState::Finished(JobOutcome::Skipped));
        }
        assert!(!records.states.contains_key(&ids[0]));
        assert!(!records.states.contains_key(&ids[1]));
        assert_eq!(
            records.states.get(&ids[2]),
            Some(&JobState::Finished(JobOutcome::Skipped))
        );
        // A job still waiting is never forgotten.
        assert_eq!(records.states.get(&waiting), Some(&JobState::Queued));
    }
}
