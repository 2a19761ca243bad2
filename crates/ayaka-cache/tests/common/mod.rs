//! Events as the server sends them.
#![allow(dead_code, unreachable_pub)]

use ayaka_model::gateway::Event;
use serde_json::{Value, json};

pub fn event(value: Value) -> Event {
    Event::from_json(value.to_string().as_bytes()).unwrap()
}

pub fn user(id: u64) -> Value {
    json!({"id": id, "username": format!("user{id}"), "separator": id % 10000,
           "flags": [], "verified": false, "system": false, "email_verified": false})
}

pub fn member(user_id: u64, roles: &[u64]) -> Value {
    json!({"user": user(user_id), "nick": null, "avatar_url": null, "banner_url": null,
           "joined_at": "2024-05-01T12:00:00Z", "deaf": false, "mute": false,
           "owner": false, "roles": roles})
}

pub fn channel(id: u64, kind: u8) -> Value {
    json!({"id": id, "name": format!("channel{id}"), "description": null,
           "inside_of": 0, "type": kind, "position": 0})
}

/// A guild `id` owned by user 1, with role `id+1`, emoji `id+2`, channels
/// `id+10..id+10+channels` and the given member user ids.
pub fn guild(id: u64, channels: u64, members: &[u64]) -> Value {
    json!({
        "id": id, "name": format!("guild{id}"), "description": null, "banner": null,
        "invite_banner": null, "vanity_url": null, "verified": false, "partnered": false,
        "official": false, "owner": 1,
        "roles": [{"id": id + 1, "name": "@everyone", "position": 0, "color": "#000000",
                   "permissions": ["CREATE_INVITE"]}],
        "emojis": [{"id": id + 2, "name": "wave"}],
        "channels": (0..channels).map(|n| channel(id + 10 + n, 2)).collect::<Vec<_>>(),
        "members": members.iter().map(|m| member(*m, &[id + 1])).collect::<Vec<_>>(),
    })
}

pub fn ready(user_id: u64) -> Event {
    event(json!({"t": "READY", "d": user(user_id)}))
}

pub fn guild_event(name: &str, guild: Value) -> Event {
    event(json!({"t": name, "d": guild}))
}

pub fn guild_delete(id: u64) -> Event {
    event(json!({"t": "GUILD_DELETE", "d": {"id": id}}))
}

pub fn presence(user_id: u64) -> Event {
    event(json!({"t": "PRESENCE_UPDATE", "id": user_id, "d": {"type": 1, "description": "here"}}))
}

pub fn invite(code: &str, guild: u64) -> Event {
    event(
        json!({"t": "INVITE_CREATE", "d": {"code": code, "guild_id": guild, "inviter_id": 1,
                                            "created_at": "2024-05-01T12:00:00Z"}}),
    )
}

pub fn channel_create(id: u64, guild: u64) -> Event {
    let mut channel = channel(id, 2);
    channel["guild_id"] = json!(guild);
    event(json!({"t": "CHANNEL_CREATE", "d": channel}))
}
