//! The whole stack in one run: a user, a zlib gateway connection, a guild
//! and a channel created over REST, the events that arrive, what the cache
//! then holds, and the connection's latency.
//!
//! With no configuration it starts the local Ayaka server in-process, so it
//! runs on a machine with no network:
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With `AYAKA_API_URL`, `AYAKA_GATEWAY_URL` (a `ws://`/`wss://` URL) and
//! `AYAKA_SESSION` set, it uses that server and session instead.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use ayaka::cache::Cache;
use ayaka::gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId};
use ayaka::http::Client;
use ayaka::model::gateway::{Encoding, Event};
use ayaka::model::request::{CreateChannel, CreateGuild, CreateUser};
use ayaka::model::{ChannelType, GuildId};
use ayaka_server::{PasswordHashing, RateLimits, Server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where to connect, and as whom.
struct Target {
    api_url: String,
    gateway_url: String,
    session: String,
    /// The in-process server, when we started one.
    server: Option<Server>,
}

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

    let target = target().await?;
    let client = Client::builder()
        .base_url(&target.api_url)
        .session(&target.session)
        .build()?;

    // One zlib connection, pinging every second so there is a latency to show.
    let config = ShardConfig::builder(&target.session)
        .endpoint(GatewayEndpoint::Url(target.gateway_url.clone()))
        .encoding(Encoding::Zlib)
        .ping_interval(Duration::from_secs(1))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let cache = Cache::new();

    // READY and the GUILD_INIT of every guild we are already in.
    let me = loop {
        let event = next_event(&mut shard).await?;
        cache.update(&event);
        if let Event::Ready(user) = event {
            break user;
        }
    };
    println!("READY: logged in as {}", me.tag());

    let guild = client
        .create_guild(&CreateGuild::new("Quickstart").description("made by the quickstart"))
        .await?;
    println!("REST: created guild {} ({})", guild.name, guild.id);
    let channel = client
        .create_channel(guild.id, &CreateChannel::new("general", ChannelType::Text))
        .await?;
    println!(
        "REST: created channel #{} ({})",
        channel.name().unwrap_or("?"),
        channel.id()
    );

    // The gateway tells us about both.
    let mut seen_guild = false;
    let mut seen_channel = false;
    while !(seen_guild && seen_channel) {
        let event = next_event(&mut shard).await?;
        cache.update(&event);
        println!("event: {}", event.name());
        match &event {
            Event::GuildCreate(created) if created.id == guild.id => seen_guild = true,
            Event::ChannelCreate(created) if created.id() == channel.id() => seen_channel = true,
            _ => {}
        }
    }

    print_cache(&cache, guild.id);

    // Wait (bounded) for a ping round trip to report the latency.
    let latency = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(last) = shard.handle().latency().last {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .map_err(|_| "no ping round trip within 5 s")?;
    println!("latency: {latency:?}");

    shard.close().await;
    if let Some(server) = target.server {
        server.shutdown().await;
    }
    println!("done");
    Ok(())
}

/// The configured server, or a local one with a fresh user.
async fn target() -> Result<Target, BoxError> {
    let configured = (
        std::env::var("AYAKA_API_URL"),
        std::env::var("AYAKA_GATEWAY_URL"),
        std::env::var("AYAKA_SESSION"),
    );
    if let (Ok(api_url), Ok(gateway_url), Ok(session)) = configured {
        println!("using {api_url} and {gateway_url}");
        return Ok(Target {
            api_url,
            gateway_url,
            session,
            server: None,
        });
    }

    let server = Server::builder()
        .rate_limits(RateLimits::default())
        .password_hashing(PasswordHashing::Fast)
        .spawn()
        .await?;
    println!(
        "started a local Ayaka server: REST {}, gateway {}",
        server.rest_url(),
        server.gateway_url()
    );
    let anonymous = Client::builder().base_url(server.rest_url()).build()?;
    let user = anonymous
        .create_user(&CreateUser::new(
            "quickstart",
            1,
            "quickstart@example.com",
            "correct horse battery staple",
        ))
        .await?;
    let session = user
        .session_ids
        .as_ref()
        .and_then(|ids| ids.first())
        .cloned()
        .ok_or("the server returned no session id")?;
    println!("REST: created user {}", user.tag());
    Ok(Target {
        api_url: server.rest_url(),
        gateway_url: server.gateway_url(),
        session,
        server: Some(server),
    })
}

/// The next event. Errors the shard carries on after are printed; if it
/// ends, its last error is returned (or a timeout after 10 s of silence).
async fn next_event(shard: &mut Shard) -> Result<Event, BoxError> {
    let wait = Duration::from_secs(10);
    let mut last_error = None;
    loop {
        let item = tokio::time::timeout(wait, shard.next_event())
            .await
            .map_err(|_| "no event from the gateway within 10 s")?;
        match item {
            Some(Ok(received)) => return Ok(received.event),
            Some(Err(error)) => {
                eprintln!("gateway error: {error}");
                last_error = Some(error);
            }
            None => {
                return Err(match last_error {
                    Some(error) => error.into(),
                    None => "the shard closed".into(),
                });
            }
        }
    }
}

fn print_cache(cache: &Cache, guild: GuildId) {
    let stats = cache.stats();
    println!(
        "cache: {} guild(s), {} channel(s), {} role(s), {} member(s), {} user(s)",
        stats.guilds, stats.channels, stats.roles, stats.members, stats.users
    );
    if let Some(cached) = cache.guild(guild) {
        println!("cache: guild {:?} owned by {}", cached.name, cached.owner);
    }
    for channel in cache.guild_channels(guild) {
        println!(
            "cache:   #{} ({:?})",
            channel.name().unwrap_or("?"),
            channel.kind()
        );
    }
    for role in cache.guild_roles(guild) {
        println!("cache:   role {} {:?}", role.name, role.permissions);
    }
}
