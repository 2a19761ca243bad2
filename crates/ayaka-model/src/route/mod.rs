//! Every REST route, in one table that the client (`ayaka-http`) and the
//! local server (`ayaka-server`) both read, so they cannot disagree on a
//! method, a path, a rate-limit bucket or whether a session is needed.
//!
//! - [`RouteKind`]: a route without its parameters (`Copy`, a stable
//!   [`as_str`](RouteKind::as_str) name such as `"GET /guilds/{id}"`), with
//!   the table's columns as methods. Rate limiters are keyed by it.
//! - [`Route`]: a route with its parameters; it builds the path
//!   ([`Route::path`], invite codes percent-encoded) and parses one
//!   ([`Route::resolve`], ids strictly decimal).
//!
//! ```
//! use ayaka_model::GuildId;
//! use ayaka_model::route::{Method, Resolved, Route, RouteKind};
//!
//! let route = Route::GetGuildPreview(GuildId::new(42));
//! assert_eq!(route.path(), "/guilds/42/preview");
//! assert_eq!(route.kind().as_str(), "GET /guilds/{id}/preview");
//! assert!(!route.kind().needs_session());
//!
//! // The server reads the same table back.
//! assert_eq!(Route::resolve("GET", "/guilds/42/preview"), Resolved::Route(route));
//! assert_eq!(
//!     Route::resolve("PUT", "/guilds/42"),
//!     Resolved::MethodNotAllowed("GET, PATCH, DELETE")
//! );
//! assert_eq!(RouteKind::GetGuild.method(), Method::Get);
//! ```

mod path;

use std::fmt;

pub use path::{Resolved, Route};

/// The HTTP methods the routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as written on the wire: `"GET"`, `"POST"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A REST route without its parameters: one row of the route table.
///
/// The variants follow the documents' route list, then the project's
/// extensions. Its [`as_str`](Self::as_str) form is stable, for use as a
/// key outside the process (a shared rate limiter).
///
/// Not `#[non_exhaustive]`, on purpose: the local server matches routes
/// exhaustively, so a new route cannot go unserved.
///
/// ```
/// use ayaka_model::route::{Method, RouteKind};
///
/// let kind = RouteKind::UpdateGuild;
/// assert_eq!(kind.method(), Method::Patch);
/// assert_eq!(kind.template(), "/guilds/{id}");
/// assert_eq!(kind.as_str(), "PATCH /guilds/{id}");
/// assert_eq!(kind.bucket(), "guilds.update");
/// assert!(kind.needs_session());
/// assert_eq!(RouteKind::ALL[kind.index()], kind);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// `POST /users/@me`: create an account (no session needed).
    CreateUser,
    /// `GET /users/@me`: the current user.
    GetCurrentUser,
    /// `PATCH /users/@me`: change the current user.
    UpdateCurrentUser,
    /// `POST /guilds`: create a guild.
    CreateGuild,
    /// `GET /guilds/{id}`: a guild the current user is in.
    GetGuild,
    /// `PATCH /guilds/{id}`: change a guild.
    UpdateGuild,
    /// `DELETE /guilds/{id}`: delete a guild.
    DeleteGuild,
    /// `GET /guilds/{id}/preview`: the public part of a guild (no session
    /// needed).
    GetGuildPreview,
    /// `POST /invites/{code}`: join the guild an invite leads to.
    JoinInvite,
    /// `POST /guilds/{id}/channels` (**extension**): create a channel.
    CreateChannel,
    /// `GET /guilds/{id}/channels` (**extension**): a guild's channels.
    GetGuildChannels,
    /// `POST /guilds/{id}/invites` (**extension**): create an invite.
    CreateInvite,
    /// `POST /users/{id}/notifications` (**extension**): send a
    /// NOTIFICATION event to a user.
    NotifyUser,
    /// `GET /available`: the gateway port to connect to (no session
    /// needed). Served on the gateway host, and by the local server on its
    /// REST port too.
    GetAvailable,
}

impl RouteKind {
    /// Every route, in declaration order (`ALL[kind.index()] == kind`).
    pub const ALL: [Self; 14] = [
        Self::CreateUser,
        Self::GetCurrentUser,
        Self::UpdateCurrentUser,
        Self::CreateGuild,
        Self::GetGuild,
        Self::UpdateGuild,
        Self::DeleteGuild,
        Self::GetGuildPreview,
        Self::JoinInvite,
        Self::CreateChannel,
        Self::GetGuildChannels,
        Self::CreateInvite,
        Self::NotifyUser,
        Self::GetAvailable,
    ];

    /// The route's position in [`ALL`](Self::ALL), to index a table with
    /// one entry per route.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The route's HTTP method.
    pub const fn method(self) -> Method {
        match self {
            Self::GetCurrentUser
            | Self::GetGuild
            | Self::GetGuildPreview
            | Self::GetGuildChannels
            | Self::GetAvailable => Method::Get,
            Self::CreateUser
            | Self::CreateGuild
            | Self::JoinInvite
            | Self::CreateChannel
            | Self::CreateInvite
            | Self::NotifyUser => Method::Post,
            Self::UpdateCurrentUser | Self::UpdateGuild => Method::Patch,
            Self::DeleteGuild => Method::Delete,
        }
    }

    /// The path with its parameters as `{id}` or `{code}`, as the
    /// documents write it: `"/guilds/{id}/channels"`.
    pub const fn template(self) -> &'static str {
        match self {
            Self::CreateUser | Self::GetCurrentUser | Self::UpdateCurrentUser => "/users/@me",
            Self::CreateGuild => "/guilds",
            Self::GetGuild | Self::UpdateGuild | Self::DeleteGuild => "/guilds/{id}",
            Self::GetGuildPreview => "/guilds/{id}/preview",
            Self::JoinInvite => "/invites/{code}",
            Self::CreateChannel | Self::GetGuildChannels => "/guilds/{id}/channels",
            Self::CreateInvite => "/guilds/{id}/invites",
            Self::NotifyUser => "/users/{id}/notifications",
            Self::GetAvailable => "/available",
        }
    }

    /// Method and path template, `"PATCH /guilds/{id}"`: the route's
    /// stable name, for logs and as a rate-limit key.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateUser => "POST /users/@me",
            Self::GetCurrentUser => "GET /users/@me",
            Self::UpdateCurrentUser => "PATCH /users/@me",
            Self::CreateGuild => "POST /guilds",
            Self::GetGuild => "GET /guilds/{id}",
            Self::UpdateGuild => "PATCH /guilds/{id}",
            Self::DeleteGuild => "DELETE /guilds/{id}",
            Self::GetGuildPreview => "GET /guilds/{id}/preview",
            Self::JoinInvite => "POST /invites/{code}",
            Self::CreateChannel => "POST /guilds/{id}/channels",
            Self::GetGuildChannels => "GET /guilds/{id}/channels",
            Self::CreateInvite => "POST /guilds/{id}/invites",
            Self::NotifyUser => "POST /users/{id}/notifications",
            Self::GetAvailable => "GET /available",
        }
    }

    /// The local server's rate-limit bucket for this route, the
    /// `<ROUTE_NAME>` of its `X-RateLimit-Bucket`. Several routes may share
    /// one (`guilds.get` holds `GET /guilds/{id}` and its preview); other
    /// servers name their buckets as they like, so clients learn buckets
    /// from responses and never assume these.
    pub const fn bucket(self) -> &'static str {
        match self {
            Self::CreateUser => "users.create",
            Self::GetCurrentUser | Self::UpdateCurrentUser => "users.me",
            Self::CreateGuild => "guilds.create",
            Self::GetGuild | Self::GetGuildPreview => "guilds.get",
            Self::UpdateGuild => "guilds.update",
            Self::DeleteGuild => "guilds.delete",
            Self::JoinInvite => "invites.join",
            Self::CreateChannel => "channels.create",
            Self::GetGuildChannels => "channels.list",
            Self::CreateInvite => "invites.create",
            Self::NotifyUser => "notifications.create",
            Self::GetAvailable => "gateway.available",
        }
    }

    /// Whether the route needs a session id in `Authorization`.
    pub const fn needs_session(self) -> bool {
        !matches!(
            self,
            Self::CreateUser | Self::GetGuildPreview | Self::GetAvailable
        )
    }

    /// Whether the route is one of the project's **extensions**, which the
    /// published documents do not have (a server without them answers 404
    /// or 405).
    pub const fn is_extension(self) -> bool {
        matches!(
            self,
            Self::CreateChannel | Self::GetGuildChannels | Self::CreateInvite | Self::NotifyUser
        )
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_name_is_method_and_template() {
        for kind in RouteKind::ALL {
            assert_eq!(
                kind.as_str(),
                format!("{} {}", kind.method(), kind.template())
            );
            assert_eq!(kind.to_string(), kind.as_str());
        }
    }

    #[test]
    fn all_lists_every_route_once_in_index_order() {
        for (index, kind) in RouteKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), index);
        }
        let names: HashSet<_> = RouteKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), RouteKind::ALL.len());
    }

    #[test]
    fn sessions_and_shared_buckets() {
        let open: Vec<_> = RouteKind::ALL
            .into_iter()
            .filter(|k| !k.needs_session())
            .collect();
        assert_eq!(
            open,
            [
                RouteKind::CreateUser,
                RouteKind::GetGuildPreview,
                RouteKind::GetAvailable
            ]
        );
        assert_eq!(
            RouteKind::GetGuild.bucket(),
            RouteKind::GetGuildPreview.bucket()
        );
        assert_eq!(
            RouteKind::GetCurrentUser.bucket(),
            RouteKind::UpdateCurrentUser.bucket()
        );
        assert_ne!(
            RouteKind::GetGuild.bucket(),
            RouteKind::UpdateGuild.bucket()
        );
    }
}
