//! Request-body decoding as the handlers do it, for the fuzz targets.

use ayaka_model::Notification;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use serde::de::DeserializeOwned;

use super::handlers::{CHANNEL_FIELDS, GUILD_FIELDS, NOTIFICATION_FIELDS, USER_FIELDS};
use super::reply::{ApiError, decode};

/// A route's request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `POST /users`.
    CreateUser,
    /// `PATCH /users/@me`.
    UpdateUser,
    /// `POST /users/{id}/notifications`.
    Notification,
    /// `POST /guilds`.
    CreateGuild,
    /// `PATCH /guilds/{id}`.
    UpdateGuild,
    /// `POST /guilds/{id}/channels`.
    CreateChannel,
    /// `POST /guilds/{id}/invites` (a body is optional).
    CreateInvite,
}

impl Body {
    /// Every body.
    pub const ALL: [Self; 7] = [
        Self::CreateUser,
        Self::UpdateUser,
        Self::Notification,
        Self::CreateGuild,
        Self::UpdateGuild,
        Self::CreateChannel,
        Self::CreateInvite,
    ];
}

/// The answer a refused body gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The JSON error body, in the documented shape.
    pub body: Vec<u8>,
    /// The same, in the deployed server's shape.
    pub quirk_body: Vec<u8>,
}

/// Decodes and validates a non-empty body as its route's handler does.
pub fn decode_body(body: Body, bytes: &[u8]) -> Result<(), Refusal> {
    let decoded = match body {
        Body::CreateUser => decode_valid::<CreateUser>(bytes, USER_FIELDS, CreateUser::validate),
        Body::UpdateUser => decode_valid::<UpdateUser>(bytes, USER_FIELDS, UpdateUser::validate),
        Body::Notification => decode::<Notification>(bytes, NOTIFICATION_FIELDS).map(drop),
        Body::CreateGuild => {
            decode_valid::<CreateGuild>(bytes, GUILD_FIELDS, CreateGuild::validate)
        }
        Body::UpdateGuild => {
            decode_valid::<UpdateGuild>(bytes, GUILD_FIELDS, UpdateGuild::validate)
        }
        Body::CreateChannel => {
            decode_valid::<CreateChannel>(bytes, CHANNEL_FIELDS, CreateChannel::validate)
        }
        Body::CreateInvite => decode::<CreateInvite>(bytes, &[]).map(drop),
    };
    decoded.map_err(|error| Refusal {
        status: error.status.as_u16(),
        body: error.body(false).to_vec(),
        quirk_body: error.body(true).to_vec(),
    })
}

fn decode_valid<T: DeserializeOwned>(
    bytes: &[u8],
    fields: &[&str],
    validate: impl Fn(&T) -> Result<(), ayaka_model::ValidationError>,
) -> Result<(), ApiError> {
    let body: T = decode(bytes, fields)?;
    validate(&body).map_err(|error| ApiError::invalid(&error))
}
