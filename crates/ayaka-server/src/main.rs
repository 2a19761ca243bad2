//! `ayaka-server`: runs a local Ayaka server until Ctrl-C or SIGTERM.
//!
//! ```text
//! cargo run -p ayaka-server -- --bind 127.0.0.1:8080 --gateway-ports 2
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ayaka_server::{PasswordHashing, RateLimits, Server, ServerBuilder};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
usage: ayaka-server [options]

  --bind ADDR               REST and /available address (default 127.0.0.1:8080)
  --gateway-ports N         how many gateway ports to open (default 1)
  --gateway-port-base P     first gateway port (default: ephemeral ports)
  --data PATH               keep everything in this SQLite file (default: memory only)
  --rate-limit off          no rate limits (for benchmarks)
  --rate-limit BUCKET=L/T/PER
                            a bucket's limit, e.g. guilds.create=10/1/minute
                            (repeatable; buckets are listed in docs/server.md)
  --ping-timeout SECS       close silent connections after SECS (default 20)
  --handshake-timeout SECS  time for the WebSocket handshake (default 5)
  --identify-timeout SECS   time to identify after it (default 10)
  --max-connections N       gateway connections held at once (default 16384)
  --queue-capacity N        events queued per connection (default 1024)
  --password-hashing MODE   secure (default) or fast (tests only)
  --hashing-concurrency N   password hashes at once (default: the number of cores)
  --hashing-queue N         hashes waiting beyond those; more get 503 (default 64)
  --quirks                  imitate the deployed server's quirks
  --zlib-under-json         compress even for encoding json (old deployed server)
  --split-zlib N            split each zlib message into N WebSocket messages
  --help                    this text

Logs go to stderr, filtered by RUST_LOG (default info); the WebSocket
crates are capped at debug, below their frame logging (docs/server.md).";

fn main() -> ExitCode {
    let builder = match parse(std::env::args().skip(1)) {
        Ok(Some(builder)) => builder,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("ayaka-server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ayaka-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(builder))
}

/// Caps the WebSocket crates at `debug`: at `trace` tungstenite logs every
/// frame and message, the clients' identify payloads (session ids) and
/// READY (emails) among them. The same directives as the client's
/// `ayaka_gateway::LOG_DIRECTIVES`, which this crate does not depend on.
const LOG_DIRECTIVES: [&str; 2] = ["tungstenite=debug", "tokio_tungstenite=debug"];

/// `RUST_LOG` (default `info`), then [`LOG_DIRECTIVES`], which override it:
/// even `RUST_LOG=trace` logs no payload. A more specific directive
/// (`tungstenite::protocol=trace`) still wins: the explicit way to see
/// frames, with throwaway sessions.
fn log_filter() -> EnvFilter {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    LOG_DIRECTIVES
        .iter()
        // constants that parse (the binary's log tests fail otherwise)
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}

async fn run(builder: ServerBuilder) -> ExitCode {
    // Listening for signals before anything is printed: whoever reads the
    // URLs and then sends SIGTERM gets a graceful exit.
    let signal = Signal::listen();
    let server = match builder.spawn().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("ayaka-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("REST:      {}", server.rest_url());
    println!("available: {}", server.available_url());
    for url in server.gateway_urls() {
        println!("gateway:   {url}");
    }
    signal.wait().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C, and SIGTERM on Unix.
struct Signal {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signal {
    fn listen() -> Self {
        Self {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some(mut terminate) = self.terminate {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The builder the arguments describe; `None` for `--help`.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<ServerBuilder>, String> {
    let default_bind = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut builder = Server::builder().bind(default_bind);
    let mut limits = RateLimits::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        builder = match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--bind" => builder.bind(number(&flag, &value()?)?),
            "--gateway-ports" => builder.gateway_ports(number(&flag, &value()?)?),
            "--gateway-port-base" => builder.gateway_port_base(number(&flag, &value()?)?),
            "--data" => builder.data_file(value()?),
            "--rate-limit" => {
                let rule = value()?;
                limits = if rule == "off" {
                    RateLimits::off()
                } else {
                    limits
                        .parse_rule(&rule)
                        .map_err(|error| error.to_string())?
                };
                builder
            }
            "--ping-timeout" => builder.ping_timeout(seconds(&flag, &value()?)?),
            "--handshake-timeout" => builder.handshake_timeout(seconds(&flag, &value()?)?),
            "--identify-timeout" => builder.identify_timeout(seconds(&flag, &value()?)?),
            "--max-connections" => builder.max_connections(number(&flag, &value()?)?),
            "--queue-capacity" => builder.queue_capacity(number(&flag, &value()?)?),
            "--password-hashing" => match value()?.as_str() {
                "secure" => builder.password_hashing(PasswordHashing::Secure),
                "fast" => builder.password_hashing(PasswordHashing::Fast),
                other => return Err(format!("unknown password hashing `{other}`")),
            },
            "--hashing-concurrency" => builder.hashing_concurrency(number(&flag, &value()?)?),
            "--hashing-queue" => builder.hashing_queue(number(&flag, &value()?)?),
            "--quirks" => builder.quirks(true),
            "--zlib-under-json" => builder.zlib_under_json(true),
            "--split-zlib" => builder.split_zlib_messages(number(&flag, &value()?)?),
            other => return Err(format!("unknown option `{other}`")),
        };
    }
    Ok(Some(builder.rate_limits(limits)))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not valid here"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let secs: f64 = number(flag, value)?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{flag}: `{value}` is not a duration"))
}
