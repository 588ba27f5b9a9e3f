//! Waking a queue's worker the moment one of its jobs becomes due, instead of on a timer.
//!
//! Each queue has a *generation*: a counter raised whenever a job of that queue may have become
//! due — enqueued by this process ([`super::JobQueue`] raises it after the job's commit), announced
//! by PostgreSQL's `NOTIFY` from another process ([`super::listen`]), a delayed job's time come
//! (a timer in the process that enqueued it), or the fallback poll. Raising it wakes the queue's
//! worker.
//!
//! A worker's fetch records the generation it started at ([`super::fetch`]). When the fetch comes
//! back empty and the generation has moved since it started, the worker fetches again at once:
//! a job committed while a fetch was already on its way to the database (and so invisible to
//! it) is fetched right after, never left to the next timer. apalis 1.0 alone lost exactly that
//! wake-up: its poll strategies' signals are consumed during an in-flight fetch, and the job
//! then waited for the worker's next heartbeat (10, 20 or 30 s after the start).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use futures::task::AtomicWaker;

/// Delayed jobs further away than this get no timer: the fallback poll finds them.
const LONGEST_TIMER: Duration = Duration::from_secs(3600);

/// One queue's generation and the waker of the worker that works it in this process.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    generation: AtomicU64,
    waker: AtomicWaker,
}

impl Slot {
    /// Says a job may have become due, and wakes the worker.
    pub(crate) fn raise(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.waker.wake();
    }

    /// How many times the queue was raised so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The waker to wake on the next raise.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }
}

/// The generations of every queue of one engine (shared by its API and its workers).
#[derive(Debug, Clone, Default)]
pub struct Wake {
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

impl Wake {
    /// The slot of `queue`, created on first use.
    pub(crate) fn slot(&self, queue: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(queue.to_owned()).or_default().clone()
    }

    /// A job of `queue` may be due now: wake its worker.
    pub fn signal(&self, queue: &str) {
        self.slot(queue).raise();
    }

    /// A job of `queue` becomes due `after` from now: wake its worker then (when within the
    /// hour and a runtime runs; otherwise the fallback poll finds it).
    pub fn signal_after(&self, queue: &str, after: Duration) {
        if after.is_zero() {
            return self.signal(queue);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if after > LONGEST_TIMER {
            return;
        }
        let slot = self.slot(queue);
        runtime.spawn(async move {
            // A job is due once its whole-second `run_at` has passed: a millisecond's margin
            // keeps the fetch from arriving just before.
            tokio::time::sleep(after + Duration::from_millis(1)).await;
            slot.raise();
        });
    }

    /// Every queue may have due jobs (after the cross-process channel was interrupted).
    pub(crate) fn signal_all(&self) {
        let slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.values().for_each(|slot| slot.raise());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_raises_only_its_own_queue() {
        let wake = Wake::default();
        let (a, b) = (wake.slot("a"), wake.slot("b"));
        wake.signal("a");
        wake.signal("a");
        assert_eq!((a.generation(), b.generation()), (2, 0));
        wake.signal_all();
        assert_eq!((a.generation(), b.generation()), (3, 1));
    }

    #[tokio::test]
    async fn a_delayed_signal_comes_when_the_job_is_due() {
        let wake = Wake::default();
        let slot = wake.slot("q");
        let asked = std::time::Instant::now();
        wake.signal_after("q", Duration::from_millis(50));
        assert_eq!(slot.generation(), 0, "not before its time");
        while slot.generation() == 0 {
            assert!(asked.elapsed() < Duration::from_secs(10), "the delayed signal never came");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(asked.elapsed() >= Duration::from_millis(50));
    }
}
