//! The HTTP/1.1 listener: hyper's connection builder with a timer, so every connection has a
//! header deadline (which also bounds an idle keep-alive connection), a cap on open connections
//! (over it, a short `503 ServiceUnavailable` envelope and close), and a graceful shutdown that
//! gives requests in flight a bounded time before closing what is left.
//!
//! The body deadline is the RPC handler's ([`crate::ServerConfig::body_timeout`]): a download
//! streams for as long as the client reads, so no deadline covers a whole request.

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, info, warn};
use xbak_protocol::request_id::new_request_id;
use xbak_protocol::{render, ApiError, Format};

/// Limits of the listener.
#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Most connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from the connection's start or
    /// the previous response: a slow sender or an idle keep-alive connection is closed after it.
    pub header_timeout: Duration,
    /// After shutdown is asked, how long requests in flight may take before their connections
    /// are closed.
    pub shutdown_grace: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Refusals written at once; past that, a connection over the cap is simply closed.
const REFUSING_AT_ONCE: usize = 64;
/// How long a refused connection is drained after its answer, so the client reads it.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets requests
/// in flight finish for at most `limits.shutdown_grace`. `host_id` goes in refusal envelopes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    host_id: String,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let host_id: Arc<str> = host_id.into();
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: let some connections end.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let conn = connection(stream, router.clone(), limits.header_timeout, stopped.clone(), slot);
                        connections.spawn(conn);
                    }
                    Err(_) => match refusing.clone().try_acquire_owned() {
                        Ok(permit) => {
                            tokio::spawn(refuse(stream, refusal_response(&host_id), permit));
                        }
                        Err(_) => debug!("over the connection cap; closed"),
                    },
                }
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            open = connections.len(),
            "shutdown grace elapsed; closing the remaining connections"
        );
        connections.abort_all();
    } else {
        info!("all connections closed");
    }
}

/// One connection, until it ends or shutdown asks it to finish its request in flight.
async fn connection(
    stream: TcpStream,
    router: Router,
    header_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    // A streamed body (a download) leaves in writes after its head's: with Nagle on, each waits
    // for the client's delayed ACK of the one before (~40 ms on Linux) on a keep-alive connection.
    if let Err(e) = stream.set_nodelay(true) {
        debug!(error = %e, "TCP_NODELAY not set");
    }
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                debug!(error = %e, "connection ended");
            }
        }
        _ = async { stopped.wait_for(|s| *s).await.map(|_| ()) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Answers a connection over the cap with `refusal`, then reads what the client still sends
/// for a moment (closing with unread input would reset the connection before the client reads).
async fn refuse(mut stream: TcpStream, refusal: Vec<u8>, _permit: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(&refusal).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// `503 ServiceUnavailable` as a JSON envelope with a fresh RequestId, and `Connection: close`.
fn refusal_response(host_id: &str) -> Vec<u8> {
    let e = ApiError::ServiceUnavailable;
    let request_id = new_request_id();
    let body = render::render_error(&e, &request_id, host_id, Format::Json);
    let mut out = format!(
        "HTTP/1.1 {} Service Unavailable\r\ncontent-type: {}\r\nx-acs-request-id: {request_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        e.http_status(),
        Format::Json.content_type(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}
