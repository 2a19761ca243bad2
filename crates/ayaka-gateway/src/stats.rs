//! State shared between a shard's task and its handles, lock-free.

use std::{
    sync::atomic::{AtomicU8, AtomicU64, Ordering},
    time::Duration,
};

use crate::{latency::Latency, shard_state::ShardState};

const NONE: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct SharedStatus {
    state: AtomicU8,
    last_latency_us: AtomicU64,
    average_latency_us: AtomicU64,
    bytes_in: AtomicU64,
    events: AtomicU64,
}

impl SharedStatus {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU8::new(ShardState::Connecting.to_u8()),
            last_latency_us: AtomicU64::new(NONE),
            average_latency_us: AtomicU64::new(NONE),
            bytes_in: AtomicU64::new(0),
            events: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> ShardState {
        ShardState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn set_state(&self, state: ShardState) {
        self.state.store(state.to_u8(), Ordering::Release);
    }

    pub(crate) fn latency(&self) -> Latency {
        let read = |value: &AtomicU64| match value.load(Ordering::Relaxed) {
            NONE => None,
            micros => Some(Duration::from_micros(micros)),
        };
        Latency {
            last: read(&self.last_latency_us),
            average: read(&self.average_latency_us),
        }
    }

    pub(crate) fn set_latency(&self, latency: Latency) {
        let write = |value: &AtomicU64, duration: Option<Duration>| {
            let micros = duration.map_or(NONE, |d| {
                u64::try_from(d.as_micros())
                    .unwrap_or(NONE - 1)
                    .min(NONE - 1)
            });
            value.store(micros, Ordering::Relaxed);
        };
        write(&self.last_latency_us, latency.last);
        write(&self.average_latency_us, latency.average);
    }

    pub(crate) fn add_received(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    pub(crate) fn messages_received(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}
