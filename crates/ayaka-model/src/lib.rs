#![doc = include_str!("../README.md")]

mod channel;
mod decode_error;
mod emoji;
mod error;
mod guild;
mod invite;
mod macros;
mod member;
mod notification;
mod presence;
mod rest;
mod role;
mod timestamp;
mod user;

pub mod cause;
pub mod gateway;
pub mod json;
pub mod request;
pub mod route;

pub use ayaka_snowflake::{ChannelId, EmojiId, GuildId, Id, RoleId, Snowflake, UserId};
pub use channel::{Category, Channel, ChannelType, TextChannel, VoiceChannel};
pub use emoji::Emoji;
pub use error::{Error, ErrorKind};
pub use gateway::{
    ClientCommand, Encoding, Event, EventKind, Hello, Identify, IdentifyError, PresenceUpdate,
    UnknownEvent,
};
pub use guild::{Guild, GuildDeleted, PartialGuild};
pub use invite::Invite;
pub use member::Member;
pub use notification::{Notification, NotificationType};
pub use presence::{EmbedText, Presence, PresenceEmbed, PresenceType};
pub use request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser, ValidationError,
};
pub use rest::{ABSOLUTE_TIME_THRESHOLD, Available, ErrorBody, is_absolute_time, seconds_to_wait};
pub use role::{Permission, Role};
pub use timestamp::{Timestamp, TimestampError};
pub use user::User;
