//! ayaka-cache: updates per second on a realistic event mix against a
//! `RwLock<HashMap>` cache in the same run, and bytes held per guild and per
//! member against the same baseline.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ayaka_benches::{SessionShape, session};
use ayaka_cache::{Cache, ResourceType};
use ayaka_model::gateway::Event;
use ayaka_model::{Channel, Guild, GuildId, Invite, Presence, UserId};
use criterion::{Criterion, Throughput, criterion_group};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The obvious cache: whole objects behind one lock per kind.
#[derive(Default)]
struct RwLockCache {
    guilds: RwLock<HashMap<GuildId, Guild>>,
    channels: RwLock<HashMap<u64, Channel>>,
    presences: RwLock<HashMap<UserId, Presence>>,
    invites: RwLock<HashMap<String, Invite>>,
}

impl RwLockCache {
    fn update(&self, event: &Event) {
        match event {
            Event::GuildInit(guild) | Event::GuildCreate(guild) | Event::GuildJoin(guild) => {
                for channel in guild.channels.iter().flatten() {
                    self.channels
                        .write()
                        .unwrap()
                        .insert(channel.id().get(), channel.clone());
                }
                self.guilds
                    .write()
                    .unwrap()
                    .insert(guild.id, Guild::clone(guild));
            }
            Event::GuildUpdate(update) => {
                let mut guilds = self.guilds.write().unwrap();
                let previous = guilds.remove(&update.id);
                let mut guild = Guild::clone(update);
                if let Some(previous) = previous {
                    guild.channels = guild.channels.or(previous.channels);
                    guild.members = guild.members.or(previous.members);
                }
                guilds.insert(guild.id, guild);
            }
            Event::GuildDelete(deleted) => {
                self.guilds.write().unwrap().remove(&deleted.id);
            }
            Event::ChannelCreate(channel) => {
                self.channels
                    .write()
                    .unwrap()
                    .insert(channel.id().get(), channel.clone());
            }
            Event::InviteCreate(invite) => {
                self.invites
                    .write()
                    .unwrap()
                    .insert(invite.code.clone(), invite.clone());
            }
            Event::PresenceUpdate(update) => {
                self.presences
                    .write()
                    .unwrap()
                    .insert(update.user_id, update.presence.clone());
            }
            _ => {}
        }
    }
}

fn parsed(shape: &SessionShape) -> Vec<Event> {
    session(shape)
        .iter()
        .map(|text| Event::from_json(text.as_bytes()).unwrap())
        .collect()
}

fn updates(c: &mut Criterion) {
    let events = parsed(&SessionShape::REALISTIC);
    let mut group = c.benchmark_group("cache/replay session");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("baseline: RwLock<HashMap>", |b| {
        b.iter(|| {
            let cache = RwLockCache::default();
            for event in &events {
                cache.update(event);
            }
            black_box(cache)
        });
    });
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
    group.finish();
}

/// The same replay while another thread keeps reading guilds: what a bot's
/// handlers do while its shard feeds the cache. Only the writer is timed.
fn updates_with_a_reader(c: &mut Criterion) {
    let events = parsed(&SessionShape::REALISTIC);
    let guild_ids: Vec<GuildId> = events
        .iter()
        .filter_map(|event| match event {
            Event::GuildInit(guild) => Some(guild.id),
            _ => None,
        })
        .collect();
    let mut group = c.benchmark_group("cache/replay session, one concurrent reader");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("baseline: RwLock<HashMap>", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let cache = RwLockCache::default();
                total += with_reader(
                    || {
                        for event in &events {
                            cache.update(event);
                        }
                    },
                    || {
                        for id in &guild_ids {
                            let guilds = cache.guilds.read().unwrap();
                            black_box(guilds.get(id).map(|g| g.name.len()));
                        }
                    },
                );
            }
            total
        });
    });
    group.bench_function("ayaka-cache, everything", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let cache = Cache::new();
                total += with_reader(
                    || {
                        for event in &events {
                            cache.update(event);
                        }
                    },
                    || {
                        for id in &guild_ids {
                            black_box(cache.guild(*id).map(|g| g.name.len()));
                        }
                    },
                );
            }
            total
        });
    });
    group.finish();
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
fn memory() {
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
        let events = parsed(&shape);
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
            let base_events = parsed(&guilds_only);
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

criterion_group!(benches, updates, updates_with_a_reader);

fn main() {
    memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
