//! The bound on password hashing.
//!
//! Each argon2id computation takes 19 MiB and tens of milliseconds of one core, so a flood of
//! sign-ins (from many addresses, each under its rate limit) could otherwise take every core and
//! gigabytes of memory. [`Hashing`] runs at most `concurrency` computations at once (by default
//! one fewer than the machine's cores, at least one) and lets at most `queue` more wait; a
//! request beyond that is answered at once with `503 overloaded` and `Retry-After`, before any
//! work, so the flood costs neither memory nor the answers of other callers. A sign-in takes its
//! place ([`Hashing::reserve`]) before it looks the account up, so a flood's excess does not
//! reach the database either.
//!
//! The 19 MiB work areas are allocated once and reused: allocating a fresh one per computation on
//! whichever blocking thread runs it let the allocator keep each thread's freed areas, and the
//! process never gave that memory back.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

/// How much hashing may run and wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingSettings {
    /// Computations at once (`LETHE_HASHING_CONCURRENCY`).
    pub concurrency: usize,
    /// Computations waiting beyond those (`LETHE_HASHING_QUEUE`).
    pub queue: usize,
}

impl HashingSettings {
    /// One fewer than the machine's cores (at least one), and four waiting per computation.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let concurrency = cores.saturating_sub(1).max(1);
        Self { concurrency, queue: 4 * concurrency }
    }
}

/// A place among the password computations that may run or wait, taken before the rest of a
/// password check's work ([`Hashing::reserve`]) and spent by [`Hashing::verify_reserved`].
pub struct Reservation(OwnedSemaphorePermit);

/// Bounded argon2id hashing with reused work areas. Cheap to clone.
#[derive(Clone)]
pub struct Hashing {
    admission: Arc<Semaphore>,
    running: Arc<Semaphore>,
    running_max: usize,
    areas: Arc<Mutex<Vec<Vec<Block>>>>,
}

/// The parameters new hashes get (OWASP: 19 MiB, 2 passes, 1 lane).
fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hashing {
    /// Hashing bounded by `settings`.
    pub fn new(settings: HashingSettings) -> Self {
        let concurrency = settings.concurrency.max(1);
        Self {
            admission: Arc::new(Semaphore::new(concurrency + settings.queue)),
            running: Arc::new(Semaphore::new(concurrency)),
            running_max: concurrency,
            areas: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Takes a place among the computations that may run or wait: `503 overloaded` at once when
    /// there is none.
    pub fn reserve(&self) -> ApiResult<Reservation> {
        self.admission.clone().try_acquire_owned().map(Reservation).map_err(|_| overloaded())
    }

    /// Runs `work` with a work area of `blocks` blocks on a blocking thread, in the place
    /// `admitted`, once a computation slot is free.
    async fn run<T: Send + 'static>(
        &self,
        Reservation(admitted): Reservation,
        blocks: usize,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let slot = self.running.clone().acquire_owned().await.map_err(|e| ApiError::internal(&e))?;
        let (areas, keep) = (self.areas.clone(), self.running_max);
        // The permits go with the computation: a caller that goes away (its request dropped
        // mid-way) frees its place only when the work it started has ended.
        tokio::task::spawn_blocking(move || {
            let _held = (admitted, slot);
            let reused = areas.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut area = reused.filter(|a| a.len() == blocks).unwrap_or_else(|| vec![Block::new(); blocks]);
            let result = work(&mut area);
            let mut kept = areas.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() < keep {
                kept.push(area);
            }
            result
        })
        .await
        .map_err(|e| ApiError::internal(&e))
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let params = Params::default();
        let blocks = params.block_count();
        self.run(self.reserve()?, blocks, move |area| {
            let salt: [u8; 16] = rand::random();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            argon2(params.clone()).hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, area)?;
            phc_string(&params, &salt, &out)
        })
        .await?
        .map_err(|e| ApiError::internal(&e))
    }

    /// Whether `password` matches the PHC string `phc`. When `phc` is `None` (no such
    /// operator) a dummy hash is checked anyway, so the answer's time does not tell whether the
    /// account exists. `503 overloaded` when too many checks wait.
    pub async fn verify(&self, password: String, phc: Option<String>) -> ApiResult<bool> {
        self.verify_reserved(self.reserve()?, password, phc).await
    }

    /// As [`Hashing::verify`], in a place taken before with [`Hashing::reserve`].
    pub async fn verify_reserved(&self, place: Reservation, password: String, phc: Option<String>) -> ApiResult<bool> {
        let stored = phc.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Some(parsed) = Parsed::new(&stored) else { return Ok(false) };
        let blocks = parsed.params.block_count();
        self.run(place, blocks, move |area| parsed.matches(password.as_bytes(), area)).await
    }
}

/// A stored hash, taken apart.
struct Parsed {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Output,
}

impl Parsed {
    fn new(phc: &str) -> Option<Self> {
        let hash = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(hash.algorithm.as_ref()).ok()?;
        let version = hash.version.map_or(Ok(Version::default()), Version::try_from).ok()?;
        let params = Params::try_from(&hash).ok()?;
        let salt = hash.salt?.as_ref().to_vec();
        let expected = hash.hash?;
        Some(Self { algorithm, version, params, salt, expected })
    }

    /// Recomputes the hash of `password` in `area` and compares in constant time.
    fn matches(&self, password: &[u8], area: &mut [Block]) -> bool {
        let mut out = vec![0u8; self.expected.len()];
        let hasher = Argon2::new(self.algorithm, self.version, self.params.clone());
        hasher.hash_password_into_with_memory(password, &self.salt, &mut out, area).is_ok()
            && Output::new(&out).is_ok_and(|computed| computed == self.expected)
    }
}

/// The PHC string of an argon2id hash: `$argon2id$v=19$m=...,t=...,p=...$<salt>$<output>`.
fn phc_string(params: &Params, salt: &[u8], out: &[u8]) -> Result<String, argon2::Error> {
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|_| argon2::Error::OutputTooShort)?,
        salt: Some(Salt::new(salt).map_err(|_| argon2::Error::SaltTooShort)?),
        hash: Some(Output::new(out).map_err(|_| argon2::Error::OutputTooShort)?),
    };
    Ok(hash.to_string())
}

/// 503 `overloaded`: too many password checks are running and waiting.
pub fn overloaded() -> ApiError {
    ApiError::unavailable("overloaded", "too many passwords are being checked right now; try again in a moment", 1)
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$jXf8bW0o5E1HqJ7bBzR3Lw2b4oQ8q9M1d5n0t3y7u6k";

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    fn one_at_a_time(queue: usize) -> Hashing {
        Hashing::new(HashingSettings { concurrency: 1, queue })
    }

    #[tokio::test]
    async fn hashes_verify_here_and_with_the_argon2_crate() {
        let hashing = one_at_a_time(4);
        let phc = hashing.hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hashing.verify("correct horse battery".into(), Some(phc.clone())).await.unwrap());
        assert!(!hashing.verify("wrong horse battery".into(), Some(phc.clone())).await.unwrap());
        assert!(!hashing.verify("anything".into(), None).await.unwrap());
        assert!(!hashing.verify("anything".into(), Some("not a hash".into())).await.unwrap());
        // The string is a standard PHC string: the argon2 crate checks it the same way.
        let parsed = PasswordHash::new(&phc).unwrap();
        let reference = Argon2::default();
        assert!(reference.verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(reference.verify_password(b"wrong horse battery", &parsed).is_err());
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_verify() {
        use argon2::PasswordHasher;
        let made = Argon2::default().hash_password(b"an older password").unwrap().to_string();
        let hashing = one_at_a_time(0);
        assert!(hashing.verify("an older password".into(), Some(made.clone())).await.unwrap());
        assert!(!hashing.verify("another password".into(), Some(made)).await.unwrap());
    }

    #[tokio::test]
    async fn beyond_the_queue_the_answer_is_overloaded_at_once() {
        let hashing = one_at_a_time(1);
        // Hold the one computation slot, so admitted checks wait.
        let slot = hashing.running.clone().acquire_owned().await.unwrap();
        let first = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.verify("x".repeat(12), None).await }
        });
        let second = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.verify("x".repeat(12), None).await }
        });
        // Both admitted (one computing place, one waiting place) once the admission is spent.
        while hashing.admission.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hashing.verify("x".repeat(12), None).await.unwrap_err();
        assert_eq!(refused.status().as_u16(), 503);
        assert_eq!(refused.code(), "overloaded");
        assert_eq!(refused.retry_after(), Some(1));
        drop(slot);
        assert!(!first.await.unwrap().unwrap());
        assert!(!second.await.unwrap().unwrap());
        // Work areas are kept for reuse, at most one per computation that ran at once.
        assert_eq!(hashing.areas.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_keeps_its_place_until_its_work_ends() {
        let hashing = one_at_a_time(0);
        let (finish, finished) = std::sync::mpsc::channel::<()>();
        let started = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run(hashing.reserve()?, 8, move |_| finished.recv().is_ok()).await }
        });
        while hashing.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // The request is dropped (its client hung up) while its computation runs.
        started.abort();
        let _ = started.await;
        let refused = hashing.verify("x".repeat(12), None).await.unwrap_err();
        assert_eq!(refused.code(), "overloaded", "the computation still holds its place");
        finish.send(()).unwrap();
        while hashing.admission.available_permits() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!hashing.verify("x".repeat(12), None).await.unwrap());
    }
}
