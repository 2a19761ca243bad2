//! Password hashing on a fixed pool of worker threads, bounded in threads,
//! memory and waiting work, whatever clients do.
//!
//! - At most `concurrency` hashes run at once: one per worker thread, so
//!   the bound holds even for sign-ups whose client hung up (the work is
//!   owned by the worker, not by the request).
//! - At most `queue` more wait; beyond that [`PasswordHasher::hash`] says
//!   [`HashError::Busy`] at once (the REST layer answers 503 with
//!   `Retry-After`).
//! - A waiting job whose requester has gone is skipped, not hashed.
//! - Each worker keeps one argon2 working buffer and reuses it, so memory
//!   is `concurrency` buffers (19 MiB each for [`PasswordHashing::Secure`])
//!   at most, with no allocator churn: RSS does not creep up with load.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore as _;
use tokio::sync::oneshot;

/// How passwords are hashed. Always argon2id; only the cost differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordHashing {
    /// OWASP's argon2id parameters (19 MiB, 2 passes): slow on purpose.
    #[default]
    Secure,
    /// The cheapest argon2id parameters (8 KiB, 1 pass). **For tests and
    /// benchmarks only**: such hashes are easy to brute-force.
    Fast,
}

impl PasswordHashing {
    fn params(self) -> Params {
        match self {
            Self::Secure => Params::DEFAULT,
            // Params::new only fails for out-of-range costs; these are the
            // documented minimums, so fall back to the default if that ever
            // changes rather than panic.
            Self::Fast => Params::new(8, 1, 1, None).unwrap_or(Params::DEFAULT),
        }
    }
}

const SALT_LEN: usize = 16;

/// Why a password was not hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashError {
    /// Every worker is busy and the queue is full: try again later.
    Busy,
    /// The pool is gone or argon2 refused its input.
    Failed,
}

/// Counters of the pool, for `/_local/stats` and tests.
#[derive(Debug, Default)]
pub(crate) struct HashStats {
    running: AtomicUsize,
    queued: AtomicUsize,
    completed: AtomicU64,
    abandoned: AtomicU64,
    refused: AtomicU64,
}

/// A snapshot of [`HashStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashFigures {
    pub(crate) running: usize,
    pub(crate) queued: usize,
    pub(crate) completed: u64,
    pub(crate) abandoned: u64,
    pub(crate) refused: u64,
    pub(crate) concurrency: usize,
    pub(crate) queue: usize,
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The pool's handle; dropping the last one lets the workers exit.
#[derive(Debug, Clone)]
pub(crate) struct PasswordHasher {
    mode: PasswordHashing,
    jobs: SyncSender<Job>,
    stats: Arc<HashStats>,
    concurrency: usize,
    queue: usize,
}

impl PasswordHasher {
    /// A pool of one worker per core and a queue of 64 jobs.
    #[cfg(test)]
    pub(crate) fn new(mode: PasswordHashing) -> Self {
        Self::with_bounds(mode, default_concurrency(), 64)
    }

    /// A pool of `concurrency` workers (at least 1) and a queue of `queue`
    /// jobs.
    pub(crate) fn with_bounds(mode: PasswordHashing, concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..concurrency {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("ayaka-hash-{index}"))
                .spawn(move || work(&receiver));
            if let Err(error) = spawned {
                // Fewer workers still hash; none at all shows as `Failed`.
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self {
            mode,
            jobs,
            stats: Arc::new(HashStats::default()),
            concurrency,
            queue,
        }
    }

    /// The PHC string (`$argon2id$v=19$...`) of `password` with a new salt.
    ///
    /// Dropping the future before a worker takes the job cancels it.
    pub(crate) async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.mode.params();
        self.run(move |memory| phc_hash(&password, params, memory))
            .await?
    }

    /// Runs `job` on a worker, or refuses at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = oneshot::channel();
        let stats = Arc::clone(&self.stats);
        let job: Job = Box::new(move |memory| {
            stats.queued.fetch_sub(1, Ordering::Relaxed);
            if reply.is_closed() {
                stats.abandoned.fetch_add(1, Ordering::Relaxed);
                return;
            }
            stats.running.fetch_add(1, Ordering::Relaxed);
            let result = job(memory);
            stats.running.fetch_sub(1, Ordering::Relaxed);
            stats.completed.fetch_add(1, Ordering::Relaxed);
            let _ = reply.send(result);
        });
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(refused) => {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                return Err(match refused {
                    TrySendError::Full(_) => {
                        self.stats.refused.fetch_add(1, Ordering::Relaxed);
                        HashError::Busy
                    }
                    TrySendError::Disconnected(_) => HashError::Failed,
                });
            }
        }
        answer.await.map_err(|_| HashError::Failed)
    }

    /// The pool's counters right now.
    pub(crate) fn figures(&self) -> HashFigures {
        HashFigures {
            running: self.stats.running.load(Ordering::Relaxed),
            queued: self.stats.queued.load(Ordering::Relaxed),
            completed: self.stats.completed.load(Ordering::Relaxed),
            abandoned: self.stats.abandoned.load(Ordering::Relaxed),
            refused: self.stats.refused.load(Ordering::Relaxed),
            concurrency: self.concurrency,
            queue: self.queue,
        }
    }
}

/// The default number of hashes at once: one per core.
pub(crate) fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A worker: takes jobs until every handle is dropped, with one argon2
/// buffer for its whole life.
fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        // The lock is held only while waiting for a job: other workers are
        // idle then anyway. A panicking job cannot poison it (jobs run
        // after the guard is dropped), but recover rather than exit.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else {
            return;
        };
        job(&mut memory);
    }
}

/// Hashes into `memory` (grown once to the parameters' size) and formats
/// the PHC string.
fn phc_hash(password: &str, params: Params, memory: &mut Vec<Block>) -> Result<String, HashError> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt = [0_u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(|_| HashError::Failed)?;
    let mut output = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut output,
            &mut memory[..blocks],
        )
        .map_err(|_| HashError::Failed)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| HashError::Failed)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&output).map_err(|_| HashError::Failed)?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use argon2::PasswordVerifier as _;

    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let hasher = PasswordHasher::new(PasswordHashing::Fast);
        let a = hasher.hash("correct horse".to_owned()).await.unwrap();
        let b = hasher.hash("correct horse".to_owned()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(!a.contains("correct horse"));
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
        assert_eq!(hasher.figures().completed, 2);
    }

    /// A job that holds its worker until `release` is dropped or sent to.
    fn blocker(release: std::sync::mpsc::Receiver<()>) -> impl FnOnce(&mut Vec<Block>) + Send {
        move |_| {
            let _ = release.recv();
        }
    }

    async fn wait_until(hasher: &PasswordHasher, done: impl Fn(HashFigures) -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !done(hasher.figures()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?}",
                hasher.figures()
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn work_beyond_the_queue_is_refused_at_once() {
        let hasher = PasswordHasher::with_bounds(PasswordHashing::Fast, 1, 2);
        let (release, held) = std::sync::mpsc::channel();
        let running = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(blocker(held)).await }
        });
        wait_until(&hasher, |figures| figures.running == 1).await;
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash("password1".to_owned()).await })
            })
            .collect();
        wait_until(&hasher, |figures| figures.queued == 2).await;
        assert_eq!(
            hasher.hash("password1".to_owned()).await,
            Err(HashError::Busy)
        );
        assert_eq!(hasher.figures().refused, 1);
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        for job in queued {
            assert!(job.await.unwrap().is_ok());
        }
        assert_eq!((hasher.figures().running, hasher.figures().queued), (0, 0));
    }

    #[tokio::test]
    async fn abandoned_jobs_are_skipped_and_never_exceed_the_workers() {
        let hasher = PasswordHasher::with_bounds(PasswordHashing::Fast, 1, 16);
        let (release, held) = std::sync::mpsc::channel();
        let running = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(blocker(held)).await }
        });
        wait_until(&hasher, |figures| figures.running == 1).await;
        // Ten requesters who give up while their job waits.
        for waiting in 1..=10 {
            let abandoned = tokio::spawn({
                let hasher = hasher.clone();
                async move { hasher.hash("password1".to_owned()).await }
            });
            wait_until(&hasher, |figures| figures.queued == waiting).await;
            abandoned.abort();
            let _ = abandoned.await;
        }
        assert_eq!(hasher.figures().running, 1);
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        wait_until(&hasher, |figures| figures.queued == 0).await;
        let figures = hasher.figures();
        assert_eq!(figures.running, 0);
        assert_eq!(
            (figures.abandoned, figures.completed),
            (10, 1),
            "{figures:?}"
        );
    }
}
