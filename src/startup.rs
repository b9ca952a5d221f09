//! Builds the application once — store, services, job runner, state, listener — and
//! serves it until a shutdown signal, draining requests in flight for up to the grace
//! period. The background jobs run alongside.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::jobs::sync::SyncRunner;
use crate::metrics::Metrics;
use crate::service::Services;
use crate::service::password::PasswordHasher;
use crate::state::AppState;
use crate::store::{self, Store};
use crate::{cli, http, jobs, pages};

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
        // The first start generates the ID tokens' signing keys; later starts find them.
        services.keys().ensure().await?;
        let metrics = Metrics::new();
        let syncs = SyncRunner::new(
            services.clone(),
            metrics.clone(),
            config.packages.git_sync_queue,
            config.packages.git_concurrent_syncs,
        );
        let state = AppState::new(services, config, public_url, metrics, syncs);
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
        let cleanup = tokio::spawn(jobs::cleanup::run(state.services.clone()));
        let flush_every = Duration::from_millis(state.config.packages.downloads_flush_ms.max(10));
        let downloads = tokio::spawn(jobs::downloads::run(state.services.clone(), flush_every));
        let grace = Duration::from_secs(state.config.shutdown_grace);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(
            http::router(state.clone(), pages::router(), pages::not_found),
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
        downloads.abort();
        // The counts still in memory, once no request adds to them any more.
        jobs::downloads::flush(&state.services).await;
        state.services.maintenance().close().await;
        result
    }
}

/// `harmony serve`: migrates and binds, creates the administrator and its client on a
/// first start (printing their credentials once), then serves until Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig, json_mode: bool) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    if let Some(boot) = state.services.accounts().bootstrap().await? {
        cli::print_first_start(&boot, &state.url("/oauth/v2/token"), json_mode)?;
    }
    tracing::info!(address = %app.local_addr(), url = %state.public_url, "harmony is listening");
    app.run_until(shutdown_signal()).await
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
