//! Tokens: API Access (an account lists its access tokens, never their values, and
//! revokes them), resolving a presented access token through the auth cache (every
//! request of the API does), and finding a token by its value for revocation (RFC 7009)
//! and introspection (RFC 7662), where `token_type_hint` only chooses which table is
//! searched first (RFC 7009 §2.1: an unknown or wrong hint extends the search).
//!
//! Revoking revokes the token's whole family — every token descended from the same
//! authorization — and, in API Access, withdraws the account's consent to that client, so
//! that the next authorization asks again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use uuid::Uuid;

use super::Services;
use super::auth_cache::CachedToken;
use crate::domain::PlainSecret;
use crate::domain::tokens::MAX_TOKEN_LEN;
use crate::store::{
    AccessTokenInfo, Client, Page, RefreshTokenInfo, StoreError, StoreResult, Timestamp,
    TokenRecord, User, now,
};

/// How often `lastUsedAt` is written: at most once a minute per token.
const TOUCH_INTERVAL: i64 = 60;

/// The `lastUsedAt` writes still running in the background ([`Tokens::record_use`]), so
/// that they can be awaited ([`Tokens::uses_recorded`]) rather than guessed at.
#[derive(Default)]
pub(super) struct PendingUses {
    running: AtomicUsize,
    none_running: Notify,
}

/// One running write, counted until dropped (also when its task panics).
struct RunningUse(Arc<PendingUses>);

impl RunningUse {
    fn start(pending: &Arc<PendingUses>) -> RunningUse {
        pending.running.fetch_add(1, Ordering::AcqRel);
        RunningUse(Arc::clone(pending))
    }
}

impl Drop for RunningUse {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_running.notify_waiters();
        }
    }
}

/// Why an API Access operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No such token of this account (another account's is not told apart).
    #[error("token {0} not found")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token found by its value.
#[derive(Debug, Clone)]
pub enum FoundToken {
    /// An access token (with its user).
    Access(AccessTokenInfo),
    /// A refresh token, with its user when it has one.
    Refresh(RefreshTokenInfo, Option<User>),
}

impl FoundToken {
    /// The client it was issued to.
    pub fn client_id(&self) -> &str {
        match self {
            FoundToken::Access(t) => &t.client_id,
            FoundToken::Refresh(t, _) => &t.client_id,
        }
    }

    /// The family it belongs to.
    pub fn family_id(&self) -> Uuid {
        match self {
            FoundToken::Access(t) => t.family_id,
            FoundToken::Refresh(t, _) => t.family_id,
        }
    }

    /// Usable now: not revoked, not expired, not used (refresh), its user not disabled.
    pub fn is_active(&self, now: Timestamp) -> bool {
        match self {
            FoundToken::Access(t) => t.is_active(now),
            FoundToken::Refresh(t, user) => {
                t.revoked_at.is_none()
                    && t.used_at.is_none()
                    && t.expires_at > now
                    && user.as_ref().is_none_or(|u| !u.disabled)
                    && (t.user_id.is_none() || user.is_some())
            }
        }
    }
}

/// The tokens service.
pub struct Tokens<'a>(pub(super) &'a Services);

impl Tokens<'_> {
    /// A page of `user`'s access tokens, newest first, and their total count.
    pub async fn list(
        &self,
        user: &User,
        page: Page,
    ) -> Result<(Vec<TokenRecord>, u64), TokenError> {
        Ok(self.0.store().list_user_tokens(user.id, page).await?)
    }

    /// Every access token of `user`, newest first.
    pub async fn list_all(&self, user: &User) -> Result<Vec<TokenRecord>, TokenError> {
        const SIZE: u32 = 100;
        let mut all = Vec::new();
        let mut page = Page {
            number: 1,
            size: SIZE,
        };
        loop {
            let (records, total) = self.list(user, page).await?;
            let done = records.is_empty() || u64::from(page.number) * u64::from(SIZE) >= total;
            all.extend(records);
            if done {
                return Ok(all);
            }
            page.number += 1;
        }
    }

    /// Revokes `user`'s token `id` with its whole family and withdraws the consent to its
    /// client. [`TokenError::NotFound`] for an unknown or malformed id and for another
    /// account's token.
    pub async fn revoke(&self, user: &User, id: &str) -> Result<(), TokenError> {
        let record = self.record(id).await?;
        if record.user_id != Some(user.id) {
            return Err(TokenError::NotFound(id.to_owned()));
        }
        let store = self.0.store();
        store.revoke_family(record.family_id, now()).await?;
        store
            .delete_consents(user.id, Some(&record.client_id))
            .await?;
        Ok(())
    }

    /// Revokes every token of `user` and withdraws every consent it gave.
    pub async fn revoke_all(&self, user: &User) -> Result<(), TokenError> {
        let store = self.0.store();
        store.revoke_user_tokens(user.id, now()).await?;
        store.delete_consents(user.id, None).await?;
        Ok(())
    }

    /// Revokes the token `id` of any account with its whole family (the command line);
    /// answers the token's id.
    pub async fn revoke_any(&self, id: &str) -> Result<Uuid, TokenError> {
        let record = self.record(id).await?;
        self.0
            .store()
            .revoke_family(record.family_id, now())
            .await?;
        Ok(record.id)
    }

    async fn record(&self, id: &str) -> Result<TokenRecord, TokenError> {
        let not_found = || TokenError::NotFound(id.to_owned());
        let token_id = Uuid::parse_str(id).map_err(|_| not_found())?;
        match self.0.store().token_record(token_id).await {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// Looks a presented access token up (through the auth cache, found or not); `None`
    /// when it cannot be ours.
    pub async fn resolve(&self, token: &str) -> StoreResult<Option<Arc<CachedToken>>> {
        if token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let digest = PlainSecret::new(token).digest();
        Ok(Some(
            self.0
                .cache()
                .token(self.0.store().as_ref(), &digest)
                .await?,
        ))
    }

    /// The presented access token, if it is active now.
    pub async fn active(&self, token: &str) -> StoreResult<Option<Arc<AccessTokenInfo>>> {
        let entry = self.resolve(token).await?;
        Ok(entry
            .and_then(|e| e.info.clone())
            .filter(|i| i.is_active(now())))
    }

    /// Records that the token of `entry` authenticated a request at `now`: at most once a
    /// minute per token and node, written in the background (a request never waits for
    /// it, and a failure is only logged; [`Tokens::uses_recorded`] awaits it).
    pub fn record_use(&self, entry: &CachedToken, now: Timestamp) {
        let Some(info) = &entry.info else { return };
        if !entry.claim_touch(now, TOUCH_INTERVAL) {
            return;
        }
        let store = self.0.store().clone();
        let id = info.id;
        let running = RunningUse::start(self.0.pending_uses());
        tokio::spawn(async move {
            let _running = running;
            if let Err(e) = store.touch_access_token(id, now).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }

    /// Waits until no `lastUsedAt` write is running: once a request has been answered, the
    /// use it recorded (if any) can then be read back. For tests and tools; requests never
    /// wait for these writes.
    pub async fn uses_recorded(&self) {
        let pending = self.0.pending_uses();
        loop {
            // Registered before the count is read, so that the last write's end is not missed.
            let ended = pending.none_running.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if pending.running.load(Ordering::Acquire) == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Finds a token by its value in both tables, the hinted one first.
    pub async fn find(
        &self,
        token: &PlainSecret,
        hint: Option<&str>,
    ) -> StoreResult<Option<FoundToken>> {
        if token.expose().len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let store = self.0.store();
        let digest = token.digest();
        let refresh_first = hint == Some("refresh_token");
        for refresh in [refresh_first, !refresh_first] {
            if refresh {
                if let Some(t) = store.refresh_token(&digest).await? {
                    let user = match t.user_id {
                        Some(id) => match store.user_by_id(id).await {
                            Ok(u) => Some(u),
                            Err(StoreError::NotFound) => None,
                            Err(e) => return Err(e),
                        },
                        None => None,
                    };
                    return Ok(Some(FoundToken::Refresh(t, user)));
                }
            } else if let Some(t) = store.access_token(&digest).await? {
                return Ok(Some(FoundToken::Access(t)));
            }
        }
        Ok(None)
    }

    /// RFC 7009: `client` revokes one of its own tokens, with its whole family. A token
    /// that is unknown or another client's is left alone, and the caller cannot tell.
    pub async fn revoke_presented(
        &self,
        client: &Client,
        token: &PlainSecret,
        hint: Option<&str>,
    ) -> StoreResult<()> {
        if let Some(found) = self.find(token, hint).await?
            && found.client_id() == client.id
        {
            self.0
                .store()
                .revoke_family(found.family_id(), now())
                .await?;
        }
        Ok(())
    }

    /// RFC 7662: what one of `client`'s own tokens stands for, if it is active now;
    /// `None` for anything the client may not know about (unknown, expired, revoked, a
    /// disabled user's, another client's).
    pub async fn introspect(
        &self,
        client: &Client,
        token: &PlainSecret,
        hint: Option<&str>,
    ) -> StoreResult<Option<FoundToken>> {
        let now = now();
        Ok(self
            .find(token, hint)
            .await?
            .filter(|found| found.client_id() == client.id && found.is_active(now)))
    }
}
