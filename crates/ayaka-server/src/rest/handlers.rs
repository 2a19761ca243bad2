//! One function per route.

use ayaka_model::gateway::Event;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use ayaka_model::{Available, GuildDeleted, Notification};
use ayaka_snowflake::{GuildId, UserId};
use http::{HeaderMap, Request, StatusCode, header};
use hyper::body::Incoming;

use super::body::decode;
use super::reply::{ApiError, Reply, read_body};
use super::route::Route;
use crate::hashing::HashError;
use crate::server::Shared;
use crate::state::{Denied, Taken};

pub(super) async fn dispatch(
    shared: &Shared,
    route: Route<'_>,
    request: Request<Incoming>,
) -> Result<Reply, ApiError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    match route {
        Route::CreateUser => {
            let body: CreateUser = decode(&read_body(headers, body, true).await?)?;
            create_user(shared, body).await
        }
        Route::GetCurrentUser => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let user = shared
                .store
                .own_user(user)
                .ok_or_else(ApiError::unauthorized)?;
            Reply::json(StatusCode::OK, &user)
        }
        Route::UpdateCurrentUser => {
            let session =
                authenticate_session(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: UpdateUser = decode(&read_body(headers, body, true).await?)?;
            update_user(shared, session, body).await
        }
        Route::NotifyUser(target) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: Notification = decode(&read_body(headers, body, true).await?)?;
            notify(shared, user, target, body)
        }
        Route::CreateGuild => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: CreateGuild = decode(&read_body(headers, body, true).await?)?;
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
            // 404 before 201: an unknown guild is unknown whoever asks.
            if !shared.store.guild_exists(guild) {
                return Err(ApiError::not_found("guild"));
            }
            let user = authenticate(shared, headers).ok_or_else(ApiError::not_a_member)?;
            shared
                .store
                .guild_for(guild, user)
                .map_err(|denied| refusal(denied, "MANAGE_GUILD", true))?;
            let body: UpdateGuild = decode(&read_body(headers, body, true).await?)?;
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
            if !shared.store.guild_exists(guild) {
                return Err(ApiError::not_found("guild"));
            }
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
        Route::GetGuildPreview(guild) => {
            let preview = shared
                .store
                .preview(guild)
                .ok_or_else(|| ApiError::not_found("guild"))?;
            Reply::json(StatusCode::OK, &preview)
        }
        Route::GetGuildChannels(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let channels = shared
                .store
                .channels(guild, user)
                .map_err(|denied| refusal(denied, "membership", false))?;
            Reply::json(StatusCode::OK, &channels)
        }
        Route::CreateChannel(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let body: CreateChannel = decode(&read_body(headers, body, true).await?)?;
            create_channel(shared, guild, user, body)
        }
        Route::CreateInvite(guild) => {
            let user = authenticate(shared, headers).ok_or_else(ApiError::unauthorized)?;
            let bytes = read_body(headers, body, false).await?;
            if !bytes.is_empty() {
                decode::<CreateInvite>(&bytes)?;
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
        Route::GetAvailable => {
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
    authenticate_session(shared, headers).map(|(user, _)| user)
}

/// The user and the session's name.
fn authenticate_session(shared: &Shared, headers: &HeaderMap) -> Option<(UserId, u64)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    shared.store.authenticate_session(value.trim())
}

/// The 400 of a taken email or username and separator.
fn taken(taken: Taken) -> ApiError {
    let mut errors = std::collections::BTreeMap::new();
    if taken.email {
        errors.insert("email".to_owned(), "is already taken".to_owned());
    }
    if taken.handle {
        let reason = "this username and separator are already taken";
        errors.insert("username".to_owned(), reason.to_owned());
        errors.insert("separator".to_owned(), reason.to_owned());
    }
    ApiError::fields(errors)
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

/// Retry-After of a 503 when hashing is saturated: a queue's worth of
/// hashes takes about this long to drain.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

async fn hash(shared: &Shared, password: &str) -> Result<String, ApiError> {
    shared
        .hasher
        .hash(password.to_owned())
        .await
        .map_err(|error| match error {
            HashError::Busy => ApiError::busy(BUSY_RETRY_AFTER_SECS),
            HashError::Failed => ApiError::internal(),
        })
}

async fn create_user(shared: &Shared, body: CreateUser) -> Result<Reply, ApiError> {
    shared.store.check_free(&body).map_err(taken)?;
    let hash = hash(shared, &body.password).await?;
    let user = shared.store.create_user(body, hash).map_err(taken)?;
    tracing::info!(user = %user.id, "user created");
    Reply::json(StatusCode::CREATED, &user)
}

/// Applies the update; a new password ends every other session of the
/// user, whose gateway connections close with 4002.
async fn update_user(
    shared: &Shared,
    (user, session): (UserId, u64),
    body: UpdateUser,
) -> Result<Reply, ApiError> {
    let hash = match &body.password {
        Some(password) => Some(hash(shared, password).await?),
        None => None,
    };
    let (updated, ended) = shared
        .store
        .update_user(user, body, hash, session)
        .map_err(taken)?
        .ok_or_else(ApiError::unauthorized)?;
    if !ended.is_empty() {
        shared.hub.end_sessions(user, &ended);
        tracing::info!(user = %user, sessions = ended.len(), "password changed, other sessions ended");
    }
    Reply::json(StatusCode::OK, &updated)
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
