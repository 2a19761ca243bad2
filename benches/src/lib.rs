//! Shared fixtures for the benches: a realistic recorded gateway session,
//! and the runtime and permit of the rate-limiter benches ([`limiter`]).
//!
//! The session is what one user in many guilds receives: READY, a
//! GUILD_INIT per guild (channels, roles, emojis, members), then live
//! traffic dominated by presence updates, as on any chat platform.

pub mod inflate;
pub mod limiter;
mod rwlock_cache;

pub use rwlock_cache::{RwLockCache, parsed_session};
use serde_json::{Value, json};

/// Set by `cargo xtask bench` to the number of the round it runs (from 1).
pub const ROUND_VAR: &str = "AYAKA_BENCH_ROUND";

/// Whether this round measures the baseline before ours: every other round
/// does, so that a drift of the machine over a round (it warms up, a
/// neighbour starts) favours each side equally often instead of always the
/// one measured first. Outside `cargo xtask bench`, ours goes first.
pub fn baseline_first() -> bool {
    std::env::var(ROUND_VAR)
        .ok()
        .and_then(|round| round.parse::<u64>().ok())
        .is_some_and(|round| round % 2 == 0)
}

/// Shape of a generated session.
#[derive(Debug, Clone, Copy)]
pub struct SessionShape {
    /// Guilds the user is in.
    pub guilds: u64,
    /// Channels per guild.
    pub channels_per_guild: u64,
    /// Members per guild (drawn from a shared pool of users, so users
    /// overlap between guilds as they do in reality).
    pub members_per_guild: u64,
    /// Live events after the initial sync.
    pub live_events: u64,
}

impl SessionShape {
    /// A mid-sized bot: 50 guilds of 100 members, 2000 live events.
    pub const REALISTIC: Self = Self {
        guilds: 50,
        channels_per_guild: 8,
        members_per_guild: 100,
        live_events: 2_000,
    };
}

fn user(id: u64) -> Value {
    json!({"id": id, "username": format!("user{id}"), "separator": id % 10_000,
           "bio": "hello there", "avatar_url": format!("https://cdn.example/a/{id}.png"),
           "banner_url": null, "flags": ["EARLY"], "verified": true, "system": false,
           "email_verified": true})
}

fn member(user_id: u64, role: u64) -> Value {
    json!({"user": user(user_id), "nick": null, "avatar_url": null, "banner_url": null,
           "joined_at": "2024-05-01T12:00:00Z", "deaf": false, "mute": false,
           "owner": false, "roles": [role]})
}

fn channel(id: u64, guild: u64, position: u64) -> Value {
    let kind = if position == 0 { 1 } else { 2 };
    json!({"id": id, "name": format!("channel-{id}"), "description": "talk here",
           "inside_of": 0, "type": kind, "position": position, "guild_id": guild})
}

/// The guild with id `id`, its members drawn from a pool of `pool` users.
pub fn guild(id: u64, shape: &SessionShape, pool: u64) -> Value {
    let role = id + 1;
    json!({
        "id": id, "name": format!("guild {id}"), "description": "a guild for benchmarks",
        "banner": null, "invite_banner": null, "vanity_url": null,
        "verified": false, "partnered": false, "official": false, "owner": 1,
        "roles": [
            {"id": role, "name": "@everyone", "position": 0, "color": "#000000",
             "permissions": ["CREATE_INVITE"]},
            {"id": id + 2, "name": "mods", "position": 1, "color": "#ff0000",
             "permissions": ["MANAGE_CHANNELS", "MANAGE_GUILD"]}
        ],
        "emojis": [{"id": id + 3, "name": "wave", "animated": false}],
        "channels": (0..shape.channels_per_guild)
            .map(|n| channel(id + 100 + n, id, n)).collect::<Vec<_>>(),
        "members": (0..shape.members_per_guild)
            .map(|n| member(1 + (id * 7 + n * 13) % pool, role)).collect::<Vec<_>>(),
    })
}

/// A whole session as the JSON text of each gateway message, in order.
pub fn session(shape: &SessionShape) -> Vec<String> {
    let pool = (shape.guilds * shape.members_per_guild / 2).max(1);
    let guild_id = |n: u64| 1_000_000 + n * 1_000;
    let mut events = vec![json!({"t": "READY", "d": user(1)})];
    for n in 0..shape.guilds {
        events.push(json!({"t": "GUILD_INIT", "d": guild(guild_id(n), shape, pool)}));
    }
    for i in 0..shape.live_events {
        let target = guild_id(i % shape.guilds.max(1));
        let event = match i % 10 {
            0..=5 => json!({"t": "PRESENCE_UPDATE", "id": 1 + i % pool,
                            "d": {"type": 1 + i % 4, "description": "working",
                                  "emoji": null}}),
            6 => {
                let mut g = guild(target, shape, pool);
                let object = g.as_object_mut();
                if let Some(object) = object {
                    object.remove("channels");
                    object.remove("members");
                }
                json!({"t": "GUILD_UPDATE", "d": g})
            }
            7 => json!({"t": "CHANNEL_CREATE", "d": channel(target + 500 + i, target, 9)}),
            8 => json!({"t": "INVITE_CREATE", "d": {"code": format!("inv{i}"),
                        "guild_id": target, "inviter_id": 1,
                        "created_at": "2024-05-01T12:00:00Z"}}),
            _ => json!({"t": "NOTIFICATION", "type": "MESSAGE",
                        "excerpt": {"content": "hi", "channel_id": target + 101}}),
        };
        events.push(event);
    }
    events.iter().map(envelope_text).collect()
}

/// An event's JSON as the local server writes it: `t` first, so that a
/// reader knows the kind before `d` (a `Value`'s map would sort `d` first,
/// and a reader must then buffer `d` until the name comes).
fn envelope_text(event: &Value) -> String {
    let mut event = event.clone();
    let Some(name) = event.as_object_mut().and_then(|object| object.remove("t")) else {
        return event.to_string();
    };
    let rest = event.to_string();
    match rest.strip_prefix('{').filter(|rest| *rest != "}") {
        Some(rest) => format!("{{\"t\":{name},{rest}"),
        None => format!("{{\"t\":{name}}}"),
    }
}
