//! A cache fed only the events it wants ends in the state it reaches when
//! fed everything, whatever it keeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_cache::{Cache, ResourceType};
use ayaka_model::gateway::{Event, EventKind, EventKinds};
use common::*;
use serde_json::json;

/// A session: READY, GUILD_INITs, then live traffic of every kind.
fn session() -> Vec<Event> {
    vec![
        ready(1),
        guild_event("GUILD_INIT", guild(100, 2, &[1, 2, 3])),
        guild_event("GUILD_INIT", guild(200, 1, &[1, 3])),
        presence(2),
        event(json!({"t": "NOTIFICATION", "type": "MESSAGE", "excerpt": {}})),
        channel_create(150, 100),
        invite("abc", 100),
        guild_event("GUILD_CREATE", guild(300, 1, &[1])),
        guild_event("GUILD_UPDATE", guild(200, 3, &[1, 2])),
        presence(3),
        guild_delete(300),
        event(json!({"t": "MESSAGE_CREATE", "d": {}})),
        guild_event("GUILD_JOIN", guild(400, 1, &[1, 2])),
        invite("def", 400),
    ]
}

fn configs() -> Vec<ResourceType> {
    let one_each = [
        ResourceType::CURRENT_USER,
        ResourceType::GUILD,
        ResourceType::CHANNEL,
        ResourceType::ROLE,
        ResourceType::EMOJI,
        ResourceType::MEMBER,
        ResourceType::PRESENCE,
        ResourceType::INVITE,
    ];
    let mut configs = vec![ResourceType::ALL, ResourceType::NONE];
    for resource in one_each {
        configs.push(resource);
        configs.push(ResourceType::ALL - resource);
        configs.push(ResourceType::GUILD | resource);
    }
    configs
}

#[test]
fn only_the_wanted_events_give_the_same_cache() {
    for resources in configs() {
        let everything = Cache::builder().resources(resources).build();
        let filtered = Cache::builder().resources(resources).build();
        let wanted = filtered.wanted_events();
        for event in session() {
            everything.update(&event);
            if wanted.contains(event.kind()) {
                filtered.update(&event);
            }
        }
        assert_eq!(filtered.snapshot(), everything.snapshot(), "{resources:?}");
    }
}

#[test]
fn the_wanted_set_follows_the_resources() {
    assert_eq!(
        Cache::builder()
            .resources(ResourceType::NONE)
            .build()
            .wanted_events(),
        EventKinds::NONE
    );
    let all = Cache::new().wanted_events();
    for kind in [
        EventKind::Notification,
        EventKind::Hello,
        EventKind::HeartbeatAck,
        EventKind::Unknown,
    ] {
        assert!(!all.contains(kind), "{kind:?}");
    }
    let no_presence = Cache::builder()
        .resources(ResourceType::ALL - ResourceType::PRESENCE)
        .build()
        .wanted_events();
    assert_eq!(no_presence, all - EventKind::PresenceUpdate);
}

/// Through a shard's messages (feature `gateway`): a skipped event ends a
/// READY's refresh as a decoded one would; a skipped GUILD_INIT does not.
#[cfg(feature = "gateway")]
#[test]
fn a_skipped_live_event_ends_the_refresh() {
    use ayaka_gateway::{ShardId, ShardMessage, SkippedEvent};
    use ayaka_model::GuildId;

    let skipped = |kind| {
        ShardMessage::Skipped(SkippedEvent::new(
            ShardId(0),
            kind,
            bytes::Bytes::from_static(b"{}"),
        ))
    };
    let cache = Cache::new();
    let feed = ayaka_cache::FeedId::from(ShardId(0));
    cache.update_from(feed, &ready(1));
    cache.update_from(feed, &guild_event("GUILD_INIT", guild(100, 0, &[1])));
    cache.update_from(feed, &guild_event("GUILD_INIT", guild(300, 0, &[1])));
    cache.update_from(feed, &presence(1));
    // a reconnect: 300 was deleted meanwhile
    cache.update_from(feed, &ready(1));
    cache.update_from(feed, &guild_event("GUILD_INIT", guild(100, 0, &[1])));
    cache.update(&skipped(EventKind::GuildInit));
    assert!(cache.is_resyncing());
    cache.update(&skipped(EventKind::PresenceUpdate));
    assert!(!cache.is_resyncing());
    assert!(cache.guild(GuildId::new(300)).is_none());
    assert!(cache.guild(GuildId::new(100)).is_some());
}
