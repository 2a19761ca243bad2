use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::snowflake::{MAX_TIMESTAMP, SEQUENCE_BITS};
use crate::{EPOCH_MS, Error, ErrorKind, Id, MAX_ID_COMPONENT, MAX_SEQUENCE, Parts, Snowflake};

/// A source of wall-clock time in Unix milliseconds.
///
/// [`SystemClock`] is the default; tests inject their own to step time
/// backwards or freeze it. Any `Fn() -> u64` closure is a clock.
pub trait Clock: Send + Sync {
    /// The current time in Unix milliseconds.
    fn now_unix_ms(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        // A clock set before 1970 reads as the Unix epoch: the generator
        // then keeps going on its own logical time.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl<F: Fn() -> u64 + Send + Sync> Clock for F {
    fn now_unix_ms(&self) -> u64 {
        self()
    }
}

/// A thread-safe, lock-free snowflake generator.
///
/// All of its state is one `AtomicU64` holding the last issued timestamp and
/// sequence, advanced by compare-and-swap, so any number of threads can share
/// one generator (`&Generator` or `Arc<Generator>`) without a mutex.
///
/// Guarantees:
/// - ids from one generator are strictly increasing, also when the wall clock
///   steps backwards: the generator then keeps counting from the last
///   timestamp it issued until the clock catches up;
/// - at most 4096 ids per millisecond: the 4097th waits (spinning, at most
///   about a millisecond) for the clock's next millisecond. Only while the
///   clock is behind does the generator move its own timestamp forward
///   instead of waiting, since waiting could then last as long as the step.
///   A clock set before the Ayaka epoch counts as behind, so a machine that
///   boots in 1970 still gets unique ids.
///
/// The 41-bit timestamp runs out in 2089; from then on a generator can issue
/// only the last millisecond's 4096 ids, and `generate` waits forever for
/// more rather than wrap around and repeat itself.
///
/// ```
/// use ayaka_snowflake::{Generator, UserId};
///
/// let generator = Generator::new();
/// let a: UserId = generator.next_id();
/// let b: UserId = generator.next_id();
/// assert!(a < b);
/// ```
#[derive(Debug)]
pub struct Generator<C = SystemClock> {
    /// `timestamp_ms << 12 | sequence` of the last id issued.
    last: AtomicU64,
    datacenter_id: u8,
    worker_id: u8,
    clock: C,
}

impl Generator {
    /// A generator on the system clock, datacenter 0 and the worker id
    /// derived from the process id (the documents' "Current Thread Process").
    pub fn new() -> Self {
        Self {
            last: AtomicU64::new(0),
            datacenter_id: 0,
            worker_id: default_worker_id(),
            clock: SystemClock,
        }
    }

    /// A builder to choose worker id, datacenter id or clock.
    pub fn builder() -> GeneratorBuilder {
        GeneratorBuilder {
            worker_id: None,
            datacenter_id: 0,
            clock: SystemClock,
        }
    }
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

fn default_worker_id() -> u8 {
    // The modulo keeps it in 0..=31, so the cast cannot truncate.
    (std::process::id() % (u32::from(MAX_ID_COMPONENT) + 1)) as u8
}

impl<C: Clock> Generator<C> {
    /// The worker id stamped on every id.
    pub fn worker_id(&self) -> u8 {
        self.worker_id
    }

    /// The datacenter id stamped on every id.
    pub fn datacenter_id(&self) -> u8 {
        self.datacenter_id
    }

    /// A new snowflake, greater than every one this generator made before.
    pub fn generate(&self) -> Snowflake {
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let last_ms = last >> SEQUENCE_BITS;
            let last_sequence = last & u64::from(MAX_SEQUENCE);
            let now_unix_ms = self.clock.now_unix_ms();
            let now_ms = now_unix_ms.saturating_sub(EPOCH_MS).min(MAX_TIMESTAMP);
            // Compared unclamped: a clock before the epoch reads as
            // timestamp 0 yet is behind it, and must not wait forever for a
            // millisecond that the clamp would never let it reach.
            let clock_behind = now_unix_ms < EPOCH_MS + last_ms;
            let next = if now_ms > last_ms {
                now_ms << SEQUENCE_BITS
            } else if last_sequence < u64::from(MAX_SEQUENCE) {
                last + 1
            } else if clock_behind && last_ms < MAX_TIMESTAMP {
                // The clock stepped back and this logical millisecond is
                // full: move on to the next logical one.
                (last_ms + 1) << SEQUENCE_BITS
            } else {
                // 4096 ids in the clock's current millisecond: wait for the next.
                std::hint::spin_loop();
                std::thread::yield_now();
                last = self.last.load(Ordering::Relaxed);
                continue;
            };
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return self.assemble(next),
                Err(actual) => last = actual,
            }
        }
    }

    /// A new typed id.
    pub fn next_id<M>(&self) -> Id<M> {
        self.generate().into()
    }

    fn assemble(&self, state: u64) -> Snowflake {
        Snowflake::from_parts_unchecked(Parts {
            timestamp_ms: state >> SEQUENCE_BITS,
            datacenter_id: self.datacenter_id,
            worker_id: self.worker_id,
            // Masked to 12 bits, so the cast cannot truncate.
            sequence: (state & u64::from(MAX_SEQUENCE)) as u16,
        })
    }
}

/// Builds a [`Generator`]; see [`Generator::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GeneratorBuilder<C = SystemClock> {
    worker_id: Option<u8>,
    datacenter_id: u8,
    clock: C,
}

impl<C: Clock> GeneratorBuilder<C> {
    /// The worker id, `0..=31` (default: derived from the process id).
    pub fn worker_id(mut self, worker_id: u8) -> Self {
        self.worker_id = Some(worker_id);
        self
    }

    /// The datacenter id, `0..=31` (default 0).
    pub fn datacenter_id(mut self, datacenter_id: u8) -> Self {
        self.datacenter_id = datacenter_id;
        self
    }

    /// Another clock, for tests or simulated time.
    pub fn clock<D: Clock>(self, clock: D) -> GeneratorBuilder<D> {
        GeneratorBuilder {
            worker_id: self.worker_id,
            datacenter_id: self.datacenter_id,
            clock,
        }
    }

    /// The generator, or an error naming an out-of-range id.
    pub fn build(self) -> Result<Generator<C>, Error> {
        let worker_id = self.worker_id.unwrap_or_else(default_worker_id);
        if worker_id > MAX_ID_COMPONENT {
            return Err(Error::new(ErrorKind::WorkerIdOutOfRange, worker_id.into()));
        }
        if self.datacenter_id > MAX_ID_COMPONENT {
            return Err(Error::new(
                ErrorKind::DatacenterIdOutOfRange,
                self.datacenter_id.into(),
            ));
        }
        Ok(Generator {
            last: AtomicU64::new(0),
            datacenter_id: self.datacenter_id,
            worker_id,
            clock: self.clock,
        })
    }
}
