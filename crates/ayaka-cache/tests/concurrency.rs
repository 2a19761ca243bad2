//! Readers on other threads always see whole, consistent values while a
//! writer updates; several writers on distinct guilds do not interfere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ayaka_cache::Cache;
use ayaka_model::GuildId;
use common::*;

#[test]
fn readers_see_consistent_guilds_while_a_writer_renames_them() {
    let cache = Arc::new(Cache::new());
    let names: Vec<_> = (0..2)
        .map(|n| {
            let mut g = guild(100, 2, &[1, 2]);
            g["name"] = format!("name{n}").into();
            guild_event("GUILD_UPDATE", g)
        })
        .collect();
    cache.update(&names[0]);
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let guild = cache.guild(GuildId::new(100)).expect("never missing");
                    assert!(guild.name == "name0" || guild.name == "name1");
                    assert_eq!(guild.role_ids.len(), 1);
                    assert_eq!(cache.guild_members(GuildId::new(100)).len(), 2);
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    for round in 0..5_000 {
        cache.update(&names[round % 2]);
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
}

#[test]
fn concurrent_writers_on_distinct_guilds_lose_nothing() {
    let cache = Arc::new(Cache::new());
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                for g in 0..50u64 {
                    let id = 10_000 + (w * 50 + g) * 100;
                    cache.update(&guild_event("GUILD_INIT", guild(id, 2, &[1, 2, w + 10])));
                    cache.update(&channel_create(id + 50, id));
                    if g % 2 == 0 {
                        cache.update(&guild_delete(id));
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let stats = cache.stats();
    assert_eq!(stats.guilds, 100);
    assert_eq!(stats.channels, 300);
    assert_eq!(stats.members, 300);
    assert_eq!(stats.users, 6);
    for guild in cache.guilds() {
        assert_eq!(cache.guild_channels(guild.id).len(), 3);
    }
}

#[test]
fn a_user_shared_by_guilds_two_writers_update_is_never_lost() {
    // Two writers (two shards, say) each keep adding and deleting a guild
    // that user 7 belongs to. Whenever a writer has just cached its guild,
    // the member's user must be there: the other writer's deletion may
    // only drop the user while no cached guild holds it.
    const ROUNDS: usize = 20_000;
    let cache = Arc::new(Cache::new());
    let writers: Vec<_> = [1_000u64, 2_000]
        .into_iter()
        .map(|id| {
            let cache = Arc::clone(&cache);
            let init = guild_event("GUILD_INIT", guild(id, 0, &[7]));
            let delete = guild_delete(id);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    cache.update(&init);
                    assert!(cache.member(GuildId::new(id), 7.into()).is_some());
                    assert!(
                        cache.user(7.into()).is_some(),
                        "a cached member lost its user"
                    );
                    cache.update(&delete);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(cache.stats().users, 0);
}
