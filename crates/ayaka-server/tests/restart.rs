//! A server restarted on its own ports with its data keeps every account,
//! session and guild, as the real service does across a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::testing::{self, user_with_session};
use common::*;
use http::StatusCode;

#[tokio::test]
async fn a_restart_with_the_same_data_keeps_sessions_and_guilds() {
    let first = testing::server().await;
    let owner = user_with_session(&first, "owner").await;
    let guild = create_guild(&first, &owner, "kept").await;
    let (rest, gateway) = (first.rest_addr(), first.gateway_addrs()[0]);
    let data = first.data();
    first.shutdown().await;

    let second = testing::builder()
        .bind(rest)
        .gateway_port_base(gateway.port())
        .data(data)
        .spawn()
        .await
        .unwrap();
    assert_eq!(second.rest_addr(), rest);
    assert_eq!(second.gateway_addrs()[0], gateway);

    let me = common::me(&second, &owner.session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"].as_u64(), Some(owner.id.get()));

    // The same session identifies on the same gateway port and gets its guild.
    let (mut connection, _ready) = Gateway::identify(&second, &owner, "json").await;
    let init = connection.expect("GUILD_INIT").await;
    assert_eq!(init["d"]["id"].as_u64(), Some(guild));
    assert_eq!(second.stats().users, 1);
    second.shutdown().await;
}

#[tokio::test]
async fn without_the_data_a_restart_starts_empty() {
    let first = testing::server().await;
    let owner = user_with_session(&first, "owner").await;
    let rest = first.rest_addr();
    first.shutdown().await;

    let second = testing::builder().bind(rest).spawn().await.unwrap();
    let me = common::me(&second, &owner.session).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    second.shutdown().await;
}
