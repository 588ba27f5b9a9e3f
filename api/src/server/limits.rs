//! The cap on open connections: a connection accepted while the cap is reached is answered
//! `503 overloaded` at once and closed, so that it holds its descriptor only for as long as
//! it takes to write a few hundred bytes.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// How long the `503 overloaded` answer may take to write before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The open connections, counted against the cap.
#[derive(Debug, Clone)]
pub struct ConnectionCap(Arc<Semaphore>);

impl ConnectionCap {
    /// A cap of `max` connections open at once.
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    /// A place for one more connection, held until the permit is dropped; `None` at the cap.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }
}

/// The whole HTTP/1.1 answer to a connection over the cap: a problem document like every
/// other, `Retry-After: 1` and `Connection: close`.
pub fn overloaded_response() -> Vec<u8> {
    let problem = ApiError::unavailable(
        "overloaded",
        "the server has as many open connections as it accepts; try again in a moment",
        1,
    )
    .into_problem();
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\
         connection: close\r\ncache-control: no-store\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

/// Answers `stream` with `answer` (bounded by a short write timeout) and closes it. What the
/// client already sent is read and discarded first, so that closing sends a FIN rather than
/// a reset that could destroy the answer before the client reads it.
pub async fn refuse(mut stream: TcpStream, answer: &[u8]) {
    let mut sink = [0u8; 4096];
    while matches!(stream.try_read(&mut sink), Ok(n) if n > 0) {}
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(answer).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_admits_up_to_its_size_and_again_after_a_release() {
        let cap = ConnectionCap::new(2);
        let (a, _b) = (cap.admit().unwrap(), cap.admit().unwrap());
        assert!(cap.admit().is_none());
        drop(a);
        assert!(cap.admit().is_some());
    }

    #[test]
    fn the_overloaded_answer_is_a_complete_problem() {
        let answer = String::from_utf8(overloaded_response()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 ") && head.contains("retry-after: 1"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!((json["code"].as_str(), json["status"].as_u64()), (Some("overloaded"), Some(503)));
    }
}
