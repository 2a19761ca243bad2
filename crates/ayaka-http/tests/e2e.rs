//! End to end: the client against the real local server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ayaka_http::ratelimit::{InMemoryRateLimiter, RouteKind};
use ayaka_http::{Client, ErrorKind};
use ayaka_model::request::{CreateChannel, CreateGuild, CreateUser, UpdateGuild, UpdateUser};
use ayaka_model::{ChannelType, Guild, GuildId, Notification, NotificationType, User};
use ayaka_server::testing::{self, TestUser};
use ayaka_server::{Limit, RateLimits, Server, bucket};

async fn server(limits: RateLimits) -> Server {
    testing::builder()
        .rate_limits(limits)
        .spawn()
        .await
        .unwrap()
}

fn client(server: &Server) -> Client {
    Client::builder()
        .base_url(server.rest_url())
        .build()
        .unwrap()
}

/// A user of the test server, and a fresh client signed in as it.
async fn signed_up(server: &Server, name: &str) -> (Client, TestUser) {
    let user = testing::user_with_session(server, name).await;
    let client = client(server);
    client.set_session(&user.session).unwrap();
    (client, user)
}

/// Creates an account (only the `users.create` bucket is used).
async fn create_user(client: &Client, name: &str) -> User {
    let body = CreateUser::new(
        name,
        1,
        format!("{name}@example.com"),
        "correct horse battery",
    );
    client.create_user(&body).await.unwrap()
}

/// Creates a guild named `name`, owned by `client`'s user.
async fn create_guild(client: &Client, name: &str) -> Guild {
    client.create_guild(&CreateGuild::new(name)).await.unwrap()
}

/// A notification to send: what it holds does not matter to these tests.
fn notification() -> Notification {
    Notification {
        kind: NotificationType::Guild,
        excerpt: serde_json::json!({"text": "hi"}),
    }
}

fn first_session(user: &User) -> &str {
    user.session_ids
        .iter()
        .flatten()
        .next()
        .expect("a first session id")
}

#[tokio::test]
async fn every_route() {
    let server = server(RateLimits::off()).await;
    // The owner signs up through the client: `create_user` is a route too.
    let owner = client(&server);
    let me = create_user(&owner, "owner").await;
    owner.set_session(first_session(&me)).unwrap();
    assert_eq!(me.username, "owner");

    assert_eq!(owner.current_user().await.unwrap().id, me.id);
    let updated = owner
        .update_current_user(&UpdateUser::new().bio("hello"))
        .await
        .unwrap();
    assert_eq!(updated.bio.as_deref(), Some("hello"));

    let guild = owner
        .create_guild(&CreateGuild::new("Guild").description("a guild"))
        .await
        .unwrap();
    assert_eq!(guild.owner, me.id);
    assert_eq!(owner.guild(guild.id).await.unwrap().name, "Guild");
    let renamed = owner
        .update_guild(guild.id, &UpdateGuild::new().name("Renamed"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(
        client(&server).guild_preview(guild.id).await.unwrap().name,
        "Renamed"
    );

    let channel = owner
        .create_channel(guild.id, &CreateChannel::new("general", ChannelType::Text))
        .await
        .unwrap();
    assert_eq!(channel.name(), Some("general"));
    let channels = owner.guild_channels(guild.id).await.unwrap();
    assert!(channels.iter().any(|c| c.id() == channel.id()));

    let invite = owner.create_invite(guild.id).await.unwrap();
    assert_eq!(invite.guild_id, guild.id);
    let (member, them) = signed_up(&server, "member").await;
    let joined = member.join_invite(&invite.code).await.unwrap();
    assert_eq!(joined.user.id, them.id);

    owner.notify(them.id, &notification()).await.unwrap();

    owner.delete_guild(guild.id).await.unwrap();
    let gone = owner.guild(guild.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(http::StatusCode::NOT_FOUND));
    server.shutdown().await;
}

/// Every row of the route table is served by the local server and has a
/// client method, which asks the limiter under that row's kind.
#[tokio::test]
async fn every_route_of_the_table_is_served_and_callable() {
    // Real limits, so that every answer names its bucket.
    let server = server(RateLimits::default()).await;
    let (owner, me) = signed_up(&server, "owner").await;
    let (_, them) = signed_up(&server, "member").await;
    let guild = create_guild(&owner, "Table").await;
    let notification = notification();

    for kind in RouteKind::ALL {
        // A fresh limiter per row shows which routes the call used;
        // preconditions go through `owner`, which has its own.
        let limiter = InMemoryRateLimiter::new();
        let as_user = |user: &TestUser| {
            Client::builder()
                .base_url(server.rest_url())
                .ratelimiter(limiter.clone())
                .session(&user.session)
                .build()
                .unwrap()
        };
        let client = as_user(&me);
        let called = match kind {
            RouteKind::CreateUser => {
                let body = CreateUser::new("another", 2, "another@example.com", "correct horse");
                client.create_user(&body).await.map(drop)
            }
            RouteKind::GetCurrentUser => client.current_user().await.map(drop),
            RouteKind::UpdateCurrentUser => client
                .update_current_user(&UpdateUser::new().bio("table"))
                .await
                .map(drop),
            RouteKind::CreateGuild => client
                .create_guild(&CreateGuild::new("Another"))
                .await
                .map(drop),
            RouteKind::GetGuild => client.guild(guild.id).await.map(drop),
            RouteKind::UpdateGuild => client
                .update_guild(guild.id, &UpdateGuild::new().name("Renamed"))
                .await
                .map(drop),
            RouteKind::DeleteGuild => {
                let doomed = create_guild(&owner, "Doomed").await;
                client.delete_guild(doomed.id).await
            }
            RouteKind::GetGuildPreview => client.guild_preview(guild.id).await.map(drop),
            RouteKind::JoinInvite => {
                let invite = owner.create_invite(guild.id).await.unwrap();
                as_user(&them).join_invite(&invite.code).await.map(drop)
            }
            RouteKind::CreateChannel => client
                .create_channel(guild.id, &CreateChannel::new("general", ChannelType::Text))
                .await
                .map(drop),
            RouteKind::GetGuildChannels => client.guild_channels(guild.id).await.map(drop),
            RouteKind::CreateInvite => client.create_invite(guild.id).await.map(drop),
            RouteKind::NotifyUser => client.notify(them.id, &notification).await,
            RouteKind::GetAvailable => client.available().await.map(|available| {
                assert_eq!(
                    available.url.as_deref(),
                    Some(server.gateway_url().as_str())
                );
            }),
        };
        called.unwrap_or_else(|error| panic!("{kind}: {error}"));
        let used: Vec<_> = limiter.routes().into_iter().map(|(k, _)| k).collect();
        assert_eq!(used, [kind], "the call used exactly its route");
        let snapshot = limiter.bucket(kind).unwrap();
        assert!(snapshot.learned, "{kind}: the server named no bucket");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn documented_error_codes_are_typed() {
    let server = server(RateLimits::off()).await;
    let (owner, _) = signed_up(&server, "owner").await;
    let (stranger, _) = signed_up(&server, "stranger").await;
    let guild = create_guild(&owner, "Guild").await;

    // 201: not a member.
    let error = stranger
        .update_guild(guild.id, &UpdateGuild::new().name("Mine"))
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NotAMember), "{error:?}");
    let error = stranger.delete_guild(guild.id).await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NotAMember), "{error:?}");

    // 203: a member without the permission.
    let invite = owner.create_invite(guild.id).await.unwrap();
    stranger.join_invite(&invite.code).await.unwrap();
    let error = stranger.delete_guild(guild.id).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingPermissions),
        "{error:?}"
    );
    // The extension routes answer 203 the same way: never a success.
    let error = stranger
        .create_channel(guild.id, &CreateChannel::new("mine", ChannelType::Text))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingPermissions),
        "{error:?}"
    );

    // 400 with the offending field named: passes the client's checks, but
    // the server knows the category does not exist.
    let body =
        CreateChannel::new("general", ChannelType::Text).inside_of(ayaka_model::ChannelId::new(1));
    let error = owner.create_channel(guild.id, &body).await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::BAD_REQUEST));
    assert!(
        error
            .body()
            .unwrap()
            .errors
            .as_ref()
            .unwrap()
            .contains_key("inside_of")
    );

    // 401: unknown session.
    let impostor = client(&server);
    impostor.set_session("123.not-a-session").unwrap();
    let error = impostor.current_user().await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert_eq!(error.body().unwrap().code, 401);

    // 404: unknown guild, unknown invite (a hostile code stays in its segment).
    let error = owner
        .guild_preview(GuildId::new(424_242))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    let error = owner.join_invite("../guilds").await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));

    // 413: a body over 64 KiB.
    let huge = Notification {
        kind: NotificationType::Message,
        excerpt: serde_json::Value::String("x".repeat(70 * 1024)),
    };
    let error = owner
        .notify(ayaka_model::UserId::new(1), &huge)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::PAYLOAD_TOO_LARGE));
    server.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_200_on_10_per_second_is_exact() {
    const REQUESTS: u32 = 200;
    const PER_SECOND: u32 = 10;
    let limits = RateLimits::off().limit(bucket::USERS_ME, Limit::per_second(PER_SECOND));
    let server = server(limits).await;
    let limiter = InMemoryRateLimiter::new();
    let client = Client::builder()
        .base_url(server.rest_url())
        .ratelimiter(limiter.clone())
        // Wait for the limiter, but fail on any 429.
        .retry_policy(ayaka_http::RetryPolicy::new().max_retries(0))
        .build()
        .unwrap();
    // Signing up uses another bucket: the burst has `users.me` to itself.
    let user = create_user(&client, "burst").await;
    client.set_session(first_session(&user)).unwrap();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..REQUESTS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.current_user().await }));
    }
    for task in tasks {
        // No retries: a single 429 would fail the request.
        tokio::time::timeout(Duration::from_secs(40), task)
            .await
            .expect("the burst finishes")
            .unwrap()
            .unwrap();
    }
    let elapsed = start.elapsed();
    let snapshot = limiter.bucket(RouteKind::GetCurrentUser).unwrap();
    assert_eq!(snapshot.limited_responses, 0);
    // 200 requests at 10 per window: 20 windows, the first starting at
    // once, so 19 window lengths at the very least.
    let minimum = Duration::from_secs(u64::from(REQUESTS / PER_SECOND - 1));
    assert!(
        elapsed >= minimum,
        "{elapsed:?} is faster than the limit allows"
    );
    assert!(
        elapsed <= minimum.mul_f64(1.1),
        "{elapsed:?} is more than 10% over the minimum {minimum:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn two_routes_sharing_a_bucket() {
    let limits = RateLimits::off().limit(bucket::GUILDS_GET, Limit::per_second(4));
    let server = server(limits).await;
    let (owner, owner_user) = signed_up(&server, "sharer").await;
    let guild = create_guild(&owner, "Shared").await;
    let limiter = InMemoryRateLimiter::new();
    let client = Client::builder()
        .base_url(server.rest_url())
        .ratelimiter(limiter.clone())
        .retry_policy(ayaka_http::RetryPolicy::new().max_retries(0))
        .build()
        .unwrap();
    client.set_session(&owner_user.session).unwrap();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                client.guild(guild.id).await.map(|g| g.name)
            } else {
                client.guild_preview(guild.id).await.map(|g| g.name)
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "Shared");
    }
    assert!(limiter.same_bucket(RouteKind::GetGuild, RouteKind::GetGuildPreview));
    let snapshot = limiter.bucket(RouteKind::GetGuild).unwrap();
    assert_eq!(snapshot.limited_responses, 0);
    assert_eq!(snapshot.limit, Some(4));
    // 12 requests at 4 per window: three windows, so at least two resets.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_the_limiter_429s_are_retried() {
    let limits = RateLimits::off().limit(bucket::USERS_ME, Limit::per_second(2));
    let server = server(limits).await;
    let user = create_user(&client(&server), "reactive").await;
    let session = first_session(&user);
    let client = Client::builder()
        .base_url(server.rest_url())
        .session(session)
        .without_ratelimiter()
        .retry_policy(ayaka_http::RetryPolicy::new().max_retries(10))
        .build()
        .unwrap();
    for _ in 0..5 {
        client.current_user().await.unwrap();
    }
    // Without waiting, the same run fails with a typed error.
    let impatient = Client::builder()
        .base_url(server.rest_url())
        .session(session)
        .without_ratelimiter()
        .retry_policy(ayaka_http::RetryPolicy::fail_fast())
        .build()
        .unwrap();
    let mut errors = Vec::new();
    // Six quick requests (well under a second) touch at most two windows
    // of two: some must be refused.
    for _ in 0..6 {
        if let Err(error) = impatient.current_user().await {
            errors.push(error);
        }
    }
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| matches!(e.kind(), ErrorKind::RateLimited)),
        "{errors:?}"
    );
    server.shutdown().await;
}

/// The first window of a per-minute bucket, under the load of many callers
/// on many routes at once (whose first requests go blind, and whose answers
/// overtake each other): every slot is used, none is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_guilds_uses_every_slot_of_its_first_minute() {
    const CALLERS: usize = 200;
    // The default limits: `guilds.create` allows 20 a minute.
    let server = server(RateLimits::default()).await;
    let limiter = InMemoryRateLimiter::new();
    let client = Client::builder()
        .base_url(server.rest_url())
        .ratelimiter(limiter.clone())
        .retry_policy(
            ayaka_http::RetryPolicy::new()
                .max_retries(0)
                .max_wait(Duration::from_secs(5)),
        )
        .build()
        .unwrap();
    let user = create_user(&client, "creator").await;
    client.set_session(first_session(&user)).unwrap();
    // Not a guild of ours: answered 404, with the headers all the same.
    let elsewhere = GuildId::new(1);
    let mut creators = Vec::new();
    let mut others = Vec::new();
    for i in 0..CALLERS {
        let creator = client.clone();
        creators.push(tokio::spawn(async move {
            creator
                .create_guild(&CreateGuild::new(format!("g{i}")))
                .await
        }));
        let client = client.clone();
        others.push(tokio::spawn(async move {
            let result = match i % 5 {
                0 => client.current_user().await.map(drop),
                1 => client
                    .update_current_user(&UpdateUser::new().bio("x"))
                    .await
                    .map(drop),
                2 => client.guild(elsewhere).await.map(drop),
                3 => client.guild_preview(elsewhere).await.map(drop),
                _ => client.guild_channels(elsewhere).await.map(drop),
            };
            result.err().map(|e| e.kind())
        }));
    }
    let mut created = 0;
    let mut errors = Vec::new();
    for task in creators {
        let result = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("every caller finishes")
            .unwrap();
        match result {
            Ok(_) => created += 1,
            Err(error) => errors.push(error),
        }
    }
    for task in others {
        let kind = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("every caller finishes")
            .unwrap();
        assert_ne!(kind, Some(ErrorKind::RateLimited));
    }
    let snapshot = limiter.bucket(RouteKind::CreateGuild).unwrap();
    assert_eq!(snapshot.limited_responses, 0, "{snapshot:?}");
    assert_eq!(created, 20, "{snapshot:?}");
    // The rest gave up at once: the bucket is spent for the minute.
    assert!(errors.iter().all(|e| {
        e.kind() == ErrorKind::RateLimited
            && e.retry_after()
                .is_some_and(|wait| wait > Duration::from_secs(5))
    }));
    server.shutdown().await;
}
