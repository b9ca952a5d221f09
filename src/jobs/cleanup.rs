//! The cleanup job: once an hour, the maintenance service purges what has ended (tokens
//! past their retention, expired sessions and codes, old webhook deliveries, old Composer
//! document stamps, changes past the change feed's retention, ended failed-credentials
//! windows) and merges the search index's parts; failures are logged and retried the next
//! hour.

use std::time::Duration;

use crate::service::Services;

/// How often the purge runs.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs the purge every [`CLEANUP_INTERVAL`], the first one at once, until cancelled.
pub async fn run(services: Services) {
    let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
    loop {
        tick.tick().await;
        let purged = services.maintenance().purge().await;
        match purged.tokens {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "removed ended tokens"),
            Err(e) => tracing::warn!(error = %e, "token cleanup failed"),
        }
        match purged.sessions_and_codes {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "removed expired sessions and codes"),
            Err(e) => tracing::warn!(error = %e, "session and code cleanup failed"),
        }
        if let Err(e) = purged.deliveries {
            tracing::warn!(error = %e, "webhook delivery cleanup failed");
        }
        if let Err(e) = purged.document_stamps {
            tracing::warn!(error = %e, "Composer document stamp cleanup failed");
        }
        if let Err(e) = purged.metadata_changes {
            tracing::warn!(error = %e, "metadata change feed cleanup failed");
        }
        if let Err(e) = purged.attempts {
            tracing::warn!(error = %e, "failed-credentials counter cleanup failed");
        }
        match purged.search_index {
            Ok(0) => {}
            Ok(steps) => tracing::info!(steps, "merged the search index"),
            Err(e) => tracing::warn!(error = %e, "search index merge failed"),
        }
    }
}
