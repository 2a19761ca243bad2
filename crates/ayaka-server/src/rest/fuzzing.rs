//! Request-body decoding as the handlers do it, for the fuzz targets.

use ayaka_model::Notification;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};

use super::body::{self, decode};

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
        Body::CreateUser => accept::<CreateUser>(bytes),
        Body::UpdateUser => accept::<UpdateUser>(bytes),
        Body::Notification => accept::<Notification>(bytes),
        Body::CreateGuild => accept::<CreateGuild>(bytes),
        Body::UpdateGuild => accept::<UpdateGuild>(bytes),
        Body::CreateChannel => accept::<CreateChannel>(bytes),
        Body::CreateInvite => accept::<CreateInvite>(bytes),
    };
    decoded.map_err(|error| Refusal {
        status: error.status.as_u16(),
        body: error.body(false).to_vec(),
        quirk_body: error.body(true).to_vec(),
    })
}

fn accept<T: body::Body>(bytes: &[u8]) -> Result<(), super::reply::ApiError> {
    decode::<T>(bytes).map(drop)
}
