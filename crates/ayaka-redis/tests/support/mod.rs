//! Test support: a real `redis-server` per test binary, a namespace per
//! test, and a harness that re-runs the test binary as child processes.
//!
//! Without `redis-server` a test prints loudly that it skipped and returns;
//! with `AYAKA_REQUIRE_REDIS=1` (CI) it fails instead.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use ayaka_redis::testing::TestRedis;
use ayaka_redis::testing::skip;
use ayaka_redis::{Connection, Namespace};

/// Set in child processes: the role the child plays.
pub const CHILD_ENV: &str = "AYAKA_REDIS_TEST_CHILD";
/// Set in child processes: the parent's Redis socket.
pub const SOCKET_ENV: &str = "AYAKA_REDIS_TEST_SOCKET";
/// Set in child processes: the namespace to use.
pub const NAMESPACE_ENV: &str = "AYAKA_REDIS_TEST_NAMESPACE";

/// Lines a child prints for its parent start with this.
const CHILD_LINE: &str = "@@ayaka ";

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
    TestRedis::start_or_skip(test)
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

/// A single-threaded runtime, for children and parents that need one.
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
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

/// The key of round `round`'s start line for children, in `namespace`: one
/// per round, so a child done early cannot take a token of the round a
/// slower one has not started waiting in yet.
fn go_key(namespace: &str, round: u32) -> String {
    format!("ayaka:v1:{{{namespace}}}:test:go:{round}")
}

/// In the parent: lets `children` waiting in [`wait_for_go`] for `round`
/// start at once.
pub async fn release_children(
    redis: &TestRedis,
    namespace: &Namespace,
    children: usize,
    round: u32,
) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let tokens = vec!["go"; children];
    let _: i64 = redis::cmd("RPUSH")
        .arg(go_key(namespace.as_str(), round))
        .arg(&tokens)
        .query_async(&mut raw)
        .await
        .unwrap();
}

/// In a child: waits (at most 60 s) until the parent releases the children
/// for `round`, so that they start at the same moment.
pub async fn wait_for_go(round: u32) {
    let (_, namespace) = child_redis();
    let client = redis::Client::open(child_redis_url()).unwrap();
    // A blocking read: no response timeout (the default is 500 ms).
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut raw = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let popped: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(go_key(namespace.as_str(), round))
        .arg(60)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(popped.is_some(), "the parent never said go");
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
        Self::spawn_with(test, role, redis, namespace, &[])
    }

    /// As [`spawn`](Self::spawn), with more environment variables.
    pub fn spawn_with(
        test: &str,
        role: &str,
        redis: &TestRedis,
        namespace: &Namespace,
        env: &[(&str, &str)],
    ) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", test, "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, role)
            .env(SOCKET_ENV, redis.socket())
            .env(NAMESPACE_ENV, namespace.as_str())
            .envs(env.iter().copied())
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
