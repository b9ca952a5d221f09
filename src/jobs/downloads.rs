//! The download counts' flush: every `HARMONY_DOWNLOADS_FLUSH_MS`, the counts gathered in
//! memory from Composer's notifications are written in one transaction (and once more at
//! shutdown, by startup). A failed flush keeps its counts for the next one.

use std::time::Duration;

use crate::service::Services;

/// Flushes every `interval` until cancelled.
pub async fn run(services: Services, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush(&services).await;
    }
}

/// One flush, its failure logged.
pub async fn flush(services: &Services) {
    match services.downloads().flush().await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(installs = n, "download counts written"),
        Err(e) => {
            tracing::warn!(error = %e, "writing the download counts failed; kept for the next flush")
        }
    }
}
