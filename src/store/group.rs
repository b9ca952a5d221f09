//! Group commit of token writes, shared by both engines: a task takes every token write
//! waiting at that moment (issuance, refresh exchanges) and applies them in one
//! transaction, so that a burst of token requests costs one commit — one fsync — rather
//! than one each. Each caller is answered only after the commit, so an answered token is
//! stored. If a group fails, each of its writes is retried alone, so that one bad write
//! cannot fail the others.
//!
//! The engines differ only in how a group reaches the database ([`ApplyGroup`]); the
//! decisions of a group's refresh exchanges are taken here, in order, against the stored
//! tokens the engine read inside its transaction ([`plan`]).

use std::borrow::Cow;
use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    Exchange, ExchangeOutcome, NewTokens, RefreshDecision, RefreshTokenInfo, StoreError,
    StoreResult, Timestamp, TokenWrite,
};

/// A token write waiting for its group, and where to answer.
pub(super) type TokenJob = (TokenWrite, oneshot::Sender<StoreResult<Option<Exchange>>>);

/// Most writes grouped into one transaction.
pub(super) const MAX_GROUP: usize = 256;

/// Times at most that the grouping task yields to the runtime before a group is applied,
/// taking the writes submitted meanwhile; it stops at the first round that brings none.
const GATHER_ROUNDS: usize = 4;

/// Groups applied one after another before the grouping task lets go of what the engine
/// holds between groups ([`ApplyGroup::idle`]), even while writes keep coming: the other
/// writes of a one-connection writer (SQLite's) then wait for this many groups at most.
const HOLD_FOR_GROUPS: usize = 8;

/// How an engine applies a group of token writes in one transaction, answering one
/// `Option<Exchange>` per write, in order (`None` for an issuance).
#[async_trait]
pub(super) trait ApplyGroup: Send + Sync + 'static {
    async fn apply(&mut self, writes: &[&TokenWrite]) -> StoreResult<Vec<Option<Exchange>>>;

    /// No group is waiting, or [`HOLD_FOR_GROUPS`] groups went by: give back whatever
    /// `apply` kept for the next group (SQLite's writer connection).
    async fn idle(&mut self) {}
}

/// The queue of a grouping task: what an engine's `write_tokens` sends to.
pub(super) struct TokenWriter {
    jobs: mpsc::Sender<TokenJob>,
}

impl TokenWriter {
    /// Starts the grouping task over `engine`; it ends when the writer is dropped.
    pub(super) fn spawn(engine: impl ApplyGroup) -> TokenWriter {
        let (jobs, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(group_token_writes(engine, queue));
        TokenWriter { jobs }
    }

    /// Hands the write to the grouping task and waits for its group's commit.
    pub(super) async fn write(&self, write: TokenWrite) -> StoreResult<Option<Exchange>> {
        let (answer, answered) = oneshot::channel();
        let gone = || StoreError::Other(anyhow::anyhow!("the token writer stopped"));
        self.jobs.send((write, answer)).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// The grouping task: waits for a write, takes every other one already waiting (up to
/// [`MAX_GROUP`]), applies them in one transaction and answers each. If the group fails,
/// each write is retried alone, so that one bad write cannot fail the others.
async fn group_token_writes(mut engine: impl ApplyGroup, mut jobs: mpsc::Receiver<TokenJob>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut held_for = 0;
    loop {
        if jobs.is_empty() || held_for == HOLD_FOR_GROUPS {
            engine.idle().await;
            held_for = 0;
        }
        if jobs.recv_many(&mut group, MAX_GROUP).await == 0 {
            break;
        }
        held_for += 1;
        // Let the requests that are ready to run submit their writes first, and again
        // while each round brings more: on a busy server this makes the groups (and so
        // the commits, whose WAL pages are shared by every write in them) fewer.
        for _ in 0..GATHER_ROUNDS {
            let before = group.len();
            if before >= MAX_GROUP {
                break;
            }
            tokio::task::yield_now().await;
            while group.len() < MAX_GROUP
                && let Ok(job) = jobs.try_recv()
            {
                group.push(job);
            }
            if group.len() == before {
                break;
            }
        }
        let writes: Vec<&TokenWrite> = group.iter().map(|(w, _)| w).collect();
        match engine.apply(&writes).await {
            Ok(done) => {
                for ((_, answer), exchange) in group.drain(..).zip(done) {
                    let _ = answer.send(Ok(exchange));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, size = group.len(), "a token write group failed; each write retried alone");
                for (write, answer) in group.drain(..) {
                    let alone = engine.apply(&[&write]).await;
                    let _ = answer.send(alone.map(|mut done| done.pop().flatten()));
                }
            }
        }
    }
}

/// The rows a group writes, once its exchanges are decided.
#[derive(Default)]
pub(super) struct GroupPlan<'w> {
    /// Tokens to insert: issued, or the replacements of rotations.
    pub issued: Vec<Cow<'w, NewTokens>>,
    /// (refresh token id, when) retired by a rotation.
    pub used: Vec<(Uuid, Timestamp)>,
    /// (refresh token id, its count of uses within the grace window), one per token: the
    /// group's last count.
    pub grace: Vec<(Uuid, i64)>,
    /// (family id, when) revoked after a replay; applied after the inserts, so that a
    /// revoked family also loses what this group issued in it.
    pub revoked: Vec<(Uuid, Timestamp)>,
    /// One answer per write, in order.
    pub done: Vec<Option<Exchange>>,
}

/// Decides a group's writes in order. `stored` holds the presented refresh tokens as read
/// inside the group's transaction, keyed by digest; each decision updates it, so that two
/// exchanges of one token in one group see each other, exactly as if they had been
/// applied one by one.
pub(super) fn plan<'w>(
    writes: &[&'w TokenWrite],
    mut stored: HashMap<Vec<u8>, RefreshTokenInfo>,
) -> GroupPlan<'w> {
    let mut plan = GroupPlan {
        done: Vec::with_capacity(writes.len()),
        ..GroupPlan::default()
    };
    for write in writes {
        let (digest, at, decide) = match write {
            TokenWrite::Insert(tokens) => {
                plan.issued.push(Cow::Borrowed(tokens));
                plan.done.push(None);
                continue;
            }
            TokenWrite::Exchange { digest, at, decide } => (digest, *at, decide),
        };
        let found = stored.get(digest.as_bytes()).cloned();
        let outcome = match (&found, decide(found.as_ref())) {
            (Some(old), RefreshDecision::Rotate(new)) => {
                if let Some(t) = stored.get_mut(digest.as_bytes()) {
                    t.used_at = Some(at);
                }
                plan.used.push((old.id, at));
                plan.issued.push(Cow::Owned(*new));
                ExchangeOutcome::Rotated
            }
            (Some(old), RefreshDecision::RotateAgain(new)) => {
                // Decided on the token as this transaction read (and locked) it, so the
                // count cannot move under it.
                let uses = old.grace_uses + 1;
                if let Some(t) = stored.get_mut(digest.as_bytes()) {
                    t.grace_uses = uses;
                }
                plan.grace.retain(|(id, _)| *id != old.id);
                plan.grace.push((old.id, uses));
                plan.issued.push(Cow::Owned(*new));
                ExchangeOutcome::Rotated
            }
            (Some(old), RefreshDecision::RevokeFamily) => {
                for t in stored.values_mut() {
                    if t.family_id == old.family_id && t.revoked_at.is_none() {
                        t.revoked_at = Some(at);
                    }
                }
                plan.revoked.push((old.family_id, at));
                ExchangeOutcome::FamilyRevoked
            }
            _ => ExchangeOutcome::Refused,
        };
        plan.done.push(Some(Exchange { found, outcome }));
    }
    plan
}

/// The digests of the refresh tokens a group presents (empty when it only issues).
pub(super) fn presented<'w>(writes: &[&'w TokenWrite]) -> Vec<&'w [u8]> {
    writes
        .iter()
        .filter_map(|w| match w {
            TokenWrite::Exchange { digest, .. } => Some(digest.as_bytes()),
            TokenWrite::Insert(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::domain::{GrantType, PlainSecret, ScopeSet};

    fn issuance() -> TokenWrite {
        TokenWrite::Insert(NewTokens {
            access_id: Uuid::now_v7(),
            access_digest: PlainSecret::generate_token("hat_").digest(),
            family_id: Uuid::now_v7(),
            client_id: "c1".into(),
            user_id: None,
            grant_type: GrantType::ClientCredentials,
            scope: ScopeSet::default(),
            created_at: 100,
            expires_at: 10_000_000_000,
            refresh: None,
            jkt: None,
        })
    }

    /// Records what the grouping task asks of it; each of its first `more` groups queues
    /// one more write before it returns, so that a write is always waiting. It holds the
    /// last sender of the queue, and drops it with its last write.
    struct Recorder {
        log: Arc<Mutex<String>>,
        jobs: Option<mpsc::Sender<TokenJob>>,
        more: usize,
    }

    #[async_trait]
    impl ApplyGroup for Recorder {
        async fn apply(&mut self, writes: &[&TokenWrite]) -> StoreResult<Vec<Option<Exchange>>> {
            self.log.lock().unwrap().push('A');
            if let Some(jobs) = &self.jobs {
                let (answer, _) = oneshot::channel();
                jobs.try_send((issuance(), answer)).unwrap();
                self.more -= 1;
                if self.more == 0 {
                    self.jobs = None;
                }
            }
            Ok(writes.iter().map(|_| None).collect())
        }

        async fn idle(&mut self) {
            self.log.lock().unwrap().push('I');
        }
    }

    /// While writes keep coming, what the engine holds is kept from group to group, but
    /// given back every [`HOLD_FOR_GROUPS`] groups (SQLite's other writes wait for it); and
    /// given back as soon as no write is waiting.
    #[tokio::test]
    async fn the_engine_is_let_go_when_idle_and_every_few_groups() {
        let log = Arc::new(Mutex::new(String::new()));
        let (jobs, queue) = mpsc::channel(4);
        let (answer, answered) = oneshot::channel();
        jobs.try_send((issuance(), answer)).unwrap();
        let recorder = Recorder {
            log: log.clone(),
            jobs: Some(jobs),
            more: 2 * HOLD_FOR_GROUPS + 2,
        };
        let task = tokio::spawn(group_token_writes(recorder, queue));
        answered.await.unwrap().unwrap();
        // Once the recorder has dropped the last sender, the task ends with the queue.
        task.await.unwrap();
        // The first write was waiting when the task began, and one more was after each
        // group but the last: 19 groups.
        let held = "A".repeat(HOLD_FOR_GROUPS);
        assert_eq!(*log.lock().unwrap(), format!("{held}I{held}IAAAI"));
    }
}
