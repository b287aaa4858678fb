//! The seeded server on a real `127.0.0.1:0` listener, for tests of clients.

use axum::extract::Request;
use axum::middleware::{self, Next};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use xbak_server::{app, ListenerLimits, ServerConfig};

use crate::seed::{Seeded, Setup};

/// A [`Seeded`] world (reachable through `Deref`) served over HTTP until dropped.
pub struct Server {
    pub seeded: Seeded,
    /// `http://127.0.0.1:PORT`: the API endpoint and the base of download links.
    pub url: String,
    /// `Range` header of every download request, in order ("" when absent).
    pub download_ranges: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Deref for Server {
    type Target = Seeded;

    fn deref(&self) -> &Seeded {
        &self.seeded
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(setup: Setup) -> Server {
        Server::start_with(setup, ServerConfig::default(), ListenerLimits::default()).await
    }

    /// The seeded server with `config` and `limits`, on the listener `xbak serve` uses.
    pub async fn start_with(setup: Setup, config: ServerConfig, limits: ListenerLimits) -> Server {
        let seeded = Seeded::new(&setup).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let host_id = config.host_id.clone();
        let state = seeded.app_state_with(&url, config).await;
        let download_ranges = Arc::new(Mutex::new(Vec::new()));
        let ranges = download_ranges.clone();
        let router = app(state).layer(middleware::from_fn(move |req: Request, next: Next| {
            let ranges = ranges.clone();
            async move {
                if req.uri().path().starts_with("/download/") {
                    let range = req
                        .headers()
                        .get("range")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    ranges.lock().unwrap().push(range);
                }
                next.run(req).await
            }
        }));
        let task = tokio::spawn(xbak_server::listen::serve(
            listener,
            router,
            limits,
            host_id,
            std::future::pending(),
        ));
        Server {
            seeded,
            url,
            download_ranges,
            task,
        }
    }
}
