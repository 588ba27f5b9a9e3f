//! What a connection is doing, for its timeouts: when bytes last moved on its socket, how many
//! requests are in flight, and whether a first request has arrived. [`Activity::expiry`]
//! resolves when the connection has outstayed its welcome.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection is to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No request's headers were complete within the header read timeout of the accept.
    NoRequest,
    /// No request in flight and no bytes moving for the idle timeout.
    Idle,
}

/// One connection's activity.
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    /// Milliseconds from `accepted` to the last time bytes moved or a request ended.
    last: AtomicU64,
    in_flight: AtomicUsize,
    started: AtomicBool,
    ended: Notify,
}

impl Activity {
    /// A connection accepted now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            accepted: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            ended: Notify::new(),
        })
    }

    /// Records that bytes moved (or the connection otherwise did something) now.
    pub fn touch(&self) {
        let millis = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(millis, Ordering::Relaxed);
    }

    /// A request whose headers are complete begins; it is in flight until the guard is dropped
    /// (with the response body).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.started.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(self.clone())
    }

    /// Resolves when the connection has had no request for `header_timeout` since it was
    /// accepted, or has been idle (nothing in flight, no bytes moving) for `idle_timeout`.
    pub async fn expiry(&self, header_timeout: Duration, idle_timeout: Duration) -> Expiry {
        loop {
            let now = Instant::now();
            if !self.started.load(Ordering::Relaxed) {
                let deadline = self.accepted + header_timeout;
                if now >= deadline {
                    return Expiry::NoRequest;
                }
                tokio::time::sleep_until(deadline.min(now + idle_timeout)).await;
                continue;
            }
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.ended.notified().await;
                continue;
            }
            let deadline = self.accepted + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle_timeout;
            if now >= deadline {
                return Expiry::Idle;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.ended.notified() => {}
            }
        }
    }
}

/// A request in flight (see [`Activity::begin`]).
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.ended.notify_one();
    }
}

/// A socket that records in its [`Activity`] each time bytes move.
#[derive(Debug)]
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> TrackedIo<T> {
    /// `inner`, recording into `activity`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_connection_without_a_request_expires_after_the_header_timeout() {
        let activity = Activity::new();
        let start = Instant::now();
        assert_eq!(activity.expiry(SHORT, Duration::from_secs(60)).await, Expiry::NoRequest);
        assert!(start.elapsed() >= SHORT);
    }

    #[tokio::test]
    async fn idle_counts_from_the_end_of_the_last_request_and_not_during_one() {
        let activity = Activity::new();
        let request = activity.begin();
        let waiting = activity.expiry(SHORT, SHORT);
        tokio::pin!(waiting);
        // A request in flight for longer than the idle (and header) timeout is not idle.
        assert!(tokio::time::timeout(SHORT * 3, waiting.as_mut()).await.is_err());
        drop(request);
        let ended = Instant::now();
        assert_eq!(waiting.await, Expiry::Idle);
        assert!(ended.elapsed() >= SHORT);
    }
}
