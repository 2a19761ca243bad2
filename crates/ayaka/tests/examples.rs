//! The examples are the newcomer's path: run each one as a user would and
//! check it does what it says. `cargo test` builds examples before running
//! tests, next to the test binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::example;

/// Runs an example with no `AYAKA_*` configuration, failing after 60 s.
fn run(name: &str) -> Output {
    let mut child = Command::new(example(name))
        .env_remove("AYAKA_API_URL")
        .env_remove("AYAKA_GATEWAY_URL")
        .env_remove("AYAKA_SESSION")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("example {name} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn quickstart_runs_the_whole_stack_offline() {
    let output = run("quickstart");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for expected in [
        "started a local Ayaka server",
        "READY: logged in as quickstart#0001",
        "event: GUILD_CREATE",
        "event: CHANNEL_CREATE",
        "cache: 1 guild(s), 1 channel(s), 1 role(s), 1 member(s), 1 user(s)",
        "cache:   #general (Text)",
        "latency: ",
        "done",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn bot_answers_a_ping_with_a_pong_notification() {
    let output = run("bot");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("bot: saw #ping"), "{out}");
    assert!(out.contains(r#""content":"pong""#), "{out}");
}

#[test]
fn listen_without_configuration_fails_with_a_message() {
    let output = Command::new(example("listen"))
        .env_remove("AYAKA_GATEWAY_URL")
        .env_remove("AYAKA_SESSION")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("set AYAKA_GATEWAY_URL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_each_event_as_one_json_line() {
    use std::io::{BufRead, BufReader};

    use ayaka::http::Client;
    use ayaka::model::request::CreateGuild;
    use ayaka_server::testing;

    let server = testing::server().await;
    let session = testing::user_with_session(&server, "listener")
        .await
        .session;

    // Discovery through the REST base's /available, zlib on the wire.
    let mut child = Command::new(example("listen"))
        .env("AYAKA_GATEWAY_URL", server.rest_url())
        .env("AYAKA_SESSION", &session)
        .env("AYAKA_ENCODING", "zlib")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("a line within 20 s")
            .expect("listen still running")
    };

    let ready: serde_json::Value = serde_json::from_str(&next_line().await).unwrap();
    assert_eq!(ready["t"], "READY");
    assert_eq!(ready["d"]["username"], "listener");

    let client = Client::builder()
        .base_url(server.rest_url())
        .session(&session)
        .build()
        .unwrap();
    client
        .create_guild(&CreateGuild::new("Heard"))
        .await
        .unwrap();
    let created: serde_json::Value = serde_json::from_str(&next_line().await).unwrap();
    assert_eq!(created["t"], "GUILD_CREATE");
    assert_eq!(created["d"]["name"], "Heard");

    child.kill().unwrap();
    child.wait().unwrap();
    server.shutdown().await;
}
