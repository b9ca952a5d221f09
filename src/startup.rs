//! Builds the application once — store, hasher, state, listener — and serves it until a
//! shutdown signal, draining requests in flight for up to the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::service::Services;
use crate::service::password::PasswordHasher;
use crate::state::AppState;
use crate::store::{self, Store};
use crate::{http, pages};

/// How often ended tokens are purged.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// Composer document stamps are kept at least this long (seconds): longer than the day
/// new stamps are taken from, so that a forgotten stamp is never given to other content.
const STAMP_RETENTION: i64 = 7 * 24 * 3600;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    local_addr: SocketAddr,
}

impl Application {
    /// Connects to and migrates the configured database, then binds.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Application> {
        let store = store::connect(&config.database).await?;
        store.migrate().await?;
        Self::with_store(config, store).await
    }

    /// Binds an application over an already migrated store.
    pub async fn with_store(
        config: ServeConfig,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let hasher = PasswordHasher::new(&config.hashing)?;
        let services = Services::new(store, hasher, &config);
        let state = AppState::new(services, config, public_url);
        Ok(Application {
            listener,
            state,
            local_addr,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The shared state (store, hasher, configuration).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains for the configured grace period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let cleanup = tokio::spawn(cleanup_loop(state.clone()));
        let grace = Duration::from_secs(state.config.shutdown_grace);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(
            http::router(state.clone(), pages::router()),
        );
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: draining requests in flight");
            let _ = stopping_tx.send(());
        });
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            r = server.into_future() => r.map_err(anyhow::Error::from),
            () = deadline => {
                tracing::warn!("shutdown grace period over; closing the remaining connections");
                Ok(())
            }
        };
        cleanup.abort();
        state.services.store().close().await;
        result
    }
}

/// Deletes tokens that ended more than the retention period ago, expired browser
/// sessions and authorization codes, old webhook deliveries, old Composer document stamps
/// and the counters of ended failed-credentials windows, once an hour.
async fn cleanup_loop(state: AppState) {
    let retention = state.config.oauth.token_retention_days.max(0) * 24 * 3600;
    let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
    loop {
        tick.tick().await;
        match state
            .services
            .store()
            .purge_tokens(store::now() - retention)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "removed ended tokens"),
            Err(e) => tracing::warn!(error = %e, "token cleanup failed"),
        }
        match state.services.store().purge_oauth(store::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "removed expired sessions and codes"),
            Err(e) => tracing::warn!(error = %e, "session and code cleanup failed"),
        }
        if let Err(e) = state
            .services
            .store()
            .purge_deliveries(store::now() - retention)
            .await
        {
            tracing::warn!(error = %e, "webhook delivery cleanup failed");
        }
        let stamps = store::now() - retention.max(STAMP_RETENTION);
        if let Err(e) = state.services.store().purge_document_stamps(stamps).await {
            tracing::warn!(error = %e, "Composer document stamp cleanup failed");
        }
        let window = i64::try_from(state.config.limits.failed_auth_window).unwrap_or(i64::MAX);
        if let Err(e) = state
            .services
            .store()
            .purge_attempts(store::now().saturating_sub(window))
            .await
        {
            tracing::warn!(error = %e, "failed-credentials counter cleanup failed");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
