//! The workers' side of the queue: apalis' own fetch loop ([`Persisted`]: register, heartbeat,
//! fetch a batch, lock, acknowledge) over apalis' own queries for each database, woken by
//! [`super::wake`] instead of a timer.
//!
//! What differs from apalis' storages is only when the loop turns:
//! * Each fetch records the queue's generation at its start ([`Started`]); after a fetch came
//!   back empty, the worker fetches again at once if the generation has moved since (a job
//!   committed while the fetch was under way), and otherwise waits to be woken: by a raise, by
//!   the fallback poll (the only timer left, `LETHE_QUEUE_POLL_MS`), or by apalis' heartbeat.
//! * A finished job's acknowledgement (its row's `Done`) is written as soon as the loop is free
//!   to write it ([`NoteFinished`]). apalis writes it only when it is polled while idle; a job
//!   that finished during a fetch left its row `Running` until something else woke the worker,
//!   and whoever waited for that row (`queue::claim`) waited with it.
//!
//! The jobs, their rows and their states are apalis' own, so everything else (locks, retries,
//! orphan recovery, `queue::claim`) is unchanged.

mod postgres;
mod sqlite;

pub use postgres::PostgresFetch;
pub use sqlite::SqliteFetch;

use std::collections::HashSet;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{Backend, Task, TaskId, TaskResult, WorkerContext};
use apalis_core::backend::finalize::Durable;
use apalis_core::backend::persistence::{Persisted, Persistence, State, TaskEvent, TaskPersistLayer};
use apalis_core::backend::{BackendConfig, WireFormatBackend};
use apalis_sqlite::JsonCodec;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tower::layer::util::Stack;
use tower::{Layer, Service};

use super::wake::{Slot, Wake};

/// The generation a queue's latest fetch started at, shared by the fetch and its worker.
#[derive(Debug, Clone)]
pub struct Started {
    slot: Arc<Slot>,
    at: Arc<AtomicU64>,
}

impl Started {
    fn new(slot: Arc<Slot>) -> Self {
        Self { slot, at: Arc::new(AtomicU64::new(0)) }
    }

    /// Called as a fetch starts, before its query: any raise after this is a reason to fetch
    /// again.
    pub(crate) fn now(&self) {
        self.at.store(self.slot.generation(), Ordering::SeqCst);
    }

    /// Whether a job may have become due since the latest fetch started.
    fn stale(&self) -> bool {
        self.slot.generation() > self.at.load(Ordering::SeqCst)
    }
}

/// The jobs to lock and the results to acknowledge among a worker's `events`, as apalis'
/// storages read them; with `skip_acked`, a job acknowledged in the same batch is not locked
/// (apalis-postgres), without it every lock stays (apalis-sqlite locks before it acknowledges).
fn split_events(events: &[TaskEvent<Value>], skip_acked: bool) -> (Vec<String>, Vec<&TaskResult<Value>>) {
    let acks: Vec<&TaskResult<Value>> =
        events.iter().filter_map(|e| if let TaskEvent::Complete(r) = e { Some(r) } else { None }).collect();
    let acked: HashSet<String> = acks.iter().map(|r| r.task_id().to_string()).collect();
    let locks = events
        .iter()
        .filter_map(|e| if let TaskEvent::Lock { task_id } = e { Some(task_id.to_string()) } else { None })
        .filter(|id| !(skip_acked && acked.contains(id)))
        .collect();
    (locks, acks)
}

/// A database's persistence for [`WokenStorage`]: apalis' queries, plus its settings.
pub trait Fetch:
    Persistence<Compact = Vec<u8>, Response = Value, Error: Send + Sync + 'static> + Clone + Send + Sync + 'static
{
    /// apalis' configuration type for this database.
    type Config;
    /// The database's connection pool.
    type Pool;
    /// The persistence of the queue `config` names in `pool`, its fetches recorded in `started`.
    fn open(pool: &Self::Pool, config: Self::Config, started: Started) -> Self;
    /// The queue `config` names.
    fn queue(config: &Self::Config) -> &str;
    /// The configuration.
    fn config(&self) -> &Self::Config;
    /// How often the worker proves it is alive.
    fn heartbeat_interval(&self) -> Duration;
    /// How many jobs one fetch takes at most.
    fn batch_size(&self) -> usize;
    /// Puts back every job of this queue that `worker` fetched but never started (`Queued` and
    /// locked to it), so another worker takes it at once instead of after the orphan timeout;
    /// returns how many. Called only when the worker has stopped: nothing of it runs any more.
    fn release_fetched(&self, worker: &str) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}

/// Notes that a job finished: apalis has queued its acknowledgement, which the worker's loop
/// writes the next time it is polled while idle.
#[derive(Debug, Clone, Default)]
pub struct NoteFinished(Arc<AtomicBool>);

impl<S> Layer<S> for NoteFinished {
    type Service = NoteFinishedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NoteFinishedService { inner, finished: self.0.clone() }
    }
}

/// The service of [`NoteFinished`], around apalis' own persisting service.
#[derive(Debug, Clone)]
pub struct NoteFinishedService<S> {
    inner: S,
    finished: Arc<AtomicBool>,
}

impl<S: Service<Req>, Req> Service<Req> for NoteFinishedService<S>
where
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, task: Req) -> Self::Future {
        let (job, finished) = (self.inner.call(task), self.finished.clone());
        async move {
            let outcome = job.await;
            finished.store(true, Ordering::SeqCst);
            outcome
        }
        .boxed()
    }
}

/// A queue's backend for one worker: apalis' fetch loop over `P`, fetching when woken.
pub struct WokenStorage<P: Fetch, Args> {
    persisted: Persisted<P>,
    /// Set once apalis' own close is done: putting back what the worker fetched and never ran.
    releasing: Option<BoxFuture<'static, Result<u64, P::Error>>>,
    /// The close is over (a completed `releasing` must not be polled again).
    closed: bool,
    fetch: P,
    started: Started,
    finished: Arc<AtomicBool>,
    fallback: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    codec: JsonCodec<Vec<u8>>,
    _args: PhantomData<fn() -> Args>,
}

impl<P: Fetch, Args> WokenStorage<P, Args> {
    /// The backend of the queue `config` names in `pool`, woken through `wake` (on PostgreSQL
    /// also by the process's listener), polling at least every `fallback`.
    pub fn open(pool: &P::Pool, config: P::Config, wake: &Wake, fallback: Duration) -> Self {
        let started = Started::new(wake.slot(P::queue(&config)));
        let fetch = P::open(pool, config, started.clone());
        Self {
            persisted: Persisted::new(fetch.clone()),
            releasing: None,
            closed: false,
            fetch,
            started,
            finished: Arc::default(),
            fallback,
            timer: Box::pin(tokio::time::sleep(fallback)),
            codec: JsonCodec::default(),
            _args: PhantomData,
        }
    }

    /// Raises the queue when the fallback poll is due (and re-arms it, registered with `cx`).
    fn poll_fallback(&mut self, cx: &mut Context<'_>) {
        while self.timer.as_mut().poll(cx).is_ready() {
            let next = tokio::time::Instant::now() + self.fallback;
            self.timer.as_mut().reset(next);
            self.started.slot.raise();
        }
    }
}

impl<P: Fetch, Args> Backend for WokenStorage<P, Args> {
    type Task = Task<Vec<u8>>;
    type Error = P::Error;

    fn poll_ready(&mut self, cx: &mut Context<'_>, worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        let heartbeat = self.fetch.heartbeat_interval();
        if matches!(self.persisted.state(), State::Ready) {
            // Idle: this call writes every acknowledgement queued so far.
            self.finished.store(false, Ordering::SeqCst);
        }
        self.persisted.poll_ready(cx, worker, heartbeat)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        self.started.slot.register(cx.waker());
        self.poll_fallback(cx);
        let next = self.persisted.poll_next(cx, worker);
        // An empty fetch leaves the loop `Ready` and waiting: fetch again now if a job may have
        // been committed after that fetch started.
        if next.is_pending() && matches!(self.persisted.state(), State::Ready) {
            if self.started.stale() {
                return self.persisted.poll_next(cx, worker);
            }
            if self.finished.load(Ordering::SeqCst) {
                // A job finished while the loop was busy fetching: be polled again, idle, so
                // its acknowledgement is written now.
                cx.waker().wake_by_ref();
            }
        }
        next
    }

    /// apalis' close (its buffered jobs put back, acknowledgements written), then
    /// [`Fetch::release_fetched`]: a fetch under way when the worker stopped, or a job taken from
    /// the buffer but not started, left jobs locked to this stopped worker, which apalis would
    /// only put back once the worker's heartbeat had lapsed (seconds of a request waiting after
    /// every restart).
    fn poll_close(&mut self, cx: &mut Context<'_>, worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        if self.releasing.is_none() {
            // Put back also when apalis' close failed (its own put-back refused, say): its
            // error is returned once this is done.
            let closed = std::task::ready!(self.persisted.poll_close(cx, worker));
            let (fetch, name) = (self.fetch.clone(), worker.name().to_owned());
            self.releasing = Some(async move { closed.and(fetch.release_fetched(&name).await) }.boxed());
        }
        let released = std::task::ready!(self.releasing.as_mut().map_or(Poll::Ready(Ok(0)), |f| f.as_mut().poll(cx)));
        self.closed = true;
        let released = released?;
        if released > 0 {
            tracing::info!(worker = %worker.name(), released, "jobs fetched but not started put back in the queue");
        }
        Poll::Ready(Ok(()))
    }
}

impl<P: Fetch, Args> BackendConfig for WokenStorage<P, Args> {
    type Args = Args;
    type Id = TaskId;
    type Kind = Durable;
    type Config = P::Config;
    type Layer = Stack<TaskPersistLayer<JsonCodec<Value>, Value>, NoteFinished>;

    fn config(&self) -> &Self::Config {
        self.fetch.config()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        // As apalis' storages: results persisted, fetched jobs locked to their worker; around
        // them, the note that a job finished.
        let persist =
            self.persisted.layer(JsonCodec::default(), self.fetch.batch_size()).persist_results(true).lock_tasks(true);
        Stack::new(persist, NoteFinished(self.finished.clone()))
    }
}

impl<P: Fetch, Args> WireFormatBackend for WokenStorage<P, Args> {
    type Codec = JsonCodec<Vec<u8>>;
    type Compact = Vec<u8>;

    fn codec(&self) -> &Self::Codec {
        &self.codec
    }
}
