//! The `ayaka-server` binary with `RUST_LOG=trace` logs no credential: not
//! the session ids of sign-ups, `Authorization` headers and identify
//! payloads (right or wrong), nor passwords or emails, though tungstenite
//! logs every frame at `trace` (main.rs caps it at `debug`). The control:
//! the documented opt-out, a more specific directive
//! (`tungstenite::protocol=trace`), shows them. The examples' half is in
//! `crates/ayaka/tests/no_secrets_in_logs.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ayaka_server::testing::{drain, leaks, without_colours};
use common::{Gateway, request_at};
use http::{Method, StatusCode};
use serde_json::json;

const EMAIL: &str = "traced@example.com";
const PASSWORD: &str = "a password nobody sees";

/// Kills the server if the test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the binary printed (stdout and stderr) while serving one user.
struct Served {
    output: String,
    session: String,
    wrong_session: String,
}

impl Served {
    fn secrets(&self) -> [&str; 4] {
        [&self.session, &self.wrong_session, EMAIL, PASSWORD]
    }
}

/// Runs the binary with `RUST_LOG=rust_log`: a sign-up, an authorized and
/// a refused request, an identify and READY, a refused identify, SIGTERM.
async fn serve_one_user(rust_log: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ayaka-server"))
        .args(["--bind", "127.0.0.1:0", "--rate-limit", "off"])
        .args(["--password-hashing", "fast"])
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = drain(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut server = Running(child);
    let mut urls = String::new();
    for _ in 0..3 {
        assert_ne!(stdout.read_line(&mut urls).unwrap(), 0, "{urls}");
    }
    let address = |scheme: &str| -> SocketAddr {
        let line = urls.lines().find(|line| line.contains(scheme)).unwrap();
        line.split_once(scheme).unwrap().1.parse().unwrap()
    };
    let (rest, gateway) = (address("http://"), address("ws://"));

    let body = json!({"username": "traced", "separator": 1, "email": EMAIL, "password": PASSWORD});
    let created = request_at(rest, Method::POST, "/users/@me", None, Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let session = created.body["session_ids"][0].as_str().unwrap().to_owned();
    let me = request_at(rest, Method::GET, "/users/@me", Some(&session), None).await;
    assert_eq!(me.status, StatusCode::OK);
    // A wrong session id is a secret too: a typo of the right one, say.
    let (name, _) = session.split_once('.').unwrap();
    let wrong_session = format!("{name}.{}", "A".repeat(22));
    let refused = request_at(rest, Method::GET, "/users/@me", Some(&wrong_session), None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let url = format!("ws://{gateway}");
    let mut identified = Gateway::connect(&url).await;
    identified
        .send_json(json!({"session_id": session, "encoding": "json"}))
        .await;
    identified.expect("READY").await;
    let mut refused = Gateway::connect(&url).await;
    refused
        .send_json(json!({"session_id": wrong_session, "encoding": "json"}))
        .await;
    assert_eq!(refused.close_code().await, Some(4002));

    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(
        server.0.wait().unwrap().success(),
        "graceful exit on SIGTERM"
    );
    stdout.read_to_string(&mut urls).unwrap();
    let stderr = stderr
        .recv_timeout(Duration::from_secs(10))
        .expect("stderr closes with the process");
    Served {
        output: without_colours(&format!(
            "{urls}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stderr)
        )),
        session,
        wrong_session,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logging_prints_no_secret() {
    let served = serve_one_user("trace").await;
    let found = leaks(&served.output, &served.secrets());
    assert!(found.is_empty(), "{found:?} in:\n{}", served.output);
    // tungstenite's lines below the cap still reach the log: the frames
    // are missing because of the cap, not because nothing was logged.
    assert!(
        served.output.contains("Server handshake done."),
        "{}",
        served.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opt_out_prints_identify_payloads_and_ready() {
    let served = serve_one_user("trace,tungstenite::protocol=trace").await;
    for secret in [&served.session, &served.wrong_session, EMAIL] {
        assert!(
            served.output.contains(secret),
            "{secret}:\n{}",
            served.output
        );
    }
}
