//! What each event does to the cache, and what deleting a guild removes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_cache::{Cache, ResourceType};
use ayaka_model::{ChannelId, GuildId, RoleId, UserId};
use common::*;

#[test]
fn ready_sets_the_current_user() {
    let cache = Cache::new();
    cache.update(&ready(1));
    assert_eq!(cache.current_user().unwrap().id, UserId::new(1));
    assert_eq!(cache.user(UserId::new(1)).unwrap().username, "user1");
}

#[test]
fn guild_init_caches_the_guild_and_all_it_holds() {
    let cache = Cache::new();
    cache.update(&ready(1));
    cache.update(&guild_event("GUILD_INIT", guild(100, 3, &[1, 2, 3])));
    let id = GuildId::new(100);
    assert_eq!(cache.guild(id).unwrap().name, "guild100");
    assert_eq!(cache.guild_channels(id).len(), 3);
    let channel = cache.channel(ChannelId::new(110)).unwrap();
    assert_eq!(channel.guild_id(), Some(id), "channels learn their guild");
    assert_eq!(cache.guild_roles(id)[0].id, RoleId::new(101));
    assert_eq!(cache.guild_emojis(id)[0].name, "wave");
    assert_eq!(cache.guild_members(id).len(), 3);
    let member = cache.member_with_user(id, UserId::new(2)).unwrap();
    assert_eq!(member.user.username, "user2");
    assert_eq!(member.roles, vec![RoleId::new(101)]);
    assert_eq!(cache.user_guilds(UserId::new(2)), vec![id]);
    assert_eq!(cache.user_guilds(UserId::new(1)), vec![id]);
}

#[test]
fn users_are_stored_once_across_guilds() {
    let cache = Cache::new();
    cache.update(&guild_event("GUILD_INIT", guild(100, 0, &[1, 2])));
    cache.update(&guild_event("GUILD_INIT", guild(200, 0, &[1, 2])));
    let stats = cache.stats();
    assert_eq!(stats.members, 4);
    assert_eq!(stats.users, 2);
    assert_eq!(
        cache.user_guilds(UserId::new(2)),
        vec![GuildId::new(100), GuildId::new(200)]
    );
}

#[test]
fn guild_update_replaces_fields_and_roles_but_keeps_channels_and_members() {
    let cache = Cache::new();
    cache.update(&guild_event("GUILD_CREATE", guild(100, 2, &[1])));
    let mut updated = guild(100, 0, &[]);
    updated["name"] = "renamed".into();
    updated["roles"] = serde_json::json!([{"id": 555, "name": "mods", "position": 1,
                                           "color": "#fff", "permissions": []}]);
    updated.as_object_mut().unwrap().remove("channels");
    updated.as_object_mut().unwrap().remove("members");
    cache.update(&guild_event("GUILD_UPDATE", updated));
    let id = GuildId::new(100);
    assert_eq!(cache.guild(id).unwrap().name, "renamed");
    assert!(
        cache.role(RoleId::new(101)).is_none(),
        "the old role is gone"
    );
    assert_eq!(cache.guild_roles(id)[0].name, "mods");
    assert_eq!(cache.guild_channels(id).len(), 2);
    assert_eq!(cache.guild_members(id).len(), 1);
}

#[test]
fn channel_invite_and_presence_events_are_cached() {
    let cache = Cache::new();
    cache.update(&guild_event("GUILD_CREATE", guild(100, 0, &[1, 2])));
    cache.update(&channel_create(150, 100));
    cache.update(&invite("abc", 100));
    cache.update(&presence(2));
    let id = GuildId::new(100);
    assert_eq!(cache.guild_channels(id)[0].id(), ChannelId::new(150));
    assert_eq!(cache.invite("abc").unwrap().guild_id, id);
    assert_eq!(cache.guild_invites(id).len(), 1);
    assert_eq!(
        cache
            .presence(UserId::new(2))
            .unwrap()
            .description
            .as_deref(),
        Some("here")
    );
}

#[test]
fn guild_delete_removes_everything_only_it_held() {
    let cache = Cache::new();
    cache.update(&ready(1));
    cache.update(&guild_event("GUILD_INIT", guild(100, 2, &[1, 2, 3])));
    cache.update(&guild_event("GUILD_INIT", guild(200, 1, &[1, 3])));
    cache.update(&invite("abc", 100));
    cache.update(&presence(2));
    cache.update(&presence(3));
    cache.update(&guild_delete(100));

    let gone = GuildId::new(100);
    assert!(cache.guild(gone).is_none());
    assert!(cache.guild_channels(gone).is_empty());
    assert!(cache.channel(ChannelId::new(110)).is_none());
    assert!(cache.role(RoleId::new(101)).is_none());
    assert!(cache.invite("abc").is_none());
    assert!(cache.member(gone, UserId::new(3)).is_none());
    // User 2 was only in the deleted guild: gone with its presence.
    assert!(cache.user(UserId::new(2)).is_none());
    assert!(cache.presence(UserId::new(2)).is_none());
    // User 3 shares the other guild: kept, presence too.
    assert!(cache.user(UserId::new(3)).is_some());
    assert!(cache.presence(UserId::new(3)).is_some());
    assert_eq!(cache.user_guilds(UserId::new(3)), vec![GuildId::new(200)]);
    // The current user stays whatever happens.
    assert!(cache.user(UserId::new(1)).is_some());

    let stats = cache.stats();
    assert_eq!(
        (stats.guilds, stats.channels, stats.roles, stats.emojis),
        (1, 1, 1, 1)
    );
    assert_eq!((stats.members, stats.users, stats.invites), (2, 2, 0));
}

#[test]
fn unwanted_resources_are_not_kept() {
    let cache = Cache::builder()
        .resources(ResourceType::ALL - ResourceType::PRESENCE - ResourceType::MEMBER)
        .build();
    cache.update(&guild_event("GUILD_INIT", guild(100, 1, &[1, 2])));
    cache.update(&presence(2));
    let stats = cache.stats();
    assert_eq!((stats.guilds, stats.channels), (1, 1));
    assert_eq!((stats.members, stats.users, stats.presences), (0, 0, 0));

    let nothing = Cache::builder().resources(ResourceType::NONE).build();
    nothing.update(&ready(1));
    nothing.update(&guild_event("GUILD_INIT", guild(100, 1, &[1, 2])));
    assert_eq!(nothing.stats(), Default::default());
    assert!(nothing.current_user().is_none());
}

#[test]
fn size_bounds_cap_members_presences_and_invites() {
    let cache = Cache::builder()
        .max_members(5)
        .max_presences(2)
        .max_invites(1)
        .build();
    let members: Vec<u64> = (1..=10).collect();
    cache.update(&guild_event("GUILD_INIT", guild(100, 0, &members)));
    for user in 1..=10 {
        cache.update(&presence(user));
    }
    cache.update(&invite("a", 100));
    cache.update(&invite("b", 100));
    let stats = cache.stats();
    assert_eq!(stats.members, 5);
    assert_eq!(stats.users, 5, "users of dropped members are not kept");
    assert_eq!(stats.presences, 2);
    assert_eq!(stats.invites, 1);
    assert_eq!(stats.dropped, 5 + 8 + 1);
    // Replacing an entry already held is not blocked by the bound.
    cache.update(&presence(1));
    assert_eq!(cache.stats().presences, 2);
}

#[test]
fn unknown_and_control_events_change_nothing() {
    let cache = Cache::new();
    cache.update(&guild_event("GUILD_CREATE", guild(100, 1, &[1])));
    let before = cache.snapshot();
    cache.update(&event(
        serde_json::json!({"t": "SOMETHING_NEW", "d": {"x": 1}}),
    ));
    cache.update(&event(serde_json::json!({"t": "ACK"})));
    cache.update(&event(
        serde_json::json!({"t": "NOTIFICATION", "type": "MESSAGE", "excerpt": {}}),
    ));
    assert_eq!(cache.snapshot(), before);
}

#[test]
fn rest_results_update_the_cache_too() {
    let cache = Cache::new();
    // GET /guilds/{id}: a guild without channels or members.
    let mut fetched = guild(100, 0, &[]);
    fetched.as_object_mut().unwrap().remove("channels");
    fetched.as_object_mut().unwrap().remove("members");
    let fetched: ayaka_model::Guild = serde_json::from_value(fetched).unwrap();
    cache.update(&fetched);
    assert_eq!(cache.guild(GuildId::new(100)).unwrap().name, "guild100");

    // POST /invites/{code}: the joined member, attributed by `guild_id`.
    let mut joined: ayaka_model::Member = serde_json::from_value(member(7, &[101])).unwrap();
    cache.update(&joined);
    assert!(
        cache.member(GuildId::new(100), UserId::new(7)).is_none(),
        "no guild_id: skipped"
    );
    joined.guild_id = Some(GuildId::new(100));
    cache.update(&joined);
    assert_eq!(cache.guild_members(GuildId::new(100)).len(), 1);
    assert_eq!(cache.user_guilds(UserId::new(7)), vec![GuildId::new(100)]);

    // POST /guilds/{id}/channels and GET /users/@me.
    let mut created = channel(150, 2);
    created["guild_id"] = serde_json::json!(100);
    let created: ayaka_model::Channel = serde_json::from_value(created).unwrap();
    cache.update(&created);
    assert_eq!(cache.guild_channels(GuildId::new(100)).len(), 1);
    let me: ayaka_model::User = serde_json::from_value(user(1)).unwrap();
    cache.update(&me);
    assert_eq!(cache.current_user().unwrap().id, UserId::new(1));
}
