//! The body read timeout: a request body must have arrived completely within a fixed time
//! from the end of its headers. A body that is late fails with [`BodyReadTimeout`], which the
//! extractors find in their rejection's source chain ([`is_body_timeout`]) and answer with
//! `408 request_timeout`; the server then closes the connection.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error of a request body that did not arrive within the body read timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout;

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyReadTimeout {}

/// Whether `error`, or an error in its source chain, is a [`BodyReadTimeout`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<BodyReadTimeout>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// A request body that fails with [`BodyReadTimeout`] once `deadline` has passed before its
/// end, and then raises `timed_out` (the server closes the connection after the answer).
pub struct TimedBody<B> {
    inner: B,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl<B> TimedBody<B> {
    /// `inner`, which must end before `deadline`.
    pub fn new(inner: B, deadline: Instant, timed_out: Arc<AtomicBool>) -> Self {
        Self { inner, deadline, sleep: None, timed_out }
    }

    /// Whether the deadline has passed; arms the timer (waking `cx` at the deadline) if not.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.deadline;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        sleep.as_mut().poll(cx).is_ready()
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.timed_out.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(BodyReadTimeout.into())));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if self.expired(cx) => {
                self.timed_out.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(BodyReadTimeout.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::extract::FromRequest;

    use super::*;

    /// A body that never sends anything.
    struct Stalled;

    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_late_body_is_found_in_the_extractors_rejection() {
        let flag = Arc::new(AtomicBool::new(false));
        let body = TimedBody::new(Stalled, Instant::now() + Duration::from_millis(20), flag.clone());
        let request = axum::extract::Request::new(axum::body::Body::new(body));
        let rejection = Bytes::from_request(request, &()).await.unwrap_err();
        assert!(is_body_timeout(&rejection), "{rejection}");
        assert!(flag.load(Ordering::Relaxed));
        let json = axum::extract::rejection::JsonRejection::from(rejection);
        assert!(is_body_timeout(&json));
        assert!(!is_body_timeout(&axum::extract::rejection::JsonRejection::from(
            axum::extract::rejection::MissingJsonContentType::default()
        )));
    }

    #[tokio::test]
    async fn a_body_in_time_is_read() {
        let body = TimedBody::new(
            axum::body::Body::from("hello"),
            Instant::now() + Duration::from_secs(5),
            Arc::new(AtomicBool::new(false)),
        );
        let bytes = axum::body::to_bytes(axum::body::Body::new(body), 100).await.unwrap();
        assert_eq!(&bytes[..], b"hello");
    }
}
