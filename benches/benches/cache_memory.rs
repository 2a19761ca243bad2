//! ayaka-cache: bytes held per guild and per member, against the obvious
//! `RwLock<HashMap>` cache of whole model objects, in the same run. Printed as
//! figures for `cargo xtask bench` (its own binary: the counting allocator
//! would slow the timed benches).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::System;
use std::hint::black_box;

use ayaka_benches::{RwLockCache, SessionShape, parsed_session};
use ayaka_cache::Cache;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes still allocated after building a cache from `events`.
fn retained<T>(build: impl FnOnce() -> T) -> (usize, T) {
    let region = Region::new(GLOBAL);
    let value = build();
    let change = region.change();
    (
        change
            .bytes_allocated
            .saturating_sub(change.bytes_deallocated),
        value,
    )
}

/// Prints memory figures in the form `cargo xtask bench` collects.
fn main() {
    let guilds_only = SessionShape {
        guilds: 200,
        channels_per_guild: 8,
        members_per_guild: 0,
        live_events: 0,
    };
    let with_members = SessionShape {
        members_per_guild: 200,
        ..guilds_only
    };
    for (label, shape, per) in [
        (
            "bytes per guild (8 channels, 2 roles, 1 emoji)",
            guilds_only,
            guilds_only.guilds,
        ),
        (
            "bytes per member (200 guilds x 200 members, users shared)",
            with_members,
            with_members.guilds * with_members.members_per_guild,
        ),
    ] {
        let events = parsed_session(&shape);
        let (ours, cache) = retained(|| {
            let cache = Cache::new();
            for event in &events {
                cache.update(event);
            }
            cache
        });
        let (baseline, naive) = retained(|| {
            let cache = RwLockCache::default();
            for event in &events {
                cache.update(event);
            }
            cache
        });
        let (ours, baseline) = if shape.members_per_guild == 0 {
            (ours, baseline)
        } else {
            // Per member: subtract what the same guilds cost without members.
            let base_events = parsed_session(&guilds_only);
            let (ours_guilds, _a) = retained(|| {
                let cache = Cache::new();
                base_events.iter().for_each(|e| cache.update(e));
                cache
            });
            let (naive_guilds, _b) = retained(|| {
                let cache = RwLockCache::default();
                base_events.iter().for_each(|e| cache.update(e));
                cache
            });
            (ours - ours_guilds, baseline - naive_guilds)
        };
        println!(
            "ayaka-figure: cache/memory | {label} | {} B | baseline: RwLock<HashMap> of model objects | {} B",
            ours as u64 / per,
            baseline as u64 / per
        );
        black_box((cache, naive));
    }
}
