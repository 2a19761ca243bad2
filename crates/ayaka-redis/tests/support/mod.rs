//! Test support: a real `redis-server` per test binary, a namespace per
//! test, and a harness that re-runs the test binary as child processes.
//!
//! Without `redis-server` a test prints loudly that it skipped and returns;
//! with `AYAKA_REQUIRE_REDIS=1` (CI) it fails instead.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ayaka_redis::{Connection, Namespace};

/// Set to make tests fail, not skip, when no `redis-server` can start.
pub const REQUIRE_ENV: &str = "AYAKA_REQUIRE_REDIS";
/// The `redis-server` binary to run (default: the one on `PATH`).
pub const SERVER_ENV: &str = "AYAKA_REDIS_SERVER";
/// Set in child processes: the role the child plays.
pub const CHILD_ENV: &str = "AYAKA_REDIS_TEST_CHILD";
/// Set in child processes: the parent's Redis socket.
pub const SOCKET_ENV: &str = "AYAKA_REDIS_TEST_SOCKET";
/// Set in child processes: the namespace to use.
pub const NAMESPACE_ENV: &str = "AYAKA_REDIS_TEST_NAMESPACE";

/// How long a fresh server may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines a child prints for its parent start with this.
const CHILD_LINE: &str = "@@ayaka ";

/// A `redis-server` in its own temporary directory, on a Unix socket only.
///
/// The server runs under a small shell that kills it when its standard
/// input closes, so it dies with the test binary however that ends.
pub struct TestRedis {
    dir: tempfile::TempDir,
    socket: PathBuf,
    process: Mutex<Option<Running>>,
}

struct Running {
    shell: Child,
    stdin: ChildStdin,
    pid: u32,
}

impl TestRedis {
    /// Starts a server of its own (for tests that kill it).
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

    /// A fresh connection to the server.
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

/// The test binary's shared server, or `None` (after saying so loudly) when
/// none can start and CI does not require one.
pub fn shared(test: &str) -> Option<&'static TestRedis> {
    static SERVER: OnceLock<Result<TestRedis, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| TestRedis::start().map_err(|e| e.to_string()));
    match server {
        Ok(server) => Some(server),
        Err(error) => {
            skip(test, error);
            None
        }
    }
}

/// A server of the test's own, or `None` as for [`shared`].
pub fn own(test: &str) -> Option<TestRedis> {
    match TestRedis::start() {
        Ok(server) => Some(server),
        Err(error) => {
            skip(test, &error.to_string());
            None
        }
    }
}

fn skip(test: &str, error: &str) {
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

/// The shared server for this test, or return from the test (skipped).
#[macro_export]
macro_rules! redis_or_skip {
    ($test:expr) => {
        match support::shared($test) {
            Some(server) => server,
            None => return,
        }
    };
}

/// A namespace no other test (or earlier run) uses.
pub fn namespace(test: &str) -> Namespace {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let clean: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    Namespace::new(&format!("{clean}-{}-{n}", std::process::id())).expect("a valid namespace")
}

/// The role this process plays, when the test binary runs as a child.
pub fn child_role() -> Option<String> {
    let role = std::env::var(CHILD_ENV).ok()?;
    // A child exits when its parent goes away (its stdin closes).
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(101);
    });
    Some(role)
}

/// In a child: the parent's server and namespace.
pub fn child_redis() -> (Connection, Namespace) {
    let socket = std::env::var(SOCKET_ENV).expect("the parent sets the socket");
    let namespace = std::env::var(NAMESPACE_ENV).expect("the parent sets the namespace");
    (
        Connection::open(&format!("unix://{socket}")).expect("a valid socket URL"),
        Namespace::new(&namespace).expect("a valid namespace"),
    )
}

/// In a child: the `unix://` URL of the parent's server.
pub fn child_redis_url() -> String {
    let socket = std::env::var(SOCKET_ENV).expect("the parent sets the socket");
    format!("unix://{socket}")
}

/// In a child: tells the parent something, one line.
pub fn tell_parent(message: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{CHILD_LINE}{message}");
    let _ = out.flush();
}

/// A child process running one test of this binary.
pub struct ChildTest {
    child: Child,
    /// Held open: the child exits when it closes.
    _stdin: Option<ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ChildTest {
    /// Re-runs this test binary's test `test` (its full path, as
    /// `module::name`) with `role`, on `redis` and `namespace`.
    pub fn spawn(test: &str, role: &str, redis: &TestRedis, namespace: &Namespace) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", test, "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, role)
            .env(SOCKET_ENV, redis.socket())
            .env(NAMESPACE_ENV, namespace.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the test binary");
        let stdin = child.stdin.take();
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The harness may have printed `test NAME ... ` before it
                // on the same line.
                if let Some(at) = line.find(CHILD_LINE) {
                    let message = &line[at + CHILD_LINE.len()..];
                    if send.send(message.to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            child,
            _stdin: stdin,
            lines,
        }
    }

    /// The next line the child tells, waiting at most `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Waits for a line equal to `expected`, failing the test after `timeout`.
    pub fn expect_line(&self, expected: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Some(line) if line == expected => return,
                Some(_) => continue,
                None => panic!("child never said {expected:?} within {timeout:?}"),
            }
        }
    }

    /// Kills the child at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the child to exit, at most `timeout`; whether it passed.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    self.kill();
                    return false;
                }
            }
        }
    }
}

impl Drop for ChildTest {
    fn drop(&mut self) {
        self.kill();
    }
}
