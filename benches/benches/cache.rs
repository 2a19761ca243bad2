//! ayaka-cache: updates per second on a realistic event mix against a
//! `RwLock<HashMap>` cache in the same run (memory: `cache_memory.rs`).
//! The baseline goes first in every other round ([`baseline_first`]).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ayaka_benches::{RwLockCache, SessionShape, baseline_first, parsed_session};
use ayaka_cache::{Cache, ResourceType};
use ayaka_model::GuildId;
use ayaka_model::gateway::Event;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};

fn updates(c: &mut Criterion) {
    let events = parsed_session(&SessionShape::REALISTIC);
    let mut group = c.benchmark_group("cache/replay session");
    group.throughput(Throughput::Elements(events.len() as u64));
    let baseline = |group: &mut BenchmarkGroup<'_, WallTime>| {
        group.bench_function("baseline: RwLock<HashMap>", |b| {
            b.iter(|| {
                let cache = RwLockCache::default();
                for event in &events {
                    cache.update(event);
                }
                black_box(cache)
            });
        });
    };
    let baseline_first = baseline_first();
    if baseline_first {
        baseline(&mut group);
    }
    let configurations = [
        ("ayaka-cache, everything", ResourceType::ALL),
        (
            "ayaka-cache, no presences",
            ResourceType::ALL - ResourceType::PRESENCE,
        ),
        ("ayaka-cache, nothing kept", ResourceType::NONE),
    ];
    for (name, resources) in configurations {
        group.bench_function(name, |b| {
            b.iter(|| {
                let cache = Cache::builder().resources(resources).build();
                for event in &events {
                    cache.update(event);
                }
                black_box(cache)
            });
        });
    }
    if !baseline_first {
        baseline(&mut group);
    }
    group.finish();
}

/// The same replay while another thread keeps reading guilds: what a bot's
/// handlers do while its shard feeds the cache. Only the writer is timed.
fn updates_with_a_reader(c: &mut Criterion) {
    let events = parsed_session(&SessionShape::REALISTIC);
    let guild_ids: Vec<GuildId> = events
        .iter()
        .filter_map(|event| match event {
            Event::GuildInit(guild) => Some(guild.id),
            _ => None,
        })
        .collect();
    let mut group = c.benchmark_group("cache/replay session, one concurrent reader");
    group.throughput(Throughput::Elements(events.len() as u64));
    let baseline = |group: &mut BenchmarkGroup<'_, WallTime>| {
        group.bench_function("baseline: RwLock<HashMap>", |b| {
            b.iter_custom(|iterations| {
                timed_replays(
                    iterations,
                    RwLockCache::default,
                    |cache| events.iter().for_each(|event| cache.update(event)),
                    |cache| {
                        for id in &guild_ids {
                            let guilds = cache.guilds.read().unwrap();
                            black_box(guilds.get(id).map(|g| g.name.len()));
                        }
                    },
                )
            });
        });
    };
    let baseline_first = baseline_first();
    if baseline_first {
        baseline(&mut group);
    }
    group.bench_function("ayaka-cache, everything", |b| {
        b.iter_custom(|iterations| {
            timed_replays(
                iterations,
                Cache::new,
                |cache| events.iter().for_each(|event| cache.update(event)),
                |cache| {
                    for id in &guild_ids {
                        black_box(cache.guild(*id).map(|g| g.name.len()));
                    }
                },
            )
        });
    });
    if !baseline_first {
        baseline(&mut group);
    }
    group.finish();
}

/// The summed time of `iterations` replays into fresh caches, each with a
/// concurrent reader.
fn timed_replays<C: Sync>(
    iterations: u64,
    new: impl Fn() -> C,
    write: impl Fn(&C),
    read: impl Fn(&C) + Sync,
) -> Duration {
    (0..iterations)
        .map(|_| {
            let cache = new();
            with_reader(|| write(&cache), || read(&cache))
        })
        .sum()
}

/// Times `write` while another thread runs `read` in a loop.
fn with_reader(write: impl FnOnce(), read: impl Fn() + Sync) -> Duration {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                read();
            }
        });
        let started = Instant::now();
        write();
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        elapsed
    })
}

criterion_group!(benches, updates, updates_with_a_reader);

criterion_main!(benches);
