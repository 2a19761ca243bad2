//! Replaying sessions: a reconnect's READY + GUILD_INIT converges to the
//! state a fresh cache would reach, with nothing left from deleted guilds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_cache::Cache;
use ayaka_model::GuildId;
use ayaka_model::gateway::Event;
use common::*;

/// A recorded session: identify, three guilds, then live traffic.
fn session() -> Vec<Event> {
    vec![
        ready(1),
        guild_event("GUILD_INIT", guild(100, 2, &[1, 2, 3])),
        guild_event("GUILD_INIT", guild(200, 1, &[1, 3, 4])),
        guild_event("GUILD_INIT", guild(300, 0, &[1])),
        channel_create(150, 100),
        invite("abc", 200),
        presence(3),
        guild_event("GUILD_CREATE", guild(400, 0, &[1])),
    ]
}

fn replay(cache: &Cache, events: &[Event]) {
    for event in events {
        cache.update(event);
    }
}

#[test]
fn replaying_a_session_twice_gives_the_same_state() {
    let once = Cache::new();
    replay(&once, &session());
    let twice = Cache::new();
    replay(&twice, &session());
    replay(&twice, &session());
    assert_eq!(once.snapshot(), twice.snapshot());
    assert_eq!(once.stats().guilds, 4);
}

#[test]
fn guilds_deleted_while_disconnected_are_gone_after_the_reconnect() {
    let cache = Cache::new();
    replay(&cache, &session());

    // Reconnected: guild 200 was deleted and 300 left meanwhile; 100 changed.
    let mut changed = guild(100, 1, &[1, 2]);
    changed["name"] = "renamed".into();
    let reconnect = vec![
        ready(1),
        guild_event("GUILD_INIT", changed.clone()),
        guild_event("GUILD_INIT", guild(400, 0, &[1])),
        presence(2),
    ];
    replay(&cache, &reconnect);

    let fresh = Cache::new();
    replay(&fresh, &reconnect);
    assert_eq!(cache.snapshot(), fresh.snapshot());
    assert!(cache.guild(GuildId::new(200)).is_none());
    assert!(cache.invite("abc").is_none());
    assert_eq!(cache.guild(GuildId::new(100)).unwrap().name, "renamed");
    assert_eq!(cache.guild_channels(GuildId::new(100)).len(), 1);
    assert_eq!(cache.guild_members(GuildId::new(100)).len(), 2);
}

#[test]
fn guilds_stay_readable_while_the_reconnect_refreshes_them() {
    let cache = Cache::new();
    replay(&cache, &session());
    cache.update(&ready(1));
    // Between READY and its GUILD_INITs the old state is still served.
    assert!(cache.guild(GuildId::new(200)).is_some());
    cache.update(&guild_event("GUILD_INIT", guild(100, 2, &[1, 2, 3])));
    assert!(cache.guild(GuildId::new(200)).is_some());
    // The first live event ends the refresh.
    cache.update(&presence(2));
    assert!(cache.guild(GuildId::new(200)).is_none());
    assert!(cache.guild(GuildId::new(100)).is_some());
}

#[test]
fn finish_resync_ends_the_refresh_without_a_live_event() {
    let cache = Cache::new();
    replay(&cache, &session());
    assert!(!cache.is_resyncing(), "the session's live events ended it");
    cache.update(&ready(1));
    assert!(cache.is_resyncing());
    cache.update(&guild_event("GUILD_INIT", guild(100, 2, &[1, 2, 3])));
    cache.finish_resync();
    assert!(!cache.is_resyncing());
    assert_eq!(cache.guild_ids(), vec![GuildId::new(100)]);
    assert!(cache.invite("abc").is_none());
    // Nothing is under way now: further calls and events change nothing.
    cache.finish_resync();
    cache.update(&presence(2));
    assert_eq!(cache.guild_ids(), vec![GuildId::new(100)]);
}
