//! The HTTP server: accepts connections and serves the application on them with hyper,
//! bounding what a slow or silent client can hold.
//!
//! * At most [`ServerSettings::max_connections`] connections are open at once; one more is
//!   answered `503 overloaded` and closed at once ([`limits`]). Accepting goes on at the cap.
//! * A request's headers must be complete within [`ServerSettings::header_read_timeout`]: on
//!   HTTP/1.1 hyper's header read timeout, which runs for the first request from the accept and
//!   for each later one from the end of the previous response; for any protocol, a connection
//!   whose first request has not begun within this time is closed ([`idle`]).
//! * A connection with no request in flight and no bytes moving for
//!   [`ServerSettings::idle_timeout`] is shut down gracefully ([`idle`]).
//! * A request body must have arrived within [`ServerSettings::body_read_timeout`] of the end
//!   of its headers; past it the request is answered `408 request_timeout` and the connection
//!   closed ([`body_timeout`]).
//! * On shutdown, accepting stops, open requests finish and idle connections are closed.

pub mod body_timeout;
pub mod idle;
pub mod limits;
mod service;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, watch};

use self::idle::{Activity, Expiry, TrackedIo};
use self::limits::ConnectionCap;
use self::service::ConnectionService;

/// What a connection may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// Connections open at once; more are answered `503 overloaded`.
    pub max_connections: usize,
    /// Time for a request's headers to arrive.
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive, from the end of its headers.
    pub body_read_timeout: Duration,
    /// Time a connection may sit with no request in flight and no bytes moving.
    pub idle_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// What every connection's task shares.
struct Shared {
    app: Router,
    settings: ServerSettings,
    builder: auto::Builder<TokioExecutor>,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets open
/// requests finish and closes idle connections; returns when every connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true).timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let shared = Arc::new(Shared { app, settings, builder });
    let cap = ConnectionCap::new(settings.max_connections);
    let overloaded: Arc<[u8]> = limits::overloaded_response().into();
    let (stop, stopped) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        match cap.admit() {
            Some(permit) => {
                tokio::spawn(connection(stream, peer, shared.clone(), permit, stopped.clone()));
            }
            None => {
                tracing::debug!("connection refused: at the connection cap");
                let overloaded = overloaded.clone();
                tokio::spawn(async move { limits::refuse(stream, &overloaded).await });
            }
        }
    }
    drop(listener);
    drop(stopped);
    stop.send_replace(());
    stop.closed().await;
    Ok(())
}

/// After a failed accept: a connection that went away before it was accepted is nothing; out
/// of descriptors or memory, wait a moment for connections to close rather than spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        return;
    }
    tracing::error!(error = %error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until it closes, the client is too slow, or the server stops and
/// the connection's open requests have finished. The permit is released with the socket.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<()>,
) {
    let settings = shared.settings;
    let activity = Activity::new();
    let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
    let service = ConnectionService::new(shared.app.clone(), peer, activity.clone(), settings.body_read_timeout);
    let conn = shared.builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !closing => {
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            expiry = activity.expiry(settings.header_read_timeout, settings.idle_timeout) => match expiry {
                Expiry::Idle if !closing => {
                    closing = true;
                    // One more idle period to finish closing before the socket is dropped.
                    activity.touch();
                    conn.as_mut().graceful_shutdown();
                }
                Expiry::Idle | Expiry::NoRequest => {
                    tracing::debug!(?expiry, "connection closed: client too slow");
                    return;
                }
            },
        }
    }
}
