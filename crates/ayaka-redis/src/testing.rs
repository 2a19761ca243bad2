//! Test support for crates that test against a real `redis-server` (the
//! `testing` cargo feature): a server of its own in a temporary directory,
//! on a Unix socket only, that dies with the process that started it.
//!
//! These are for tests and benches only.
//!
//! ```no_run
//! use ayaka_redis::testing::TestRedis;
//!
//! // `None` (after saying so on stderr) when no redis-server can start and
//! // AYAKA_REQUIRE_REDIS is not set; a panic when it is.
//! let Some(redis) = TestRedis::start_or_skip("my_test") else { return };
//! let connection = redis.connection();
//! # let _ = connection;
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Connection;

/// Set to make [`TestRedis::start_or_skip`] fail, not skip, when no
/// `redis-server` can start (CI sets it).
pub const REQUIRE_ENV: &str = "AYAKA_REQUIRE_REDIS";
/// The `redis-server` binary to run (default: the one on `PATH`).
pub const SERVER_ENV: &str = "AYAKA_REDIS_SERVER";

/// How long a fresh server may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` in its own temporary directory, on a Unix socket only.
///
/// The server runs under a small shell that kills it when its standard
/// input closes, so it dies with the test binary however that ends.
#[derive(Debug)]
pub struct TestRedis {
    dir: tempfile::TempDir,
    socket: PathBuf,
    process: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    shell: Child,
    stdin: ChildStdin,
    pid: u32,
}

impl TestRedis {
    /// Starts a server (`--port 0 --save "" --appendonly no`), waiting
    /// until it answers PING.
    pub fn start() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ayaka-redis-").tempdir()?;
        let socket = dir.path().join("r.sock");
        let redis = Self {
            dir,
            socket,
            process: Mutex::new(None),
        };
        redis.spawn()?;
        Ok(redis)
    }

    /// Starts a server, or says loudly on stderr that `test` is skipped
    /// and returns `None` when none can start; with [`REQUIRE_ENV`] set,
    /// panics instead.
    ///
    /// # Panics
    ///
    /// When no server can start and [`REQUIRE_ENV`] is set.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(server) => Some(server),
            Err(error) => {
                skip(test, &error.to_string());
                None
            }
        }
    }

    fn spawn(&self) -> std::io::Result<()> {
        let dir = self.dir.path();
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(concat!(
                r#"server=$0; dir=$1; shift; "#,
                r#"command -v "$server" >/dev/null || { echo "no $server"; exit 127; }; "#,
                r#""$server" "$@" >"$dir/log" 2>&1 & echo $!; read _; kill $! 2>/dev/null"#
            ))
            .arg(std::env::var_os(SERVER_ENV).unwrap_or_else(|| "redis-server".into()))
            .arg(dir)
            .args(["--port", "0", "--unixsocket"])
            .arg(&self.socket)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = shell.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(shell.stdout.take().expect("piped stdout")).read_line(&mut line)?;
        let pid = line.trim().parse().map_err(|_| {
            std::io::Error::other(format!("redis-server not started: {}", line.trim()))
        })?;
        *self.process.lock().unwrap() = Some(Running { shell, stdin, pid });
        self.wait_for_ping().inspect_err(|_| self.kill())
    }

    /// Polls PING, bounded by [`START_TIMEOUT`].
    fn wait_for_ping(&self) -> std::io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.ping().is_ok() {
                return Ok(());
            }
            let exited = self
                .process
                .lock()
                .unwrap()
                .as_mut()
                .is_none_or(|running| matches!(running.shell.try_wait(), Ok(Some(_))));
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "redis-server did not answer PING: {log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ping(&self) -> std::io::Result<()> {
        let mut stream = UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0; 7];
        stream.read_exact(&mut reply)?;
        if &reply == b"+PONG\r\n" {
            Ok(())
        } else {
            Err(std::io::Error::other("unexpected PING reply"))
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The `unix://` URL of the socket.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A fresh [`Connection`] to the server.
    pub fn connection(&self) -> Connection {
        Connection::open(&self.url()).expect("a valid socket URL")
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&self) {
        if let Some(mut running) = self.process.lock().unwrap().take() {
            let _ = Command::new("kill")
                .args(["-KILL", &running.pid.to_string()])
                .status();
            drop(running.stdin);
            let _ = running.shell.wait();
        }
        // Wait until the socket refuses, bounded.
        let deadline = Instant::now() + START_TIMEOUT;
        while self.ping().is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Starts the server again, empty, on the same socket.
    pub fn restart(&self) -> std::io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Says that `test` is skipped, or panics when [`REQUIRE_ENV`] is set.
///
/// # Panics
///
/// When [`REQUIRE_ENV`] is set.
pub fn skip(test: &str, error: &str) {
    if std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{test}: {REQUIRE_ENV} is set but redis-server could not start: {error}");
    }
    // Straight to the stderr handle: the test harness captures `eprintln!`
    // of passing tests, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!! SKIPPED {test}: no redis-server ({error}).\n\
         !!!! Install redis-server, or set {REQUIRE_ENV}=1 to make this a failure.\n"
    );
}
