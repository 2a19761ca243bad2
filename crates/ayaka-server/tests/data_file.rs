//! `ServerBuilder::data_file`: everything in one SQLite file, loaded at
//! start; bad files refused with their own error kind and left untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use ayaka_server::testing::{self, user_with_session};
use ayaka_server::{ErrorKind, Server};
use common::{Gateway, TempDir, create_guild, create_invite, join, request, request_as};
use http::{Method, StatusCode};
use serde_json::json;

async fn with_file(path: &Path) -> Server {
    testing::builder().data_file(path).spawn().await.unwrap()
}

#[tokio::test]
async fn everything_survives_a_restart_from_the_file() {
    let dir = TempDir::new("restart");
    let path = dir.file("data.sqlite3");
    let first = with_file(&path).await;
    let owner = user_with_session(&first, "owner").await;
    let member = user_with_session(&first, "member").await;
    let guild = create_guild(&first, &owner, "kept").await;
    let gone = create_guild(&first, &owner, "deleted").await;
    join(&first, guild, &owner, &member).await;
    let channels = format!("/guilds/{guild}/channels");
    let category = request_as(
        &first,
        &owner,
        Method::POST,
        &channels,
        Some(json!({"name": "cat", "type": 1})),
    )
    .await;
    let category = category.body["id"].as_u64().unwrap();
    let text = json!({"name": "general", "type": 2, "inside_of": category});
    request_as(&first, &owner, Method::POST, &channels, Some(text)).await;
    let patch = json!({"description": "edited", "vanity_url": "kept"});
    let patched = request_as(
        &first,
        &owner,
        Method::PATCH,
        &format!("/guilds/{guild}"),
        Some(patch),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK);
    let code = create_invite(&first, &owner, guild).await;
    let deleted = request_as(
        &first,
        &owner,
        Method::DELETE,
        &format!("/guilds/{gone}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let bio = json!({"bio": "hello", "username": "renamed"});
    request_as(&first, &member, Method::PATCH, "/users/@me", Some(bio)).await;
    let before = first.stats();
    first.shutdown().await;

    let second = with_file(&path).await;
    let after = second.stats();
    assert_eq!(
        (
            after.users,
            after.guilds,
            after.invites,
            after.users_in_guilds
        ),
        (
            before.users,
            before.guilds,
            before.invites,
            before.users_in_guilds
        )
    );
    // Two invites: the one `join` made and the one made above.
    assert_eq!((after.users, after.guilds, after.invites), (2, 1, 2));
    let me = common::me(&second, &member.session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["username"].clone(), me.body["bio"].clone()),
        (json!("renamed"), json!("hello"))
    );
    assert_eq!(me.body["session_ids"], json!([member.session]));
    assert_eq!(me.body["email"], "member@example.com");

    // The owner's session identifies; GUILD_INIT holds what was made.
    let (mut gateway, ready) = Gateway::identify(&second, &owner, "json").await;
    assert_eq!(ready["d"]["id"], owner.id.get());
    let init = gateway.expect("GUILD_INIT").await;
    let kept = &init["d"];
    assert_eq!(kept["id"], guild);
    assert_eq!(
        (kept["name"].clone(), kept["description"].clone()),
        (json!("kept"), json!("edited"))
    );
    assert_eq!(kept["vanity_url"], "kept");
    assert_eq!(kept["roles"][0]["name"], "@everyone");
    let channel_names: Vec<_> = kept["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(channel_names, [json!("cat"), json!("general")]);
    assert_eq!(kept["channels"][1]["inside_of"], category);
    assert_eq!(kept["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        request(
            &second,
            Method::GET,
            &format!("/guilds/{gone}/preview"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // The invite still works, and uniqueness holds across the restart.
    let newcomer = user_with_session(&second, "newcomer").await;
    let joined = request_as(
        &second,
        &newcomer,
        Method::POST,
        &format!("/invites/{code}"),
        None,
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK);
    let duplicate = json!({"username": "x", "separator": 1, "email": "owner@example.com", "password": "password1"});
    let refused = request(&second, Method::POST, "/users/@me", None, Some(duplicate)).await;
    assert_eq!(refused.body["errors"]["email"], "is already taken");
    drop(gateway);
    second.shutdown().await;

    // A third start sees the newcomer too.
    let third = with_file(&path).await;
    assert_eq!((third.stats().users, third.stats().users_in_guilds), (3, 3));
    third.shutdown().await;
}

async fn refusal(path: &Path) -> ErrorKind {
    testing::builder()
        .data_file(path)
        .spawn()
        .await
        .unwrap_err()
        .kind()
}

#[tokio::test]
async fn bad_files_are_refused_and_left_as_they_were() {
    let dir = TempDir::new("refused");

    let garbage = dir.file("garbage");
    let bytes: Vec<u8> = (0..10_000_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, &bytes).unwrap();
    assert_eq!(refusal(&garbage).await, ErrorKind::DataCorrupt);
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

    let foreign = dir.file("foreign.sqlite3");
    {
        let connection = rusqlite::Connection::open(&foreign).unwrap();
        connection
            .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let foreign_bytes = std::fs::read(&foreign).unwrap();
    assert_eq!(refusal(&foreign).await, ErrorKind::DataForeign);
    assert_eq!(std::fs::read(&foreign).unwrap(), foreign_bytes);

    // One of ours, from a newer server.
    let newer = dir.file("newer.sqlite3");
    with_file(&newer).await.shutdown().await;
    {
        let connection = rusqlite::Connection::open(&newer).unwrap();
        connection
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
    }
    let newer_bytes = std::fs::read(&newer).unwrap();
    let error = testing::builder()
        .data_file(&newer)
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::DataVersion);
    assert!(error.to_string().contains("99"), "{error}");
    assert_eq!(std::fs::read(&newer).unwrap(), newer_bytes);

    // One of ours, cut short.
    let truncated = dir.file("truncated.sqlite3");
    let server = with_file(&truncated).await;
    for index in 0..30 {
        user_with_session(&server, &format!("user{index}")).await;
    }
    server.shutdown().await;
    {
        // Fold the WAL into the main file, then cut it.
        let connection = rusqlite::Connection::open(&truncated).unwrap();
        connection
            .execute_batch("PRAGMA journal_mode = DELETE;")
            .unwrap();
    }
    let whole = std::fs::read(&truncated).unwrap();
    assert!(whole.len() > 8_192, "{} bytes", whole.len());
    std::fs::write(&truncated, &whole[..whole.len() - 4_096]).unwrap();
    let cut = std::fs::read(&truncated).unwrap();
    assert_eq!(refusal(&truncated).await, ErrorKind::DataCorrupt);
    assert_eq!(std::fs::read(&truncated).unwrap(), cut);
}

#[tokio::test]
async fn a_file_in_use_is_refused_and_data_with_a_file_is_a_config_error() {
    let dir = TempDir::new("in-use");
    let path = dir.file("data.sqlite3");
    let holder = with_file(&path).await;
    user_with_session(&holder, "alice").await;
    assert_eq!(refusal(&path).await, ErrorKind::DataUnavailable);
    let error = testing::builder()
        .data(holder.data())
        .data_file(&path)
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    // The holder is unharmed.
    user_with_session(&holder, "bob").await;
    holder.shutdown().await;
    assert_eq!(with_file(&path).await.stats().users, 2);
}

#[tokio::test]
async fn in_process_data_of_a_file_backed_server_keeps_writing_the_file() {
    let dir = TempDir::new("data");
    let path = dir.file("data.sqlite3");
    let first = with_file(&path).await;
    user_with_session(&first, "alice").await;
    let data = first.data();
    first.shutdown().await;
    let second = testing::builder().data(data).spawn().await.unwrap();
    user_with_session(&second, "bob").await;
    second.shutdown().await;
    // The last handle on the data is gone with the server: the file is
    // closed, and holds both.
    let reopened = with_file(&path).await;
    assert_eq!(reopened.stats().users, 2);
    reopened.shutdown().await;
}
