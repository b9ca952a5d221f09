//! The queues of the push webhook's git syncs, which the runner ([`super::sync`]) works. Each owner has a queue of its own, worked one
//! sync at a time, so that a slow or unreachable repository delays only its owner's other
//! syncs, never another owner's; at most `HARMONY_GIT_CONCURRENT_SYNCS` syncs run at once
//! in the process, one per owner at most.
//!
//! The queues are bounded and coalesce: a push for an add-on that already waits joins that
//! sync (which will fetch every tag there is when it runs), so an owner's queue holds each
//! add-on at most once, and at most `HARMONY_GIT_SYNC_QUEUE` of them. A push for an add-on
//! whose sync is running queues one more, since the running fetch may have missed the
//! pushed tag. One sync per add-on at a time also holds across owners (an add-on that
//! changes hands mid-sync): each sync holds its add-on's mirror lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// A sync of one add-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id, in the webhook's answer, the log and the runner's record.
    pub id: Uuid,
    /// `vendor/name`.
    pub package: String,
}

/// What [`SyncQueue::submit`] did.
#[derive(Debug)]
pub struct Submitted {
    /// One job per add-on asked for: a new one, or the one already waiting.
    pub jobs: Vec<Job>,
    /// The owner's queue was idle: the caller starts a worker for it.
    pub start_worker: bool,
}

/// The owner's queue has no room for the add-ons asked for; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The queues of every owner.
pub struct SyncQueue {
    /// Waiting jobs by owner; an owner is present while its worker runs.
    queues: Mutex<HashMap<Uuid, VecDeque<Job>>>,
    /// One lock per add-on with a sync running or about to.
    mirrors: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Syncs that may run at once.
    slots: Arc<Semaphore>,
    /// Most add-ons waiting per owner.
    per_owner: usize,
}

impl SyncQueue {
    /// Queues of `per_owner` add-ons each, `concurrent` syncs at once (both at least 1).
    pub fn new(per_owner: usize, concurrent: usize) -> SyncQueue {
        SyncQueue {
            queues: Mutex::default(),
            mirrors: Mutex::default(),
            slots: Arc::new(Semaphore::new(concurrent.max(1))),
            per_owner: per_owner.max(1),
        }
    }

    /// Queues a sync of each of `packages` for `owner`, all of them or none: an add-on
    /// already waiting keeps its place and its job.
    pub fn submit(&self, owner: Uuid, packages: &[String]) -> Result<Submitted, QueueFull> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let start_worker = !queues.contains_key(&owner);
        let queue = queues.entry(owner).or_default();
        let new = packages
            .iter()
            .filter(|p| !queue.iter().any(|j| &j.package == *p))
            .count();
        if queue.len() + new > self.per_owner {
            if queue.is_empty() {
                queues.remove(&owner);
            }
            return Err(QueueFull);
        }
        let jobs = packages
            .iter()
            .map(|p| match queue.iter().find(|j| &j.package == p) {
                Some(waiting) => waiting.clone(),
                None => {
                    let job = Job {
                        id: Uuid::new_v4(),
                        package: p.clone(),
                    };
                    queue.push_back(job.clone());
                    job
                }
            })
            .collect();
        Ok(Submitted { jobs, start_worker })
    }

    /// The owner's next job; `None` ends the owner's worker (atomically with the check, so
    /// that a later [`SyncQueue::submit`] starts a new one).
    pub fn next(&self, owner: Uuid) -> Option<Job> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let job = queues.get_mut(&owner).and_then(VecDeque::pop_front);
        if job.is_none() {
            queues.remove(&owner);
        }
        job
    }

    /// Waits for one of the process's sync slots.
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// Waits until no other sync of `package` runs, and holds that until dropped.
    pub async fn lock_mirror(&self, package: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut mirrors = self.mirrors.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget the locks nobody holds or waits for.
            mirrors.retain(|_, l| Arc::strong_count(l) > 1);
            Arc::clone(mirrors.entry(package.to_owned()).or_default())
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_waiting_sync_absorbs_later_pushes_for_its_add_on() {
        let q = SyncQueue::new(3, 1);
        let owner = Uuid::new_v4();
        let first = q.submit(owner, &names(&["a/x", "a/y"])).unwrap();
        assert!(first.start_worker);
        let again = q.submit(owner, &names(&["a/y", "a/z"])).unwrap();
        assert!(!again.start_worker);
        assert_eq!(again.jobs[0], first.jobs[1]);
        assert_ne!(again.jobs[1].id, first.jobs[0].id);
        // Full: nothing of a push that does not fit is queued.
        assert_eq!(
            q.submit(owner, &names(&["a/w", "a/x"])).unwrap_err(),
            QueueFull
        );
        assert_eq!(
            q.submit(owner, &names(&["a/x"])).unwrap().jobs[0],
            first.jobs[0]
        );
        // Another owner has a queue of its own.
        let other = q.submit(Uuid::new_v4(), &names(&["b/x"])).unwrap();
        assert!(other.start_worker);
        // Running (no longer waiting) syncs are queued again.
        assert_eq!(q.next(owner).unwrap(), first.jobs[0]);
        let after = q.submit(owner, &names(&["a/x"])).unwrap();
        assert_ne!(after.jobs[0].id, first.jobs[0].id);
        let order: Vec<String> = std::iter::from_fn(|| q.next(owner))
            .map(|j| j.package)
            .collect();
        assert_eq!(order, ["a/y", "a/z", "a/x"]);
        // The worker ended with its queue: the next push starts one.
        assert!(q.submit(owner, &names(&["a/x"])).unwrap().start_worker);
    }

    #[test]
    fn a_push_too_big_for_an_idle_queue_leaves_no_worker_behind() {
        let q = SyncQueue::new(1, 1);
        let owner = Uuid::new_v4();
        assert!(q.submit(owner, &names(&["a/x", "a/y"])).is_err());
        assert!(q.submit(owner, &names(&["a/x"])).unwrap().start_worker);
    }

    #[tokio::test]
    async fn one_sync_per_add_on_at_a_time() {
        let q = SyncQueue::new(1, 2);
        let held = q.lock_mirror("a/x").await;
        let other = q.lock_mirror("a/y").await;
        // A zero timeout polls once: taken, or not.
        let now = std::time::Duration::ZERO;
        assert!(
            tokio::time::timeout(now, q.lock_mirror("a/x"))
                .await
                .is_err()
        );
        drop(held);
        drop(other);
        let _again = q.lock_mirror("a/x").await;
        assert_eq!(q.mirrors.lock().unwrap().len(), 1);
    }
}
