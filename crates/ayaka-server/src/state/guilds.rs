//! Guilds, their members, channels and invites.

use std::collections::HashMap;

use ayaka_model::request::{CreateChannel, CreateGuild, UpdateGuild};
use ayaka_model::{
    Category, Channel, ChannelType, Guild, Invite, Member, PartialGuild, Permission, Role,
    TextChannel, Timestamp,
};
use ayaka_snowflake::{GuildId, RoleId, UserId};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use super::journal::{Change, GuildRow};
use super::{Denied, Store};

/// A guild as stored. `guild.channels` and `guild.members` stay `None`:
/// they are filled in from `channels` and `members` when sent.
pub(crate) struct GuildRecord {
    pub(super) guild: Guild,
    pub(super) members: HashMap<UserId, MemberRecord>,
    pub(super) channels: Vec<Channel>,
    pub(super) invite_codes: Vec<String>,
}

pub(super) struct MemberRecord {
    pub(super) joined_at: Timestamp,
    pub(super) roles: Vec<RoleId>,
}

impl MemberRecord {
    /// The membership's row.
    fn change(&self, guild: GuildId, user: UserId) -> Change {
        Change::Member {
            guild,
            user,
            joined_at: self.joined_at.to_string(),
            roles: serde_json::to_string(&self.roles).unwrap_or_else(|_| "[]".to_owned()),
        }
    }
}

/// Tells the members about a change, called while the guild is still
/// locked: events about one guild are then queued in the order its changes
/// happened, and none can follow its GUILD_DELETE (which would leave a
/// client's cache holding a piece of a deleted guild). It must not touch
/// the store (fan-out only touches the hub).
pub(crate) trait Announce<T>: FnOnce(&T, &mut dyn Iterator<Item = UserId>) {}

impl<T, F: FnOnce(&T, &mut dyn Iterator<Item = UserId>)> Announce<T> for F {}

impl GuildRecord {
    /// The guild's row (its roles included).
    fn change(&self) -> Change {
        let roles = self
            .guild
            .roles
            .iter()
            .map(|role| {
                (
                    role.id.get(),
                    serde_json::to_string(role).unwrap_or_default(),
                )
            })
            .collect();
        let guild = Guild {
            roles: Vec::new(),
            channels: None,
            members: None,
            ..self.guild.clone()
        };
        Change::Guild(GuildRow {
            id: self.guild.id,
            json: serde_json::to_string(&guild).unwrap_or_default(),
            roles,
        })
    }

    pub(crate) fn member_ids(&self) -> impl Iterator<Item = UserId> + '_ {
        self.members.keys().copied()
    }

    fn allows(&self, user: UserId, permission: &Permission) -> Result<(), Denied> {
        let member = self.members.get(&user).ok_or(Denied::NotMember)?;
        if self.guild.owner == user {
            return Ok(());
        }
        let allowed = self
            .guild
            .roles
            .iter()
            .filter(|role| member.roles.contains(&role.id))
            .any(|role| role.allows(permission));
        if allowed {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }
}

/// A new invite code: 72 random bits, URL-safe.
fn invite_code() -> String {
    let mut bytes = [0_u8; 9];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Store {
    /// Creates a guild owned by `owner`, with the default `@everyone` role.
    pub(crate) fn create_guild(&self, owner: UserId, body: CreateGuild) -> Guild {
        let id = self.next_guild_id();
        let everyone = Role {
            id: self.next_role_id(),
            name: "@everyone".to_owned(),
            position: 0,
            color: "#000000".to_owned(),
            permissions: vec![Permission::CreateInvite],
        };
        let guild = Guild {
            id,
            name: body.name,
            description: body.description,
            banner: None,
            invite_banner: None,
            vanity_url: None,
            verified: false,
            partnered: false,
            official: false,
            owner,
            emojis: Vec::new(),
            roles: vec![everyone.clone()],
            channels: None,
            members: None,
        };
        let mut members = HashMap::new();
        members.insert(
            owner,
            MemberRecord {
                joined_at: Timestamp::now(),
                roles: vec![everyone.id],
            },
        );
        let record = GuildRecord {
            guild: guild.clone(),
            members,
            channels: Vec::new(),
            invite_codes: Vec::new(),
        };
        // Hold the guild entry while indexing the membership, so that a
        // concurrent delete sees both or neither.
        let entry = self.guilds.entry(id).or_insert(record);
        self.memberships.entry(owner).or_default().insert(id);
        self.record(|| {
            let mut changes = vec![entry.change()];
            changes.extend(
                entry
                    .members
                    .iter()
                    .map(|(user, member)| member.change(id, *user)),
            );
            changes
        });
        drop(entry);
        guild
    }

    /// Whether the guild exists.
    pub(crate) fn guild_exists(&self, id: GuildId) -> bool {
        self.guilds.contains_key(&id)
    }

    /// The guild, if `user` is a member.
    pub(crate) fn guild_for(&self, id: GuildId, user: UserId) -> Result<Guild, Denied> {
        let record = self.guilds.get(&id).ok_or(Denied::NoGuild)?;
        if !record.members.contains_key(&user) {
            return Err(Denied::NotMember);
        }
        Ok(record.guild.clone())
    }

    /// The public part of a guild.
    pub(crate) fn preview(&self, id: GuildId) -> Option<PartialGuild> {
        self.guilds.get(&id).map(|record| record.guild.preview())
    }

    /// The guild with its `channels` and `members`, as GUILD_INIT and
    /// GUILD_JOIN carry it.
    pub(crate) fn full_guild(&self, id: GuildId) -> Option<Guild> {
        let record = self.guilds.get(&id)?;
        Some(self.full_view(&record))
    }

    /// A record as GUILD_INIT and GUILD_JOIN carry it. Reads users while
    /// the guild entry is held, which the lock order allows.
    fn full_view(&self, record: &GuildRecord) -> Guild {
        let mut guild = record.guild.clone();
        guild.channels = Some(record.channels.clone());
        let members = record
            .members
            .iter()
            .filter_map(|(user, member)| {
                let user = self.public_user(*user)?;
                Some(self.member_view(&record.guild, user, member.joined_at, member.roles.clone()))
            })
            .collect();
        guild.members = Some(members);
        guild
    }

    fn member_view(
        &self,
        guild: &Guild,
        user: ayaka_model::User,
        joined_at: Timestamp,
        roles: Vec<RoleId>,
    ) -> Member {
        Member {
            owner: guild.owner == user.id,
            user,
            nick: None,
            avatar_url: None,
            banner_url: None,
            joined_at,
            deaf: false,
            mute: false,
            roles,
            guild_id: None,
        }
    }

    /// Applies an update if `user` may (owner, `MANAGE_GUILD` or
    /// `ADMINISTRATOR`), and returns the guild. `announce` gets it and the
    /// members while the guild is still locked (see [`Announce`]).
    pub(crate) fn update_guild(
        &self,
        id: GuildId,
        user: UserId,
        body: UpdateGuild,
        announce: impl Announce<Guild>,
    ) -> Result<Guild, Denied> {
        let mut record = self.guilds.get_mut(&id).ok_or(Denied::NoGuild)?;
        record.allows(user, &Permission::ManageGuild)?;
        let guild = &mut record.guild;
        if let Some(name) = body.name {
            guild.name = name;
        }
        if let Some(description) = body.description {
            guild.description = Some(description);
        }
        if let Some(banner) = body.banner {
            guild.banner = Some(banner);
        }
        if let Some(invite_banner) = body.invite_banner {
            guild.invite_banner = Some(invite_banner);
        }
        if let Some(vanity_url) = body.vanity_url {
            guild.vanity_url = Some(vanity_url);
        }
        self.record(|| vec![record.change()]);
        announce(&record.guild, &mut record.member_ids());
        Ok(record.guild.clone())
    }

    /// Deletes a guild if `user` owns it, with everything that refers to
    /// it. Returns the former members.
    pub(crate) fn delete_guild(&self, id: GuildId, user: UserId) -> Result<Vec<UserId>, Denied> {
        {
            let record = self.guilds.get(&id).ok_or(Denied::NoGuild)?;
            if !record.members.contains_key(&user) {
                return Err(Denied::NotMember);
            }
            if record.guild.owner != user {
                return Err(Denied::Forbidden);
            }
        }
        let (_, record) = self.guilds.remove(&id).ok_or(Denied::NoGuild)?;
        // Recorded as the guild goes: a change to it recorded earlier (under
        // its lock) is before this one, and none can come after.
        self.record(|| vec![Change::GuildDeleted(id)]);
        for code in &record.invite_codes {
            self.invites.remove(code);
        }
        let members: Vec<UserId> = record.member_ids().collect();
        for member in &members {
            if let Some(mut guilds) = self.memberships.get_mut(member) {
                guilds.remove(&id);
            }
            self.memberships
                .remove_if(member, |_, guilds| guilds.is_empty());
        }
        Ok(members)
    }

    /// The guild's channels, if `user` is a member.
    pub(crate) fn channels(&self, id: GuildId, user: UserId) -> Result<Vec<Channel>, Denied> {
        let record = self.guilds.get(&id).ok_or(Denied::NoGuild)?;
        if !record.members.contains_key(&user) {
            return Err(Denied::NotMember);
        }
        Ok(record.channels.clone())
    }

    /// Creates a channel if `user` may (`MANAGE_CHANNELS`), and returns it
    /// with its `guild_id`, announced as [`update_guild`](Self::update_guild)
    /// does.
    pub(crate) fn create_channel(
        &self,
        id: GuildId,
        user: UserId,
        body: CreateChannel,
        announce: impl Announce<Channel>,
    ) -> Result<Channel, Denied> {
        let channel_id = self.next_channel_id();
        let mut record = self.guilds.get_mut(&id).ok_or(Denied::NoGuild)?;
        record.allows(user, &Permission::ManageChannels)?;
        if let Some(parent) = body.inside_of {
            let is_category = record
                .channels
                .iter()
                .any(|channel| channel.id() == parent && channel.kind() == ChannelType::Category);
            if !is_category {
                return Err(Denied::NoCategory);
            }
        }
        let position = body
            .position
            .unwrap_or_else(|| i32::try_from(record.channels.len()).unwrap_or(i32::MAX));
        let mut channel = match body.kind {
            ChannelType::Category => Channel::Category(Category {
                id: channel_id,
                name: body.name,
                description: body.description,
                inside_of: 0,
                position,
                guild_id: None,
            }),
            kind => {
                let text = TextChannel {
                    id: channel_id,
                    name: body.name,
                    description: body.description,
                    inside_of: body.inside_of,
                    position,
                    guild_id: None,
                };
                if kind == ChannelType::Voice {
                    Channel::Voice(text)
                } else {
                    Channel::Text(text)
                }
            }
        };
        channel.set_guild_id(id);
        record.channels.push(channel.clone());
        let ordinal = record.channels.len() - 1;
        self.record(|| {
            vec![Change::Channel {
                guild: id,
                id: channel_id.get(),
                ordinal,
                json: serde_json::to_string(&channel).unwrap_or_default(),
            }]
        });
        announce(&channel, &mut record.member_ids());
        Ok(channel)
    }

    /// Creates an invite if `user` may (`CREATE_INVITE`), and returns it,
    /// announced as [`update_guild`](Self::update_guild) does.
    pub(crate) fn create_invite(
        &self,
        id: GuildId,
        user: UserId,
        announce: impl Announce<Invite>,
    ) -> Result<Invite, Denied> {
        let mut record = self.guilds.get_mut(&id).ok_or(Denied::NoGuild)?;
        record.allows(user, &Permission::CreateInvite)?;
        let invite = Invite {
            code: invite_code(),
            guild_id: id,
            inviter_id: user,
            created_at: Timestamp::now(),
        };
        record.invite_codes.push(invite.code.clone());
        self.invites.insert(invite.code.clone(), id);
        self.record(|| {
            vec![Change::Invite {
                code: invite.code.clone(),
                guild: id,
            }]
        });
        announce(&invite, &mut record.member_ids());
        Ok(invite)
    }

    /// Joins the guild an invite leads to, and returns the membership (the
    /// existing one for a member already). `None` for an unknown code.
    /// When `user` was not a member yet, `announce` gets the guild as
    /// GUILD_JOIN carries it, while the guild is still locked (see
    /// [`Announce`]: it cannot then arrive after a GUILD_DELETE, nor miss a
    /// channel created meanwhile).
    pub(crate) fn join(
        &self,
        code: &str,
        user: UserId,
        announce: impl FnOnce(Guild),
    ) -> Option<Member> {
        let guild_id = *self.invites.get(code)?;
        let mut record = self.guilds.get_mut(&guild_id)?;
        let everyone: Vec<RoleId> = record.guild.roles.iter().take(1).map(|r| r.id).collect();
        let mut joined = false;
        let member = record.members.entry(user).or_insert_with(|| {
            joined = true;
            MemberRecord {
                joined_at: Timestamp::now(),
                roles: everyone,
            }
        });
        let (joined_at, roles) = (member.joined_at, member.roles.clone());
        if joined {
            self.record(|| vec![member.change(guild_id, user)]);
        }
        // Indexed under the guild entry: see `create_guild`.
        self.memberships.entry(user).or_default().insert(guild_id);
        if joined {
            announce(self.full_view(&record));
        }
        let mut member = self.member_view(&record.guild, self.public_user(user)?, joined_at, roles);
        member.guild_id = Some(guild_id);
        Some(member)
    }

    /// How many guilds, invites and membership entries exist.
    pub(crate) fn guild_counts(&self) -> (usize, usize, usize) {
        (
            self.guilds.len(),
            self.invites.len(),
            self.memberships.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ayaka_model::request::{CreateChannel, CreateGuild, CreateUser, UpdateGuild};
    use ayaka_model::{ChannelType, Permission, Role};
    use ayaka_snowflake::Generator;

    use super::*;
    use crate::state::{quiet, test_user};

    /// Gives `user` a new role with `permissions` (no REST route does: the
    /// documents have none).
    fn grant(store: &Store, guild: GuildId, user: UserId, permissions: Vec<Permission>) {
        let role = Role {
            id: store.next_role_id(),
            name: "granted".to_owned(),
            position: 1,
            color: "#ffffff".to_owned(),
            permissions,
        };
        let mut record = store.guilds.get_mut(&guild).unwrap();
        record.members.get_mut(&user).unwrap().roles.push(role.id);
        record.guild.roles.push(role);
    }

    /// A fresh store holding one guild and its owner.
    fn guild_with_owner() -> (Store, UserId, GuildId) {
        let store = Store::new(Generator::new());
        let body = CreateUser::new("o", 1, "o@example.com", "password1");
        let owner = store.create_user(body, String::new()).unwrap().id;
        let guild = store.create_guild(owner, CreateGuild::new("g")).id;
        (store, owner, guild)
    }

    fn member(store: &Store, guild: GuildId, owner: UserId, name: &str) -> UserId {
        let body = CreateUser::new(name, 1, format!("{name}@example.com"), "password1");
        let user = store.create_user(body, String::new()).unwrap().id;
        let invite = store.create_invite(guild, owner, quiet).unwrap();
        store.join(&invite.code, user, |_| {}).unwrap();
        user
    }

    #[test]
    fn roles_grant_exactly_their_permissions() {
        let (store, owner, guild) = guild_with_owner();
        let admin = member(&store, guild, owner, "admin");
        let manager = member(&store, guild, owner, "manager");
        let builder = member(&store, guild, owner, "builder");
        grant(&store, guild, admin, vec![Permission::Administrator]);
        grant(&store, guild, manager, vec![Permission::ManageGuild]);
        grant(&store, guild, builder, vec![Permission::ManageChannels]);

        let rename = || UpdateGuild::new().name("x");
        let channel = || CreateChannel::new("c", ChannelType::Text);
        assert!(store.update_guild(guild, admin, rename(), quiet).is_ok());
        assert!(store.create_channel(guild, admin, channel(), quiet).is_ok());
        assert!(store.update_guild(guild, manager, rename(), quiet).is_ok());
        assert_eq!(
            store
                .create_channel(guild, manager, channel(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        assert_eq!(
            store
                .update_guild(guild, builder, rename(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        assert!(
            store
                .create_channel(guild, builder, channel(), quiet)
                .is_ok()
        );
        // only the owner deletes, administrators included
        assert_eq!(
            store.delete_guild(guild, admin).unwrap_err(),
            Denied::Forbidden
        );
        assert!(store.delete_guild(guild, owner).is_ok());
    }

    #[test]
    fn joins_racing_a_delete_leave_nothing_behind() {
        for _ in 0..20 {
            let (store, owner, guild) = guild_with_owner();
            let invite = store.create_invite(guild, owner, quiet).unwrap();
            let users: Vec<UserId> = (0..64)
                .map(|i| {
                    let body = CreateUser::new(
                        format!("u{i}"),
                        1,
                        format!("u{i}@example.com"),
                        "password1",
                    );
                    store.create_user(body, String::new()).unwrap().id
                })
                .collect();
            std::thread::scope(|scope| {
                for chunk in users.chunks(16) {
                    let (store, code) = (&store, &invite.code);
                    scope.spawn(move || {
                        for user in chunk {
                            store.join(code, *user, |_| {});
                            let _ = store.create_invite(guild, *user, quiet);
                        }
                    });
                }
                scope.spawn(|| store.delete_guild(guild, owner).unwrap());
            });
            assert_eq!(store.guild_counts(), (0, 0, 0));
        }
    }

    #[test]
    fn nothing_is_announced_after_the_guild_is_deleted() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};

        for _ in 0..20 {
            let (store, owner, guild) = guild_with_owner();
            // What a member's queue would receive, in order.
            let log = Mutex::new(Vec::new());
            let next_user = AtomicUsize::new(0);
            let record = |event: &'static str| log.lock().unwrap().push(event);
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        for _ in 0..50 {
                            let channel = CreateChannel::new("c", ChannelType::Text);
                            let _ = store.create_channel(guild, owner, channel, |_, _| {
                                record("CHANNEL_CREATE");
                            });
                            let invite = store.create_invite(guild, owner, |_, _| {
                                record("INVITE_CREATE");
                            });
                            if let Ok(invite) = invite {
                                // Sign-ups need their own email and handle.
                                let n = next_user.fetch_add(1, Ordering::Relaxed);
                                let body = CreateUser::new(
                                    format!("u{n}"),
                                    1,
                                    format!("u{n}@example.com"),
                                    "password1",
                                );
                                let user = store.create_user(body, String::new()).unwrap().id;
                                store.join(&invite.code, user, |_| record("GUILD_JOIN"));
                            }
                        }
                    });
                }
                scope.spawn(|| {
                    // Let some creations happen first.
                    while log.lock().unwrap().len() < 8 {
                        std::thread::yield_now();
                    }
                    store.delete_guild(guild, owner).unwrap();
                    record("GUILD_DELETE");
                });
            });
            let log = log.into_inner().unwrap();
            let deleted = log.iter().position(|event| *event == "GUILD_DELETE");
            assert_eq!(deleted, Some(log.len() - 1), "{log:?}");
        }
    }

    #[tokio::test]
    async fn permissions_gate_guild_changes() {
        let store = Store::new(Generator::new());
        let (owner, _) = test_user(&store, "owner").await;
        let (member, _) = test_user(&store, "member").await;
        let (stranger, _) = test_user(&store, "stranger").await;
        let guild = store.create_guild(owner.id, CreateGuild::new("g"));
        let invite = store.create_invite(guild.id, owner.id, quiet).unwrap();
        // GUILD_JOIN is announced only to a new member.
        let joined = |store: &Store| {
            let mut joined = false;
            store
                .join(&invite.code, member.id, |_| joined = true)
                .unwrap();
            joined
        };
        assert!(joined(&store));
        assert!(!joined(&store));

        let rename = || UpdateGuild::new().name("renamed");
        assert_eq!(
            store
                .update_guild(guild.id, member.id, rename(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        assert_eq!(
            store
                .update_guild(guild.id, stranger.id, rename(), quiet)
                .unwrap_err(),
            Denied::NotMember
        );
        assert_eq!(
            store
                .update_guild(GuildId::new(1), owner.id, rename(), quiet)
                .unwrap_err(),
            Denied::NoGuild
        );
        let mut members = Vec::new();
        let renamed = store
            .update_guild(guild.id, owner.id, rename(), |_, ids| members.extend(ids))
            .unwrap();
        assert_eq!(renamed.name, "renamed");
        assert_eq!(members.len(), 2);

        // @everyone may invite, not create channels
        assert!(store.create_invite(guild.id, member.id, quiet).is_ok());
        let text = || CreateChannel::new("general", ChannelType::Text);
        assert_eq!(
            store
                .create_channel(guild.id, member.id, text(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        let bogus_parent = text().inside_of(ayaka_snowflake::ChannelId::new(3));
        assert_eq!(
            store
                .create_channel(guild.id, owner.id, bogus_parent, quiet)
                .unwrap_err(),
            Denied::NoCategory
        );
        assert!(store.share_a_guild(owner.id, member.id));
        assert!(!store.share_a_guild(owner.id, stranger.id));
        assert_eq!(
            store.neighbours(owner.id).into_iter().collect::<Vec<_>>(),
            [member.id]
        );
        assert_eq!(
            store.delete_guild(guild.id, member.id).unwrap_err(),
            Denied::Forbidden
        );
    }

    #[tokio::test]
    async fn deleting_a_guild_leaves_nothing_behind() {
        let store = Store::new(Generator::new());
        let (owner, _) = test_user(&store, "owner").await;
        let (member, _) = test_user(&store, "member").await;
        let guild = store.create_guild(owner.id, CreateGuild::new("g"));
        let invite = store.create_invite(guild.id, owner.id, quiet).unwrap();
        store.join(&invite.code, member.id, |_| {}).unwrap();
        store
            .create_channel(
                guild.id,
                owner.id,
                CreateChannel::new("c", ChannelType::Category),
                quiet,
            )
            .unwrap();
        assert_eq!(store.guild_counts(), (1, 1, 2));

        let mut members = store.delete_guild(guild.id, owner.id).unwrap();
        members.sort();
        assert_eq!(members, [owner.id, member.id]);
        assert_eq!(store.guild_counts(), (0, 0, 0));
        assert!(store.join(&invite.code, member.id, |_| {}).is_none());
        assert!(store.guilds_of(member.id).is_empty());
    }
}
