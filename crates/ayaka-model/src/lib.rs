//! Ayaka's objects, REST request bodies and gateway events, with serde.
//!
//! Every type follows the Ayaka documents' field names exactly, with the
//! points they leave open settled by the project's protocol page
//! (`docs/protocol.md`). Reading is tolerant where the deployed server
//! differs from the documents (READY's `d` as a JSON string, `_id`, extra
//! envelope fields, `HELLO` and `ACK`); writing follows the documents.
//!
//! - Objects: [`User`], [`Guild`], [`PartialGuild`], [`Role`], [`Member`],
//!   [`Emoji`], [`Channel`] ([`Category`], [`TextChannel`]), [`Invite`],
//!   [`Presence`], [`Notification`], [`ErrorBody`], [`Available`].
//! - [`request`]: REST request bodies, with validation.
//! - [`route`]: the REST route table (method, path, rate-limit bucket,
//!   session) that the client and the local server share.
//! - [`gateway`]: [`Identify`], [`Event`] and [`ClientCommand`].
//! - [`json`]: parsing with serde_json, or simd-json behind the `simd-json`
//!   feature, with identical results.
//!
//! Values this library does not know (a channel type, presence type,
//! notification type, permission, event name) are kept in an `Unknown`
//! variant and written back unchanged, never refused.
//!
//! ```
//! use ayaka_model::gateway::Event;
//!
//! let event = Event::from_json(br#"{"t": "GUILD_DELETE", "d": {"id": "42"}}"#)?;
//! assert!(matches!(event, Event::GuildDelete(deleted) if deleted.id.get() == 42));
//! # Ok::<(), ayaka_model::Error>(())
//! ```

mod channel;
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
