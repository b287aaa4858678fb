//! `serve`'s metrics listener: `/metrics` on its own address (loopback by default), never on the
//! API's port, optionally behind a bearer token read from a file or the environment (never
//! from the command line, where other local users can read it).

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use xbak_server::{metrics_app, AppState, MetricsToken};

/// The environment variable holding the metrics bearer token.
pub const TOKEN_ENV: &str = "XBAK_METRICS_TOKEN";

/// `serve`'s metrics flags.
#[derive(clap::Args)]
pub struct MetricsArgs {
    /// Address of the Prometheus `/metrics` listener (the API's port does not serve them).
    #[arg(long, default_value = "127.0.0.1:9471")]
    metrics_listen: SocketAddr,
    /// Serve no metrics at all.
    #[arg(long, conflicts_with_all = ["metrics_listen", "metrics_token_file"])]
    no_metrics: bool,
    /// File holding a bearer token that scrapes must send (`Authorization: Bearer TOKEN`).
    /// Also read from the XBAK_METRICS_TOKEN environment variable.
    #[arg(long, value_name = "PATH")]
    metrics_token_file: Option<PathBuf>,
}

/// The bound metrics listener and its token.
pub struct MetricsListener {
    listener: tokio::net::TcpListener,
    token: Option<MetricsToken>,
}

impl MetricsArgs {
    /// Reads the token and binds the listener; `None` with `--no-metrics`.
    pub async fn bind(&self) -> anyhow::Result<Option<MetricsListener>> {
        if self.no_metrics {
            return Ok(None);
        }
        let token = self.token()?;
        let listener = tokio::net::TcpListener::bind(self.metrics_listen)
            .await
            .with_context(|| {
                format!(
                    "binding the metrics listener {} (choose another with --metrics-listen, \
                     or --no-metrics)",
                    self.metrics_listen
                )
            })?;
        let addr = listener.local_addr()?;
        if token.is_none() && !addr.ip().is_loopback() {
            warn!(%addr, "metrics listen on a non-loopback address without a bearer token");
        }
        eprintln!("xbak metrics on http://{addr}/metrics");
        Ok(Some(MetricsListener { listener, token }))
    }

    /// The token from `--metrics-token-file`, else from the environment.
    fn token(&self) -> anyhow::Result<Option<MetricsToken>> {
        let text = match &self.metrics_token_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the metrics token file {}", path.display()))?,
            None => std::env::var(TOKEN_ENV).unwrap_or_default(),
        };
        let token = MetricsToken::new(&text);
        anyhow::ensure!(
            token.is_some() || self.metrics_token_file.is_none(),
            "the metrics token file is empty"
        );
        Ok(token)
    }
}

impl MetricsListener {
    /// Serves the metrics until `stop` is cancelled.
    pub fn serve(
        self,
        state: AppState,
        stop: &CancellationToken,
    ) -> JoinHandle<std::io::Result<()>> {
        let server = axum::serve(self.listener, metrics_app(state, self.token))
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        tokio::spawn(async move { server.await })
    }
}
