//! `kill -9` of the real binary with `--data`: nothing acknowledged is
//! lost, sessions stay valid, and a bot's shard that reconnects gets READY
//! and GUILD_INIT again and its cache converges to the server's state.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ayaka_cache::Cache;
use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId};
use ayaka_model::gateway::EventKind;
use ayaka_snowflake::GuildId;
use common::{TempDir, WAIT, request_at};
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// The binary serving `data`, and where it listens.
struct Running {
    child: Child,
    rest: SocketAddr,
    gateway: SocketAddr,
}

impl Running {
    /// Starts the binary; `ports` reuses a previous run's addresses.
    fn start(data: &Path, ports: Option<(SocketAddr, SocketAddr)>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ayaka-server"));
        command
            .arg("--data")
            .arg(data)
            .args(["--password-hashing", "fast", "--rate-limit", "off"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        match ports {
            Some((rest, gateway)) => command
                .args(["--bind", &rest.to_string()])
                .args(["--gateway-port-base", &gateway.port().to_string()]),
            None => command.args(["--bind", "127.0.0.1:0"]),
        };
        let mut child = command.spawn().unwrap();
        let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .take(3)
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), 3, "the server did not start: {lines:?}");
        let address = |line: &str, scheme: &str| -> SocketAddr {
            line.split_once(scheme).unwrap().1.parse().unwrap()
        };
        Self {
            rest: address(&lines[0], "http://"),
            gateway: address(&lines[2], "ws://"),
            child,
        }
    }

    /// `kill -9`: no shutdown, no flush, nothing.
    fn kill(mut self) -> (SocketAddr, SocketAddr) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.rest, self.gateway)
    }

    /// A text channel `name` in `guild`, made by `session`.
    async fn create_channel(&self, session: &str, guild: u64, name: &str) {
        let channel = json!({"name": name, "type": 2});
        let path = format!("/guilds/{guild}/channels");
        self.call(Method::POST, &path, Some(session), Some(channel))
            .await;
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let response = request_at(self.rest, method, path, session, body).await;
        assert!(
            response.status.is_success(),
            "{path}: {} {}",
            response.status,
            response.body
        );
        response.body
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign_up(name: &str) -> Value {
    json!({"username": name, "separator": 1, "email": format!("{name}@example.com"),
           "password": "correct horse battery"})
}

/// Feeds `cache` from `shard` until an event of `kind` has been applied.
async fn feed_until(shard: &mut Shard, cache: &Cache, kind: EventKind) {
    loop {
        let next = tokio::time::timeout(WAIT, shard.next_event())
            .await
            .expect("an event in time")
            .expect("the shard runs");
        // The kill resets the connection: reported, then reconnected.
        let Ok(event) = next else { continue };
        cache.update(&event.event);
        if event.kind() == kind {
            return;
        }
    }
}

/// The cache's view of a guild, to compare with the server's.
fn cached(cache: &Cache, guild: u64) -> (String, Option<String>, usize, usize) {
    let id = GuildId::new(guild);
    let guild = cache.guild(id).expect("the guild is cached");
    let channels = cache.stats().channels;
    let members = cache.stats().members;
    (
        guild.name.clone(),
        guild.description.clone(),
        channels,
        members,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_acknowledged_and_the_shard_converges() {
    let dir = TempDir::new("kill");
    let data = dir.file("data.sqlite3");
    let server = Running::start(&data, None);

    let owner = server
        .call(Method::POST, "/users/@me", None, Some(sign_up("owner")))
        .await;
    let owner_session = owner["session_ids"][0].as_str().unwrap().to_owned();
    let friend = server
        .call(Method::POST, "/users/@me", None, Some(sign_up("friend")))
        .await;
    let friend_session = friend["session_ids"][0].as_str().unwrap().to_owned();
    let guild = server
        .call(
            Method::POST,
            "/guilds",
            Some(&owner_session),
            Some(json!({"name": "kept"})),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    server
        .create_channel(&owner_session, guild, "general")
        .await;
    let invite = server
        .call(
            Method::POST,
            &format!("/guilds/{guild}/invites"),
            Some(&owner_session),
            Some(json!({})),
        )
        .await;
    let code = invite["code"].as_str().unwrap();
    server
        .call(
            Method::POST,
            &format!("/invites/{code}"),
            Some(&friend_session),
            None,
        )
        .await;

    // The bot: a shard of the owner, feeding a cache.
    let config = ShardConfig::builder(owner_session.as_str())
        .endpoint(GatewayEndpoint::Url(format!("ws://{}", server.gateway)))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let cache = Cache::new();
    feed_until(&mut shard, &cache, EventKind::Ready).await;
    feed_until(&mut shard, &cache, EventKind::GuildInit).await;

    // The last change is acknowledged, then the server dies at once.
    let patch = json!({"description": "acknowledged just before the kill"});
    server
        .call(
            Method::PATCH,
            &format!("/guilds/{guild}"),
            Some(&owner_session),
            Some(patch),
        )
        .await;
    let ports = server.kill();

    // Back on the same ports with the same file.
    let server = Running::start(&data, Some(ports));
    assert_eq!((server.rest, server.gateway), ports);
    for session in [&owner_session, &friend_session] {
        let me = request_at(server.rest, Method::GET, "/users/@me", Some(session), None).await;
        assert_eq!(me.status, StatusCode::OK, "the session survived");
    }
    let kept = server
        .call(
            Method::GET,
            &format!("/guilds/{guild}"),
            Some(&owner_session),
            None,
        )
        .await;
    assert_eq!(kept["description"], "acknowledged just before the kill");

    // The shard reconnects by itself: READY, then GUILD_INIT again.
    feed_until(&mut shard, &cache, EventKind::Ready).await;
    feed_until(&mut shard, &cache, EventKind::GuildInit).await;
    let channels = server
        .call(
            Method::GET,
            &format!("/guilds/{guild}/channels"),
            Some(&owner_session),
            None,
        )
        .await;
    assert_eq!(
        cached(&cache, guild),
        (
            "kept".to_owned(),
            Some("acknowledged just before the kill".to_owned()),
            channels.as_array().unwrap().len(),
            2
        )
    );
    assert_eq!(cache.stats().guilds, 1);

    // And it keeps following: a change after the restart reaches the cache.
    server.create_channel(&owner_session, guild, "after").await;
    feed_until(&mut shard, &cache, EventKind::ChannelCreate).await;
    assert_eq!(cache.stats().channels, 2);
    tokio::time::timeout(Duration::from_secs(10), shard.close())
        .await
        .unwrap();
}
