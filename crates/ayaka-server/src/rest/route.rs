//! Which route a request is for: the route table of `ayaka_model`, which
//! the client builds its paths from too, read with the request's method and
//! path.

pub(crate) use ayaka_model::route::{Resolved, Route};
use http::Method;

/// The route `method` and `path` name. Strict (ids are plain decimal, no
/// trailing slash); see [`Route::resolve`].
pub(crate) fn resolve<'a>(method: &Method, path: &'a str) -> Resolved<'a> {
    Route::resolve(method.as_str(), path)
}

#[cfg(test)]
mod tests {
    use ayaka_model::route::RouteKind;
    use ayaka_snowflake::{GuildId, UserId};

    use super::*;
    use crate::ratelimit::bucket;

    fn method(kind: RouteKind) -> Method {
        Method::from_bytes(kind.method().as_str().as_bytes()).unwrap_or(Method::OPTIONS)
    }

    #[test]
    fn every_route_of_the_table_is_routed() {
        for kind in RouteKind::ALL {
            let path = kind
                .template()
                .replace("{id}", "1")
                .replace("{code}", "abc");
            match resolve(&method(kind), &path) {
                Resolved::Route(route) => {
                    assert_eq!(route.kind(), kind, "{path}");
                    assert_eq!(route.path(), path);
                }
                other => panic!("{kind} is not routed: {other:?}"),
            }
        }
    }

    #[test]
    fn the_table_and_the_limits_name_the_same_buckets() {
        for kind in RouteKind::ALL {
            assert!(
                bucket::ALL.contains(&kind.bucket()),
                "{kind}: bucket {} has no limit",
                kind.bucket()
            );
        }
        for name in bucket::ALL {
            let used = RouteKind::ALL.iter().any(|kind| kind.bucket() == name);
            assert_eq!(used, name != bucket::UNKNOWN, "bucket {name}");
        }
    }

    #[test]
    fn resolves_documented_and_extension_routes() {
        let g = GuildId::new(5);
        let cases = [
            (
                Method::POST,
                "/users/@me",
                Resolved::Route(Route::CreateUser),
            ),
            (
                Method::PATCH,
                "/users/@me",
                Resolved::Route(Route::UpdateCurrentUser),
            ),
            (
                Method::GET,
                "/guilds/5",
                Resolved::Route(Route::GetGuild(g)),
            ),
            (
                Method::DELETE,
                "/guilds/5",
                Resolved::Route(Route::DeleteGuild(g)),
            ),
            (
                Method::GET,
                "/guilds/5/preview",
                Resolved::Route(Route::GetGuildPreview(g)),
            ),
            (
                Method::POST,
                "/guilds/5/channels",
                Resolved::Route(Route::CreateChannel(g)),
            ),
            (
                Method::POST,
                "/guilds/5/invites",
                Resolved::Route(Route::CreateInvite(g)),
            ),
            (
                Method::POST,
                "/invites/abc",
                Resolved::Route(Route::JoinInvite("abc".into())),
            ),
            (
                Method::POST,
                "/users/9/notifications",
                Resolved::Route(Route::NotifyUser(UserId::new(9))),
            ),
            (
                Method::GET,
                "/available",
                Resolved::Route(Route::GetAvailable),
            ),
            (
                Method::PUT,
                "/guilds/5",
                Resolved::MethodNotAllowed("GET, PATCH, DELETE"),
            ),
            (Method::GET, "/guilds/-5", Resolved::NotFound),
            (
                Method::GET,
                "/guilds/99999999999999999999",
                Resolved::NotFound,
            ),
            (Method::GET, "/guilds/5/", Resolved::NotFound),
            (Method::GET, "/nope", Resolved::NotFound),
            (Method::GET, "", Resolved::NotFound),
        ];
        for (method, path, expected) in cases {
            assert_eq!(resolve(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn preview_shares_the_get_bucket() {
        let g = GuildId::new(1);
        assert_eq!(
            Route::GetGuild(g).kind().bucket(),
            Route::GetGuildPreview(g).kind().bucket()
        );
        assert_ne!(
            Route::GetGuild(g).kind().bucket(),
            Route::UpdateGuild(g).kind().bucket()
        );
    }
}
