//! The baseline the cache is measured against: the obvious cache, whole
//! model objects behind one `RwLock<HashMap>` per kind.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::RwLock;

use ayaka_model::gateway::Event;
use ayaka_model::{Channel, Guild, GuildId, Invite, Presence, UserId};

use crate::{SessionShape, session};

/// The obvious cache: whole objects behind one lock per kind.
#[derive(Default)]
pub struct RwLockCache {
    /// Guilds, whole.
    pub guilds: RwLock<HashMap<GuildId, Guild>>,
    /// Channels.
    pub channels: RwLock<HashMap<u64, Channel>>,
    /// Presences.
    pub presences: RwLock<HashMap<UserId, Presence>>,
    /// Invites.
    pub invites: RwLock<HashMap<String, Invite>>,
}

impl RwLockCache {
    /// Applies one event.
    pub fn update(&self, event: &Event) {
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

/// A generated session, parsed.
pub fn parsed_session(shape: &SessionShape) -> Vec<Event> {
    session(shape)
        .iter()
        .map(|text| Event::from_json(text.as_bytes()).unwrap())
        .collect()
}
