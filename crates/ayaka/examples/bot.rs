//! A bot in the shape of nextcore's quickstart: listeners on a dispatcher
//! reacting to gateway events with REST calls.
//!
//! Whenever a channel named `ping` is created in a guild it is in, the bot
//! looks the guild up over REST and sends its owner a `pong` notification.
//!
//! With `AYAKA_API_URL`, `AYAKA_GATEWAY_URL` and `AYAKA_SESSION` set it runs
//! against that server until Ctrl-C. Without them it starts the local server,
//! plays the owner itself (makes a guild, invites the bot, creates `ping`,
//! listens on its own connection), and exits once the pong arrives.
//!
//! ```sh
//! cargo run --example bot
//! ```
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use ayaka::gateway::{Dispatcher, GatewayEndpoint, Shard, ShardConfig, ShardId, ShardMessage};
use ayaka::http::Client;
use ayaka::model::gateway::{Event, EventKind};
use ayaka::model::request::{CreateChannel, CreateGuild, CreateUser};
use ayaka::model::{ChannelType, Notification, NotificationType};
use ayaka_server::{PasswordHashing, RateLimits, Server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // RUST_LOG (default warn), then the directives that keep the session id
    // out of tungstenite's frame logging, even under RUST_LOG=trace.
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    for directive in ayaka::LOG_DIRECTIVES {
        filter = filter.add_directive(directive.parse()?);
    }
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let configured = (
        std::env::var("AYAKA_API_URL"),
        std::env::var("AYAKA_GATEWAY_URL"),
        std::env::var("AYAKA_SESSION"),
    );
    if let (Ok(api), Ok(gateway), Ok(session)) = configured {
        let (dispatcher, shard) = start_bot(&api, &gateway, &session)?;
        let run = run_shard(shard, dispatcher);
        tokio::select! {
            result = run => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
        return Ok(());
    }
    demo().await
}

/// The bot itself: a REST client, a shard and one listener.
fn start_bot(api: &str, gateway: &str, session: &str) -> Result<(Dispatcher, Shard), BoxError> {
    let http = Arc::new(Client::builder().base_url(api).session(session).build()?);
    let dispatcher = Dispatcher::new();

    dispatcher.on(EventKind::ChannelCreate, move |received| {
        let http = Arc::clone(&http);
        async move {
            let Event::ChannelCreate(channel) = &received.event else {
                return;
            };
            let (Some("ping"), Some(guild)) = (channel.name(), channel.guild_id()) else {
                return;
            };
            println!("bot: saw #ping in guild {guild}, answering its owner");
            let pong = Notification {
                kind: NotificationType::Message,
                excerpt: serde_json::json!({"content": "pong", "channel_id": channel.id()}),
            };
            let answer = async {
                let owner = http.guild(guild).await?.owner;
                http.notify(owner, &pong).await
            };
            if let Err(error) = answer.await {
                println!("bot: could not answer: {error}");
            }
        }
    });

    let config = ShardConfig::builder(session)
        .endpoint(GatewayEndpoint::Url(gateway.to_owned()))
        .build();
    Ok((dispatcher, Shard::spawn(ShardId(0), config)))
}

/// Feeds every shard message to the dispatcher until the shard ends; a
/// shard that ended by itself (a fatal close code) says why. Listeners run
/// on their own tasks, so a slow REST call in one holds up nothing else,
/// and a panic in one is caught and reported to the lifecycle listeners.
async fn run_shard(shard: Shard, dispatcher: Dispatcher) -> Result<(), BoxError> {
    dispatcher.run(shard).await?;
    Ok(())
}

/// Everything on a local server: an owner, the bot, a guild, a `ping`.
async fn demo() -> Result<(), BoxError> {
    let server = Server::builder()
        .rate_limits(RateLimits::default())
        .password_hashing(PasswordHashing::Fast)
        .spawn()
        .await?;
    let anonymous = Client::builder().base_url(server.rest_url()).build()?;
    let session_of = |user: ayaka::model::User| {
        user.session_ids
            .and_then(|ids| ids.into_iter().next())
            .ok_or("no session id")
    };
    let human_session = session_of(
        anonymous
            .create_user(&CreateUser::new(
                "human",
                1,
                "human@example.com",
                "a long password",
            ))
            .await?,
    )?;
    let bot = session_of(
        anonymous
            .create_user(&CreateUser::new(
                "pingbot",
                2,
                "bot@example.com",
                "another password",
            ))
            .await?,
    )?;
    let human = Client::builder()
        .base_url(server.rest_url())
        .session(&human_session)
        .build()?;
    let bot_rest = Client::builder()
        .base_url(server.rest_url())
        .session(&bot)
        .build()?;

    let guild = human
        .create_guild(&CreateGuild::new("Ping Pong Club"))
        .await?;
    let invite = human.create_invite(guild.id).await?;
    bot_rest.join_invite(&invite.code).await?;
    println!("demo: the bot joined {}", guild.name);

    let (dispatcher, shard) = start_bot(&server.rest_url(), &server.gateway_url(), &bot)?;
    let bot_ready = dispatcher.wait_for(
        |message| matches!(message, ShardMessage::Ready { .. }),
        Duration::from_secs(10),
    );
    let runner = tokio::spawn(run_shard(shard, dispatcher));

    // The owner listens on a connection of their own for the bot's answer.
    let owner_events = Dispatcher::new();
    let owner_ready = owner_events.wait_for(
        |message| matches!(message, ShardMessage::Ready { .. }),
        Duration::from_secs(10),
    );
    let pong = owner_events.wait_for(
        |message| {
            message
                .as_event()
                .is_some_and(|received| matches!(&received.event, Event::Notification(_)))
        },
        Duration::from_secs(10),
    );
    let owner_shard = Shard::spawn(
        ShardId(1),
        ShardConfig::builder(&human_session)
            .endpoint(GatewayEndpoint::Url(server.gateway_url()))
            .build(),
    );
    let owner_runner = tokio::spawn(run_shard(owner_shard, owner_events));
    bot_ready.await?;
    owner_ready.await?;

    human
        .create_channel(guild.id, &CreateChannel::new("ping", ChannelType::Text))
        .await?;
    println!("demo: the owner created #ping");
    let message = pong.await?;
    if let Some(received) = message.as_event() {
        println!("demo: the owner got {}", received.raw_str().unwrap_or("?"));
    }

    runner.abort();
    owner_runner.abort();
    server.shutdown().await;
    Ok(())
}
