//! The generator: uniqueness under threads, clock steps, sequence exhaustion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ayaka_snowflake::{EPOCH_MS, ErrorKind, Generator, Snowflake};

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn at(unix_ms: u64) -> Self {
        Self(Arc::new(AtomicU64::new(unix_ms)))
    }
    fn set(&self, unix_ms: u64) {
        self.0.store(unix_ms, Ordering::SeqCst);
    }
}

impl ayaka_snowflake::Clock for ManualClock {
    fn now_unix_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

const T0: u64 = EPOCH_MS + 1_000_000;

#[test]
fn eight_threads_make_800k_unique_ids_each_thread_increasing() {
    let generator = Arc::new(Generator::builder().worker_id(5).build().unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let generator = Arc::clone(&generator);
            std::thread::spawn(move || {
                let ids: Vec<Snowflake> = (0..100_000).map(|_| generator.generate()).collect();
                assert!(
                    ids.windows(2).all(|w| w[0] < w[1]),
                    "each thread's ids increase"
                );
                ids
            })
        })
        .collect();
    let mut all = HashSet::with_capacity(800_000);
    for handle in handles {
        for id in handle.join().unwrap() {
            assert_eq!(id.worker_id(), 5);
            assert!(all.insert(id), "duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 800_000);
}

#[test]
fn ids_keep_increasing_when_the_clock_steps_back() {
    let clock = ManualClock::at(T0);
    let generator = Generator::builder().clock(clock.clone()).build().unwrap();
    let before = generator.generate();
    clock.set(T0 - 60_000); // an NTP correction a minute back
    let after: Vec<_> = (0..10_000).map(|_| generator.generate()).collect();
    assert!(before < after[0]);
    assert!(after.windows(2).all(|w| w[0] < w[1]));
    // While behind, the generator lives on its own logical time, never
    // reissuing the minute it already covered.
    assert!(after.iter().all(|id| id.created_at_unix_ms() >= T0));

    clock.set(T0 + 5_000); // the clock catches up and passes
    let caught_up = generator.generate();
    assert!(caught_up > *after.last().unwrap());
    assert_eq!(caught_up.created_at_unix_ms(), T0 + 5_000);
    assert_eq!(caught_up.sequence(), 0);
}

#[test]
fn the_4097th_id_in_a_millisecond_waits_for_the_next() {
    // The clock reads T0 for the first 4200 readings, then T0 + 1: the
    // generator must keep asking (waiting) rather than overflow the sequence.
    let readings = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&readings);
    let clock = move || {
        if counter.fetch_add(1, Ordering::SeqCst) < 4200 {
            T0
        } else {
            T0 + 1
        }
    };
    let generator = Generator::builder().clock(clock).build().unwrap();
    let ids: Vec<_> = (0..4097).map(|_| generator.generate()).collect();
    for (i, id) in ids[..4096].iter().enumerate() {
        assert_eq!(id.created_at_unix_ms(), T0);
        assert_eq!(usize::from(id.sequence()), i);
    }
    assert_eq!(ids[4096].created_at_unix_ms(), T0 + 1);
    assert_eq!(ids[4096].sequence(), 0);
    assert!(
        readings.load(Ordering::SeqCst) > 4200,
        "it waited on the clock"
    );
}

#[test]
fn ids_carry_the_configured_worker_and_datacenter() {
    let generator = Generator::builder()
        .worker_id(31)
        .datacenter_id(2)
        .build()
        .unwrap();
    let id = generator.generate();
    assert_eq!((id.worker_id(), id.datacenter_id()), (31, 2));

    let default = Generator::new();
    assert_eq!(default.datacenter_id(), 0);
    assert_eq!(
        u32::from(default.worker_id()),
        std::process::id() % 32,
        "worker id defaults from the process id"
    );
}

#[test]
fn out_of_range_worker_or_datacenter_is_a_typed_error() {
    let err = Generator::builder().worker_id(32).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WorkerIdOutOfRange);
    assert_eq!(err.value(), 32);
    let err = Generator::builder().datacenter_id(200).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DatacenterIdOutOfRange);
}

#[test]
fn an_id_made_now_decodes_to_now() {
    let before = std::time::SystemTime::now();
    let id = Generator::new().generate();
    let after = std::time::SystemTime::now();
    let created = id.created_at();
    // Millisecond resolution: allow the truncation below `before`.
    assert!(created + std::time::Duration::from_millis(1) > before);
    assert!(created <= after);
}

#[test]
fn a_clock_before_the_epoch_never_stalls_the_generator() {
    // A machine without a real-time clock boots in 1970: every reading
    // clamps to timestamp 0, yet the 4097th id must not wait for a
    // millisecond that can never come.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let generator = Generator::builder().clock(|| 0).build().unwrap();
        let ids: Vec<_> = (0..10_000).map(|_| generator.generate()).collect();
        sender.send(ids).unwrap();
    });
    let ids = receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the generator stalled on a clock before the epoch");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(
        ids.last().unwrap().timestamp_ms() >= 2,
        "it moved on logically"
    );
}
