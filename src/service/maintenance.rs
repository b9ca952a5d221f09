//! Keeping the database healthy: whether it answers, closing it at shutdown, and purging
//! what has ended — tokens past their retention, expired browser sessions and
//! authorization codes, old webhook deliveries, old Composer document stamps, the changes
//! of the metadata change feed past its retention and the counters of ended
//! failed-credentials windows — and merging the parts of the marketplace search index
//! that publishing leaves behind. The cleanup job runs the purge.

use super::Services;
use super::packages::CHANGE_RETENTION;
use crate::store::{StoreResult, now};

/// Composer document stamps are kept at least this long (seconds): longer than the day
/// new stamps are taken from, so that a forgotten stamp is never given to other content.
const STAMP_RETENTION: i64 = 7 * 24 * 3600;

/// What one purge removed, step by step (a step that failed does not stop the others).
#[derive(Debug)]
pub struct Purged {
    /// Tokens that ended more than the retention period ago.
    pub tokens: StoreResult<u64>,
    /// Expired browser sessions and authorization codes.
    pub sessions_and_codes: StoreResult<u64>,
    /// Webhook deliveries older than the retention period.
    pub deliveries: StoreResult<u64>,
    /// Composer document stamps no longer needed.
    pub document_stamps: StoreResult<u64>,
    /// Counters of ended failed-credentials windows.
    pub attempts: StoreResult<u64>,
    /// Changes of the metadata change feed older than its retention.
    pub metadata_changes: StoreResult<u64>,
    /// Steps that merged parts of the marketplace search index.
    pub search_index: StoreResult<u64>,
}

/// The maintenance service.
pub struct Maintenance<'a>(pub(super) &'a Services);

impl Maintenance<'_> {
    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.0.store().ping().await
    }

    /// Closes the database's connections (graceful shutdown).
    pub async fn close(&self) {
        self.0.store().close().await;
    }

    /// Purges what has ended (see the module's documentation).
    pub async fn purge(&self) -> Purged {
        let store = self.0.store();
        let retention = self.0.oauth().token_retention_days.max(0) * 24 * 3600;
        let window = i64::try_from(self.0.limits().failed_auth_window).unwrap_or(i64::MAX);
        let now = now();
        Purged {
            tokens: store.purge_tokens(now - retention).await,
            sessions_and_codes: store.purge_oauth(now).await,
            deliveries: store.purge_deliveries(now - retention).await,
            document_stamps: store
                .purge_document_stamps(now - retention.max(STAMP_RETENTION))
                .await,
            attempts: store.purge_attempts(now.saturating_sub(window)).await,
            metadata_changes: store
                .purge_metadata_changes((now - CHANGE_RETENTION) * 10_000)
                .await,
            search_index: store.tidy_search_index().await,
        }
    }
}
