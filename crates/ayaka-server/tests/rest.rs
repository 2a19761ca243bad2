//! Every REST route's success and error codes, over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::testing::{self, TestUser, user_with_session};
use ayaka_server::{Limit, RateLimits, Server, bucket};
use bytes::Bytes;
use common::{create_guild, join, raw_request, request, request_as};
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends each `(who, method, path)` in turn without a body (`None`: without
/// a session) and expects its status.
async fn expect_statuses(server: &Server, cases: &[(Option<&TestUser>, Method, &str, u16)]) {
    for (who, method, path, expected) in cases {
        let session = who.map(|user| user.session.as_str());
        let response = request(server, method.clone(), path, session, None).await;
        let who = who.map(|user| user.id);
        let status = response.status.as_u16();
        assert_eq!(status, *expected, "{method} {path} as {who:?}");
    }
}

#[tokio::test]
async fn users_create_get_and_update() {
    let server = testing::server().await;
    // signed up by hand: the answer to the sign-up is under test here
    let body = json!({"username": "alice", "separator": 1, "email": "alice@example.com",
                      "password": "correct horse"});
    let created = request(&server, Method::POST, "/users/@me", None, Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["username"], "alice");
    assert!(created.body.get("password").is_none());
    let alice_id = created.body["id"].as_u64().unwrap();
    let session = &created.body["session_ids"][0].as_str().unwrap().to_owned();
    let (name, secret) = session.split_once('.').unwrap();
    assert!(name.parse::<u64>().is_ok());
    assert!(secret.len() >= 22, "128 bits of secret");

    let me = common::me(&server, session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], alice_id);
    assert_eq!(me.body["session_ids"][0], session.as_str());
    assert!(me.body.get("password").is_none());

    let patched = request(
        &server,
        Method::PATCH,
        "/users/@me",
        Some(session),
        Some(json!({"bio": "hi", "password": "another password"})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["bio"], "hi");
    assert_eq!(patched.body["username"], "alice");
    assert!(!String::from_utf8_lossy(&patched.raw).contains("another password"));

    let invalid = request(
        &server,
        Method::PATCH,
        "/users/@me",
        Some(session),
        Some(json!({"username": "", "bio": "b".repeat(191)})),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body["errors"]["username"].is_string());
    assert!(invalid.body["errors"]["bio"].is_string());

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"bio": "x"}))),
    ] {
        for auth in [
            None,
            Some("1.AAAAAAAAAAAAAAAAAAAAAA"),
            Some(alice_id.to_string().as_str()),
        ] {
            let response = request(&server, method.clone(), "/users/@me", auth, body.clone()).await;
            assert_eq!(
                response.status,
                StatusCode::UNAUTHORIZED,
                "{method} {auth:?}"
            );
            assert_eq!(response.body["code"], 401);
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn validation_names_every_bad_field() {
    let server = testing::server().await;
    let bad = json!({"username": "", "separator": 10_000, "email": "nope", "password": "short"});
    let response = request(&server, Method::POST, "/users/@me", None, Some(bad)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let errors = response.body["errors"].as_object().unwrap();
    let mut fields: Vec<_> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["email", "password", "separator", "username"]);

    let wrong_type =
        json!({"username": "a", "separator": "one", "email": "a@b.co", "password": "12345678"});
    let response = request(&server, Method::POST, "/users/@me", None, Some(wrong_type)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        response.body["errors"]["separator"].is_string(),
        "{}",
        response.body
    );

    let missing = json!({"username": "a", "separator": 1, "password": "12345678"});
    let response = request(&server, Method::POST, "/users/@me", None, Some(missing)).await;
    assert_eq!(response.body["errors"]["email"], "is required");

    let alice = user_with_session(&server, "alice").await;
    let long_name = "x".repeat(101);
    let response = request_as(
        &server,
        &alice,
        Method::POST,
        "/guilds",
        Some(json!({"name": long_name})),
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body["errors"]["name"].is_string());
    server.shutdown().await;
}

#[tokio::test]
async fn a_400_names_every_wrong_type_missing_field_and_broken_rule() {
    let server = testing::server().await;
    let body = json!({"username": 7, "separator": "one", "bio": ["x"], "password": "short"});
    let response = request(&server, Method::POST, "/users/@me", None, Some(body)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let errors = response.body["errors"].as_object().unwrap();
    let mut fields: Vec<_> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["bio", "email", "password", "separator", "username"]
    );
    assert_eq!(errors["email"], "is required");

    let alice = user_with_session(&server, "alice").await;
    for body in [
        json!({"name": "nul\u{0}inside"}),
        json!({"name": "line\nbreak", "description": 5}),
    ] {
        let response = request_as(&server, &alice, Method::POST, "/guilds", Some(body)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert!(
            response.body["errors"]["name"].is_string(),
            "{}",
            response.body
        );
    }
    let channel = json!({"name": 1, "position": "first"});
    let guild = create_guild(&server, &alice, "g").await;
    let response = request_as(
        &server,
        &alice,
        Method::POST,
        &format!("/guilds/{guild}/channels"),
        Some(channel),
    )
    .await;
    let errors = response.body["errors"].as_object().unwrap();
    let mut fields: Vec<_> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["name", "position", "type"]);
    assert_eq!(server.stats().guilds, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let server = testing::server().await;
    let json_type = [("content-type", "application/json")];
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Headers<'_>, Bytes, StatusCode); 5] = [
        (
            &json_type,
            Bytes::from_static(b"{\"username\":"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &json_type,
            Bytes::from_static(b"[1, 2]"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &json_type,
            Bytes::from_static(b"\xff\xfe"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &[("content-type", "text/plain")],
            Bytes::from_static(b"{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            &json_type,
            Bytes::from(vec![b' '; 64 * 1024 + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (headers, body, status) in cases {
        let response = raw_request(&server, Method::POST, "/users/@me", headers, body).await;
        assert_eq!(response.status, status);
        assert_eq!(response.body["code"], status.as_u16());
        assert!(response.body["message"].is_string());
    }
    // A chunked body has no length to refuse up front: it is cut at 64 KiB.
    let mut stream = tokio::net::TcpStream::connect(server.rest_addr())
        .await
        .unwrap();
    let head = "POST /users/@me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // Exactly 64 KiB, then one byte more and nothing after it: when the
    // server refuses, it has read every byte sent, so it closes cleanly.
    // (Unread bytes would turn its close into a reset, which may destroy
    // the answer before this test reads it.)
    let chunk = vec![b' '; 8 * 1024];
    for _ in 0..8 {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        stream.write_all(&framed).await.unwrap();
    }
    stream.write_all(b"1\r\n ").await.unwrap();
    let mut answer = vec![0_u8; 12];
    tokio::time::timeout(common::WAIT, stream.read_exact(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");

    let missing_type = raw_request(
        &server,
        Method::POST,
        "/users/@me",
        &[],
        Bytes::from_static(b"{}"),
    )
    .await;
    assert_eq!(missing_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let unknown = request(&server, Method::GET, "/nowhere", None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["code"], 404);
    let wrong_method = request(&server, Method::PUT, "/guilds/1", None, None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.header("allow"), "GET, PATCH, DELETE");
    // the server is still fine
    user_with_session(&server, "still-serving").await;
    server.shutdown().await;
}

#[tokio::test]
async fn guild_routes_follow_the_documented_codes() {
    let server = testing::server().await;
    let owner = user_with_session(&server, "owner").await;
    let member = user_with_session(&server, "member").await;
    let stranger = user_with_session(&server, "stranger").await;
    let created = request_as(
        &server,
        &owner,
        Method::POST,
        "/guilds",
        Some(json!({"name": "guild", "description": "about"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["owner"], owner.id.get());
    assert_eq!(created.body["roles"][0]["name"], "@everyone");
    assert_eq!(
        created.body["roles"][0]["permissions"],
        json!(["CREATE_INVITE"])
    );
    let guild = created.body["id"].as_u64().unwrap();
    let path = format!("/guilds/{guild}");
    let unauthorized = request(
        &server,
        Method::POST,
        "/guilds",
        None,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);

    join(&server, guild, &owner, &member).await;

    // GET: members 200, others 404, no session 401
    let got = request_as(&server, &member, Method::GET, &path, None).await;
    assert_eq!(
        (got.status, got.body["name"].clone()),
        (StatusCode::OK, json!("guild"))
    );
    // preview needs no session
    let preview = request(&server, Method::GET, &format!("{path}/preview"), None, None).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.body["name"], "guild");
    assert!(preview.body.get("roles").is_none());
    expect_statuses(
        &server,
        &[
            (Some(&stranger), Method::GET, &path, 404),
            (Some(&owner), Method::GET, "/guilds/1", 404),
            (None, Method::GET, &path, 401),
            (None, Method::GET, "/guilds/1/preview", 404),
        ],
    )
    .await;

    // PATCH: 201 not a member / bad session, 203 no permission, 404, 400, 200
    let rename = json!({"name": "renamed"});
    let empty_name = json!({"name": ""});
    let owner_session = Some(owner.session.as_str());
    for (session, path, body, expected) in [
        (Some(stranger.session.as_str()), &*path, &rename, 201),
        (None, &path, &rename, 201),
        (Some("9.bogus"), &path, &rename, 201),
        (Some(member.session.as_str()), &path, &rename, 203),
        (owner_session, "/guilds/1", &rename, 404),
        (owner_session, &path, &empty_name, 400),
    ] {
        let response = request(&server, Method::PATCH, path, session, Some(body.clone())).await;
        let status = response.status.as_u16();
        assert_eq!(status, expected, "PATCH {path} {body} as {session:?}");
    }
    let renamed = request(&server, Method::PATCH, &path, owner_session, Some(rename)).await;
    assert_eq!(
        (renamed.status, renamed.body["name"].clone()),
        (StatusCode::OK, json!("renamed"))
    );

    // channels and invites (extensions)
    let channels = format!("{path}/channels");
    let category = json!({"name": "cat", "type": 1});
    // 203 for a member without the permission, 404 for a stranger
    for (who, expected) in [(&member, 203), (&stranger, 404)] {
        let body = Some(category.clone());
        let response = request_as(&server, who, Method::POST, &channels, body).await;
        let status = response.status.as_u16();
        assert_eq!(status, expected, "POST {channels} as {}", who.id);
    }
    let response = request_as(&server, &owner, Method::POST, &channels, Some(category)).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(
        (
            response.body["type"].clone(),
            response.body["guild_id"].clone()
        ),
        (json!(1), json!(guild))
    );
    let category_id = response.body["id"].as_u64().unwrap();
    let text = json!({"name": "general", "type": 2, "inside_of": category_id});
    let response = request_as(&server, &owner, Method::POST, &channels, Some(text)).await;
    assert_eq!(
        (response.status, response.body["inside_of"].clone()),
        (StatusCode::CREATED, json!(category_id))
    );
    let bad_parent = json!({"name": "general", "type": 2, "inside_of": 12345});
    let response = request_as(&server, &owner, Method::POST, &channels, Some(bad_parent)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body["errors"]["inside_of"].is_string());
    let listed = request_as(&server, &member, Method::GET, &channels, None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    let invites = format!("{path}/invites");
    expect_statuses(
        &server,
        &[
            (Some(&stranger), Method::GET, &channels, 404),
            (Some(&stranger), Method::POST, &invites, 404),
            (Some(&stranger), Method::POST, "/invites/nope", 404),
            (None, Method::POST, "/invites/nope", 401),
        ],
    )
    .await;

    // DELETE: 201, 203 (even for a member), 204, then 404
    expect_statuses(
        &server,
        &[
            (Some(&stranger), Method::DELETE, &path, 201),
            (None, Method::DELETE, &path, 201),
            (Some(&member), Method::DELETE, &path, 203),
        ],
    )
    .await;
    let deleted = request_as(&server, &owner, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.raw.is_empty());
    expect_statuses(&server, &[(Some(&owner), Method::DELETE, &path, 404)]).await;
    let stats = server.stats();
    assert_eq!(
        (stats.guilds, stats.invites, stats.users_in_guilds),
        (0, 0, 0)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn joining_answers_the_member() {
    let server = testing::server().await;
    let owner = user_with_session(&server, "owner").await;
    let member = user_with_session(&server, "member").await;
    let guild = create_guild(&server, &owner, "g").await;
    let invite = request_as(
        &server,
        &owner,
        Method::POST,
        &format!("/guilds/{guild}/invites"),
        None,
    )
    .await;
    assert_eq!(invite.status, StatusCode::CREATED);
    assert_eq!(invite.body["guild_id"], guild);
    assert_eq!(invite.body["inviter_id"], owner.id.get());
    let code = invite.body["code"].as_str().unwrap();
    let joined = request_as(
        &server,
        &member,
        Method::POST,
        &format!("/invites/{code}"),
        None,
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK);
    assert_eq!(joined.body["user"]["id"], member.id.get());
    assert!(
        joined.body["user"].get("email").is_none(),
        "members show public users"
    );
    assert_eq!(joined.body["owner"], false);
    assert_eq!(joined.body["guild_id"], guild);
    assert!(joined.body["joined_at"].is_string());
    server.shutdown().await;
}

#[tokio::test]
async fn notifications_need_a_shared_guild() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let bob = user_with_session(&server, "bob").await;
    let body = json!({"type": "GUILD", "excerpt": {}});
    let path = format!("/users/{}/notifications", bob.id);
    let refused = request_as(&server, &alice, Method::POST, &path, Some(body.clone())).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let guild = create_guild(&server, &alice, "g").await;
    join(&server, guild, &alice, &bob).await;
    let sent = request_as(&server, &alice, Method::POST, &path, Some(body)).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limits_send_headers_and_429() {
    let limits = RateLimits::default().limit(
        bucket::GUILDS_GET,
        Limit::new(2, 1, ayaka_server::Per::Minute),
    );
    let server = testing::builder()
        .rate_limits(limits)
        .spawn()
        .await
        .unwrap();
    let first = request(
        &server,
        Method::GET,
        "/guilds/1/preview",
        Some("1.secret-not-echoed"),
        None,
    )
    .await;
    assert_eq!(first.status, StatusCode::NOT_FOUND);
    assert_eq!(
        first.header("x-ratelimit-bucket"),
        "LIMITER/127.0.0.1/guilds.get/2/1/minute"
    );
    assert_eq!(first.header("x-ratelimit-limit"), "2");
    assert_eq!(first.header("x-ratelimit-remaining"), "1");
    assert_eq!(first.header("x-ratelimit-retry-after"), "0");
    let reset: u64 = first.header("x-ratelimit-reset").parse().unwrap();
    let date = httpdate::parse_http_date(first.header("date")).unwrap();
    let date = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (date + 59..=date + 61).contains(&reset),
        "reset {reset} vs date {date}"
    );
    for response in [&first] {
        for value in response.headers.values() {
            assert!(
                !value.to_str().unwrap_or("").contains("secret"),
                "session echoed"
            );
        }
    }

    // GET /guilds/{id} shares the bucket with the preview
    let second = request(&server, Method::GET, "/guilds/1", None, None).await;
    assert_eq!(second.header("x-ratelimit-remaining"), "0");
    let limited = request(&server, Method::GET, "/guilds/1/preview", None, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["code"], 429);
    let retry_after = limited.body["retry_after"].as_f64().unwrap();
    assert!(retry_after > 0.0 && retry_after <= 60.0);
    let header: u64 = limited.header("x-ratelimit-retry-after").parse().unwrap();
    assert!((1..=60).contains(&header));
    assert_eq!(limited.header("retry-after"), header.to_string());
    assert!(second.headers.get("retry-after").is_none());

    // other buckets are untouched, unknown routes have their own
    let other = request(&server, Method::GET, "/available", None, None).await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(
        other
            .header("x-ratelimit-bucket")
            .contains("/gateway.available/")
    );
    let unknown = request(&server, Method::GET, "/nope", None, None).await;
    assert!(unknown.header("x-ratelimit-bucket").contains("/unknown/"));
    server.shutdown().await;
}

#[tokio::test]
async fn local_stats_count_requests_and_429s() {
    let limits = RateLimits::default().limit(bucket::GUILDS_GET, Limit::per_minute(1));
    let server = testing::builder()
        .rate_limits(limits)
        .spawn()
        .await
        .unwrap();
    for _ in 0..3 {
        request(&server, Method::GET, "/guilds/1/preview", None, None).await;
    }
    user_with_session(&server, "counted").await;
    let stats = request(&server, Method::GET, "/_local/stats", None, None).await;
    assert_eq!(stats.status, StatusCode::OK);
    // The stats route itself is neither counted nor rate limited.
    assert!(stats.headers.get("x-ratelimit-bucket").is_none());
    assert_eq!(stats.body["requests"], 4, "{}", stats.body);
    assert_eq!(stats.body["rate_limited"], 2);
    assert_eq!(stats.body["connections"], 0);
    assert_eq!(stats.body["identifying"], 0);
    assert_eq!(stats.body["identifying_peak"], 0);
    assert_eq!(stats.body["users"], 1);
    assert_eq!(stats.body["hashing"]["completed"], 1);
    assert_eq!(stats.body["hashing"]["running"], 0);
    assert_eq!(stats.body["hashing"]["queued"], 0);
    let in_process = server.stats();
    assert_eq!((in_process.requests, in_process.rate_limited), (4, 2));
    let wrong = request(&server, Method::POST, "/_local/stats", None, None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.body["code"], 405);
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limits_off_sends_no_headers() {
    let server = testing::server().await;
    let response = request(&server, Method::GET, "/available", None, None).await;
    assert!(response.headers.get("x-ratelimit-limit").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn available_answers_the_least_loaded_port() {
    let server = testing::builder().gateway_ports(3).spawn().await.unwrap();
    assert_eq!(server.gateway_urls().len(), 3);
    let first = request(&server, Method::GET, "/available", None, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let port = first.body["port"].as_u64().unwrap();
    assert_eq!(first.body["url"], format!("ws://127.0.0.1:{port}"));
    // hold a connection on that port: another port becomes the least loaded
    let held = common::Gateway::connect(first.body["url"].as_str().unwrap()).await;
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let next = request(&server, Method::GET, "/available", None, None).await;
        if next.body["port"].as_u64().unwrap() != port {
            break;
        }
        // the server counts the connection once its accept task runs
        assert!(tokio::time::Instant::now() < deadline, "load never counted");
        tokio::task::yield_now().await;
    }
    drop(held);
    server.shutdown().await;
}

#[tokio::test]
async fn quirks_mode_answers_deployed_error_bodies() {
    let server = testing::builder().quirks(true).spawn().await.unwrap();
    let response = request(&server, Method::GET, "/guilds/1/preview", None, None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        response.body,
        json!({"message": "404: Not Found", "code": 0})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn taken_emails_and_handles_are_field_errors() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let sign_up = |username: &str, separator: u16, email: &str| {
        json!({"username": username, "separator": separator, "email": email,
               "password": "correct horse"})
    };
    let same_email = sign_up("other", 1, "ALICE@example.com");
    let response = request(&server, Method::POST, "/users/@me", None, Some(same_email)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["errors"]["email"], "is already taken");
    assert!(response.body["errors"].get("username").is_none());

    let same_handle = sign_up("alice", 1, "new@example.com");
    let response = request(&server, Method::POST, "/users/@me", None, Some(same_handle)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body["errors"]["username"].is_string());
    assert!(response.body["errors"]["separator"].is_string());

    // Another separator is another handle.
    let other_separator = sign_up("alice", 2, "new@example.com");
    let response = request(
        &server,
        Method::POST,
        "/users/@me",
        None,
        Some(other_separator),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED);

    // PATCH cannot take them either.
    let bob = user_with_session(&server, "bob").await;
    let steal = json!({"email": "alice@example.com"});
    let response = request_as(&server, &bob, Method::PATCH, "/users/@me", Some(steal)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["errors"]["email"], "is already taken");
    let own = json!({"email": "alice@example.com", "username": "alice", "separator": 1});
    let response = request_as(&server, &alice, Method::PATCH, "/users/@me", Some(own)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(server.stats().users, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_guild_is_404_before_any_201() {
    let server = testing::server().await;
    let owner = user_with_session(&server, "owner").await;
    let stranger = user_with_session(&server, "stranger").await;
    let guild = create_guild(&server, &owner, "g").await;
    for method in [Method::PATCH, Method::DELETE] {
        for session in [None, Some("9.bogus"), Some(stranger.session.as_str())] {
            let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
            let unknown =
                request(&server, method.clone(), "/guilds/1", session, body.clone()).await;
            assert_eq!(
                unknown.status,
                StatusCode::NOT_FOUND,
                "{method} {session:?}"
            );
            assert_eq!(unknown.body["code"], 404);
            let known = request(
                &server,
                method.clone(),
                &format!("/guilds/{guild}"),
                session,
                body,
            )
            .await;
            assert_eq!(known.status, StatusCode::CREATED, "{method} {session:?}");
        }
    }
    // A non-member's bad body is still a 201: membership is checked first.
    let bad = request_as(
        &server,
        &stranger,
        Method::PATCH,
        &format!("/guilds/{guild}"),
        Some(json!({"name": ""})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::CREATED);
    server.shutdown().await;
}

/// Sends raw bytes and reads the whole answer (the server closes).
async fn raw_exchange(server: &ayaka_server::Server, bytes: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.rest_addr())
        .await
        .unwrap();
    // The server may answer and close before reading everything. Then the
    // client says it is done, so that the server's draining read ends.
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("answered in time");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn requests_hyper_refuses_still_get_json_errors() {
    let server = testing::server().await;
    // Exactly the 16 KiB limit and not a byte more, so that the server has
    // read everything when it refuses (unread bytes would make its close a
    // reset, which may destroy the answer before it is read).
    let head_limit = 16 * 1024;
    let long_uri = format!("GET /{}", "a".repeat(head_limit - 5));
    let big_headers = {
        let start = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ";
        format!("{start}{}", "a".repeat(head_limit - start.len()))
    };
    let cases: [(&[u8], u16); 4] = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n", 400),
        (long_uri.as_bytes(), 431),
        (big_headers.as_bytes(), 431),
    ];
    for (bytes, code) in cases {
        let answer = raw_exchange(&server, bytes).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {code} ")), "{answer}");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], code);
        assert!(body["message"].is_string());
    }
    user_with_session(&server, "still-serving").await;
    server.shutdown().await;
}
