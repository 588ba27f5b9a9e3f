//! The per-connection service hyper calls: the router, with the peer's address in the
//! request's extensions, the body read timeout on the request body, and the request counted
//! as in flight until its response body has been sent.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Response, header};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tower::ServiceExt;

use super::body_timeout::TimedBody;
use super::idle::{Activity, InFlight};

/// Serves one connection's requests with the application.
#[derive(Clone)]
pub struct ConnectionService {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl ConnectionService {
    /// `app` for the connection from `peer`, recording into `activity`.
    pub fn new(app: Router, peer: SocketAddr, activity: Arc<Activity>, body_timeout: Duration) -> Self {
        Self { app, peer, activity, body_timeout }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let timed_out = Arc::new(AtomicBool::new(false));
        let deadline = tokio::time::Instant::now() + self.body_timeout;
        let mut request = request.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(TimedBody::new(body, deadline, timed_out.clone()))
            }
        });
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let answer = self.app.clone().oneshot(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if timed_out.load(Ordering::Relaxed) {
                // The rest of a late body is not read: the connection cannot carry another request.
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| Body::new(Counted { body, _in_flight: in_flight })))
        })
    }
}

/// A response body that keeps its request counted as in flight until it is dropped.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
