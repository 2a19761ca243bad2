//! One function per route.

use ayaka_model::gateway::Event;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use ayaka_model::{Available, GuildDeleted, Notification};
use ayaka_snowflake::{GuildId, UserId};
use http::{HeaderMap, Request, StatusCode, header};
use hyper::body::Incoming;

use super::reply::{ApiError, Reply, decode, read_body};
use super::route::Route;
use crate::server::Shared;
use crate::state::Denied;

pub(super) const USER_FIELDS: &[&str] = &["username", "separator", "bio", "email", "password"];
pub(super) const GUILD_FIELDS: &[&str] = &[
    "name",
    "description",
    "banner",
    "invite_banner",
    "vanity_url",
];
pub(super) const CHANNEL_FIELDS: &[&str] =
    &["name", "description", "type", "inside_of", "position"];
pub(super) const NOTIFICATION_FIELDS: &[&str] = &["type", "excerpt"];

pub(super) async fn dispatch(
    shared: &Shared,
    route: Route,
    request: Request<Incoming>,
) -> Result<Reply, ApiError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    match route {
        Route::CreateUser => {
            let body: CreateUser = decode(&read_body(headers, body, true).await?, USER_FIELDS)?;
            create_user(shared, body).await
        }
        Route::GetMe => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let user = shared
                .store
                .own_user(user)
                .ok_or_else(ApiError::unauthorized)?;
            Reply::json(StatusCode::OK, &user)
        }
        Route::UpdateMe => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: UpdateUser = decode(&read_body(headers, body, true).await?, USER_FIELDS)?;
            update_user(shared, user, body).await
        }
        Route::Notify(target) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: Notification =
                decode(&read_body(headers, body, true).await?, NOTIFICATION_FIELDS)?;
            notify(shared, user, target, body)
        }
        Route::CreateGuild => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: CreateGuild = decode(&read_body(headers, body, true).await?, GUILD_FIELDS)?;
            body.validate().map_err(|error| ApiError::invalid(&error))?;
            let guild = shared.store.create_guild(user, body);
            if let Some(full) = shared.store.full_guild(guild.id) {
                shared.hub.send([user], &Event::GuildCreate(Box::new(full)));
            }
            Reply::json(StatusCode::CREATED, &guild)
        }
        Route::GetGuild(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let guild = shared
                .store
                .guild_for(guild, user)
                .map_err(|_| ApiError::not_found("guild"))?;
            Reply::json(StatusCode::OK, &guild)
        }
        Route::UpdateGuild(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::not_a_member)?;
            let body: UpdateGuild = decode(&read_body(headers, body, true).await?, GUILD_FIELDS)?;
            body.validate().map_err(|error| ApiError::invalid(&error))?;
            let guild = shared
                .store
                .update_guild(guild, user, body, |guild, members| {
                    let event = Event::GuildUpdate(Box::new(guild.clone()));
                    shared.hub.send(members, &event);
                })
                .map_err(|denied| refusal(denied, "MANAGE_GUILD", true))?;
            Reply::json(StatusCode::OK, &guild)
        }
        Route::DeleteGuild(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::not_a_member)?;
            let members = shared
                .store
                .delete_guild(guild, user)
                .map_err(|denied| refusal(denied, "ownership", true))?;
            shared
                .hub
                .send(members, &Event::GuildDelete(GuildDeleted { id: guild }));
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Route::PreviewGuild(guild) => {
            let preview = shared
                .store
                .preview(guild)
                .ok_or_else(|| ApiError::not_found("guild"))?;
            Reply::json(StatusCode::OK, &preview)
        }
        Route::ListChannels(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let channels = shared
                .store
                .channels(guild, user)
                .map_err(|denied| refusal(denied, "membership", false))?;
            Reply::json(StatusCode::OK, &channels)
        }
        Route::CreateChannel(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: CreateChannel =
                decode(&read_body(headers, body, true).await?, CHANNEL_FIELDS)?;
            body.validate().map_err(|error| ApiError::invalid(&error))?;
            create_channel(shared, guild, user, body)
        }
        Route::CreateInvite(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let bytes = read_body(headers, body, false).await?;
            if !bytes.is_empty() {
                decode::<CreateInvite>(&bytes, &[])?;
            }
            let invite = shared
                .store
                .create_invite(guild, user, |invite, members| {
                    shared
                        .hub
                        .send(members, &Event::InviteCreate(invite.clone()));
                })
                .map_err(|denied| refusal(denied, "CREATE_INVITE", false))?;
            Reply::json(StatusCode::CREATED, &invite)
        }
        Route::JoinInvite(code) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let member = shared
                .store
                .join(&code, user, |guild| {
                    shared.hub.send([user], &Event::GuildJoin(Box::new(guild)));
                })
                .ok_or_else(|| ApiError::not_found("invite"))?;
            Reply::json(StatusCode::OK, &member)
        }
        Route::Available => {
            let index = shared.hub.least_loaded();
            let address = shared
                .gateway_addrs
                .get(index)
                .ok_or_else(ApiError::internal)?;
            Reply::json(
                StatusCode::OK,
                &Available {
                    port: address.port(),
                    url: Some(format!("ws://{address}")),
                },
            )
        }
    }
}

/// The user whose session id is in `Authorization` (the raw value).
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Option<UserId> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    shared.store.authenticate(value.trim())
}

/// The status of a refused guild operation. `documented` routes
/// (PATCH/DELETE) answer 201 to non-members, as the documents say; the
/// extension routes answer 404, as for a guild that does not exist.
fn refusal(denied: Denied, permission: &str, documented: bool) -> ApiError {
    match denied {
        Denied::NoGuild => ApiError::not_found("guild"),
        Denied::NotMember if documented => ApiError::not_a_member(),
        Denied::NotMember => ApiError::not_found("guild"),
        Denied::Forbidden => ApiError::missing_permission(permission),
        Denied::NoCategory => {
            ApiError::bad_field("inside_of", "must be the id of a category of this guild")
        }
    }
}

async fn create_user(shared: &Shared, body: CreateUser) -> Result<Reply, ApiError> {
    body.validate().map_err(|error| ApiError::invalid(&error))?;
    let hash = shared
        .hasher
        .hash(body.password.clone())
        .await
        .map_err(|_| ApiError::internal())?;
    let user = shared.store.create_user(body, hash);
    tracing::info!(user = %user.id, "user created");
    Reply::json(StatusCode::CREATED, &user)
}

async fn update_user(shared: &Shared, user: UserId, body: UpdateUser) -> Result<Reply, ApiError> {
    body.validate().map_err(|error| ApiError::invalid(&error))?;
    let hash = match &body.password {
        Some(password) => Some(
            shared
                .hasher
                .hash(password.clone())
                .await
                .map_err(|_| ApiError::internal())?,
        ),
        None => None,
    };
    let user = shared
        .store
        .update_user(user, body, hash)
        .ok_or_else(ApiError::unauthorized)?;
    Reply::json(StatusCode::OK, &user)
}

fn notify(
    shared: &Shared,
    user: UserId,
    target: UserId,
    body: Notification,
) -> Result<Reply, ApiError> {
    let allowed = user == target || shared.store.share_a_guild(user, target);
    if !allowed || shared.store.public_user(target).is_none() {
        // Users outside your guilds are not revealed: same answer as none.
        return Err(ApiError::not_found("user"));
    }
    shared.hub.send([target], &Event::Notification(body));
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

fn create_channel(
    shared: &Shared,
    guild: GuildId,
    user: UserId,
    body: CreateChannel,
) -> Result<Reply, ApiError> {
    let channel = shared
        .store
        .create_channel(guild, user, body, |channel, members| {
            shared
                .hub
                .send(members, &Event::ChannelCreate(channel.clone()));
        })
        .map_err(|denied| refusal(denied, "MANAGE_CHANNELS", false))?;
    Reply::json(StatusCode::CREATED, &channel)
}
