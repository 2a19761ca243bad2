//! One typed method per REST route.

use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser, Violation,
};
use ayaka_model::{
    Available, Channel, Guild, GuildId, Invite, Member, Notification, PartialGuild, User, UserId,
    ValidationError,
};

use ayaka_model::route::Route;

use super::{Client, Codes};
use crate::error::Error;
#[cfg(doc)]
use crate::error::ErrorKind;

fn validated(result: Result<(), ValidationError>) -> Result<(), Error> {
    result.map_err(Error::invalid)
}

impl Client {
    /// `POST /users/@me`: creates an account. Needs no session; the new
    /// user's `session_ids` holds its first session id (see
    /// [`Client::set_session`]).
    ///
    /// Fails with [`ErrorKind::Validation`] before sending if the body
    /// breaks a rule, and with a `400` [`ErrorKind::Status`] if the server
    /// refuses it.
    pub async fn create_user(&self, body: &CreateUser) -> Result<User, Error> {
        validated(body.validate())?;
        let body = Self::json(body)?;
        self.request(Route::CreateUser, Some(body))
            .await?
            .decode(Codes::Plain)
    }

    /// `GET /users/@me`: the current user.
    pub async fn current_user(&self) -> Result<User, Error> {
        self.request(Route::GetCurrentUser, None)
            .await?
            .decode(Codes::Plain)
    }

    /// `PATCH /users/@me`: changes the current user.
    pub async fn update_current_user(&self, body: &UpdateUser) -> Result<User, Error> {
        validated(body.validate())?;
        let body = Self::json(body)?;
        self.request(Route::UpdateCurrentUser, Some(body))
            .await?
            .decode(Codes::Plain)
    }

    /// `POST /guilds`: creates a guild owned by the current user.
    pub async fn create_guild(&self, body: &CreateGuild) -> Result<Guild, Error> {
        validated(body.validate())?;
        let body = Self::json(body)?;
        self.request(Route::CreateGuild, Some(body))
            .await?
            .decode(Codes::Plain)
    }

    /// `GET /guilds/{id}`: a guild the current user is in.
    pub async fn guild(&self, guild_id: GuildId) -> Result<Guild, Error> {
        self.request(Route::GetGuild(guild_id), None)
            .await?
            .decode(Codes::Plain)
    }

    /// `PATCH /guilds/{id}`: changes a guild.
    ///
    /// The documented odd codes are errors: `201` is
    /// [`ErrorKind::NotAMember`], `203` [`ErrorKind::MissingPermissions`].
    pub async fn update_guild(
        &self,
        guild_id: GuildId,
        body: &UpdateGuild,
    ) -> Result<Guild, Error> {
        validated(body.validate())?;
        let body = Self::json(body)?;
        self.request(Route::UpdateGuild(guild_id), Some(body))
            .await?
            .decode(Codes::GuildMember)
    }

    /// `DELETE /guilds/{id}`: deletes a guild (`204`).
    ///
    /// `201` is [`ErrorKind::NotAMember`], `203`
    /// [`ErrorKind::MissingPermissions`].
    pub async fn delete_guild(&self, guild_id: GuildId) -> Result<(), Error> {
        self.request(Route::DeleteGuild(guild_id), None)
            .await?
            .check(Codes::GuildMember)
            .map(drop)
    }

    /// `GET /guilds/{id}/preview`: the public part of a guild. Needs no
    /// session.
    pub async fn guild_preview(&self, guild_id: GuildId) -> Result<PartialGuild, Error> {
        self.request(Route::GetGuildPreview(guild_id), None)
            .await?
            .decode(Codes::Plain)
    }

    /// `POST /invites/{code}`: joins the guild the invite leads to.
    ///
    /// The code is percent-encoded, so it cannot reach another route; an
    /// empty code fails with [`ErrorKind::Validation`] before sending.
    pub async fn join_invite(&self, code: &str) -> Result<Member, Error> {
        if code.is_empty() {
            let violation = Violation::Length {
                min: 1,
                max: usize::MAX,
                actual: 0,
            };
            return Err(Error::invalid(ValidationError::single("code", violation)));
        }
        self.request(Route::JoinInvite(code.into()), None)
            .await?
            .decode(Codes::Plain)
    }

    /// `POST /guilds/{id}/channels` (**extension**): creates a channel.
    /// A server without the extension answers 404 or 405, surfaced as
    /// [`ErrorKind::Status`].
    pub async fn create_channel(
        &self,
        guild_id: GuildId,
        body: &CreateChannel,
    ) -> Result<Channel, Error> {
        validated(body.validate())?;
        let body = Self::json(body)?;
        self.request(Route::CreateChannel(guild_id), Some(body))
            .await?
            .decode(Codes::Plain)
    }

    /// `GET /guilds/{id}/channels` (**extension**): a guild's channels.
    pub async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, Error> {
        self.request(Route::GetGuildChannels(guild_id), None)
            .await?
            .decode(Codes::Plain)
    }

    /// `POST /guilds/{id}/invites` (**extension**): creates an invite.
    pub async fn create_invite(&self, guild_id: GuildId) -> Result<Invite, Error> {
        let body = Self::json(&CreateInvite::new())?;
        self.request(Route::CreateInvite(guild_id), Some(body))
            .await?
            .decode(Codes::Plain)
    }

    /// `POST /users/{id}/notifications` (**extension**): sends a
    /// NOTIFICATION event to a user's gateway connections.
    pub async fn notify(&self, user_id: UserId, notification: &Notification) -> Result<(), Error> {
        let body = Self::json(notification)?;
        self.request(Route::NotifyUser(user_id), Some(body))
            .await?
            .check(Codes::Plain)
            .map(drop)
    }

    /// `GET /available`: the gateway port to connect to. Needs no session.
    ///
    /// The documents serve it on the gateway host (`GET
    /// https://gateway.vincentrps.xyz/available`), the local server on its
    /// REST port as well, so point the base URL at whichever host serves it.
    /// `ayaka-gateway` asks it through this method before each connection.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), ayaka_http::Error> {
    /// let gateway_host = ayaka_http::Client::builder()
    ///     .base_url("https://gateway.vincentrps.xyz")
    ///     .build()?;
    /// let available = gateway_host.available().await?;
    /// println!("connect to port {}", available.port);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn available(&self) -> Result<Available, Error> {
        self.request(Route::GetAvailable, None)
            .await?
            .decode(Codes::Plain)
    }
}
