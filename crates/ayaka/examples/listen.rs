//! Prints every gateway event as one JSON line, the envelope as received.
//!
//! ```sh
//! AYAKA_GATEWAY_URL=ws://127.0.0.1:9001 AYAKA_SESSION=... cargo run --example listen
//! ```
//!
//! - `AYAKA_GATEWAY_URL`: a `ws://` or `wss://` URL to connect to directly,
//!   or an `http://`/`https://` base whose `/available` tells the port
//!   (`https://gateway.vincentrps.xyz`, or the local server's REST URL).
//! - `AYAKA_SESSION`: the session id.
//! - `AYAKA_ENCODING`: `json` (default) or `zlib`.
//!
//! Events go to stdout, one per line; errors to stderr, with a non-zero exit.
//! `RUST_LOG` turns on logs, to stderr.
//! Ctrl-C ends it cleanly.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use ayaka::gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId, ShardMessage};
use ayaka::model::gateway::Encoding;

#[tokio::main]
async fn main() -> ExitCode {
    match listen().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("listen: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn listen() -> Result<(), String> {
    // Logs only with RUST_LOG, to stderr (stdout is for events), and never
    // tungstenite's frames: the identify frame holds the session id.
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into());
    for directive in ayaka::LOG_DIRECTIVES {
        filter = filter.add_directive(directive.parse().map_err(|e| format!("{e}"))?);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let url = std::env::var("AYAKA_GATEWAY_URL").map_err(|_| "set AYAKA_GATEWAY_URL")?;
    let session = std::env::var("AYAKA_SESSION").map_err(|_| "set AYAKA_SESSION")?;
    let encoding = match std::env::var("AYAKA_ENCODING").as_deref() {
        Err(_) | Ok("json") => Encoding::Json,
        Ok("zlib") => Encoding::Zlib,
        Ok(other) => {
            return Err(format!(
                "AYAKA_ENCODING must be json or zlib, not {other:?}"
            ));
        }
    };
    let config = ShardConfig::builder(session)
        .endpoint(endpoint(&url)?)
        .encoding(encoding)
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let mut stdout = std::io::stdout().lock();

    loop {
        let message = tokio::select! {
            message = shard.next_message() => message,
            _ = tokio::signal::ctrl_c() => {
                shard.close().await;
                return Ok(());
            }
        };
        match message {
            Some(ShardMessage::Event(received)) => {
                let line = received
                    .raw_str()
                    .map(str::trim)
                    .ok_or("the gateway sent a message that is not UTF-8")?;
                writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .map_err(|e| format!("writing to stdout: {e}"))?;
            }
            Some(ShardMessage::Error { error, .. }) => eprintln!("listen: {error}"),
            Some(ShardMessage::Disconnected { code, reason, .. }) => {
                eprintln!("listen: disconnected (code {code:?}, {reason:?})");
            }
            Some(ShardMessage::Reconnecting { delay, .. }) => {
                eprintln!("listen: reconnecting in {delay:?}");
            }
            Some(ShardMessage::Closed { error, .. }) => {
                return Err(error.map_or_else(|| "the shard closed".to_owned(), |e| e.to_string()));
            }
            Some(_) => {}
            None => return Err("the shard ended".to_owned()),
        }
    }
}

/// `ws(s)://` is a gateway to connect to; `http(s)://` a base to discover from.
fn endpoint(url: &str) -> Result<GatewayEndpoint, String> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        Ok(GatewayEndpoint::Url(url.to_owned()))
    } else if let Some(rest) = url.strip_prefix("http://") {
        Ok(GatewayEndpoint::Discover(format!("ws://{rest}")))
    } else if let Some(rest) = url.strip_prefix("https://") {
        Ok(GatewayEndpoint::Discover(format!("wss://{rest}")))
    } else {
        Err(format!(
            "AYAKA_GATEWAY_URL must start with ws://, wss://, http:// or https://: {url:?}"
        ))
    }
}
