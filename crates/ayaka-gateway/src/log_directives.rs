//! The log filter directives that keep credentials out of dependencies'
//! logs.

/// Filter directives that cap the WebSocket crates at `debug`, below the
/// level where they print payloads. Add them to your `tracing` filter
/// *after* `RUST_LOG`, so they override its `trace`.
///
/// tungstenite (under `tokio-tungstenite`, which carries every gateway
/// connection, client and server side) logs through `log` at `trace` each
/// frame and message it sends or receives: the identify payload with the
/// session id, READY with the user's email and session ids. Its `debug`
/// lines are handshake notes, close frames and errors, with no payload, so
/// capping it at `debug` keeps what helps to debug a connection.
/// tokio-tungstenite's `trace` lines carry no data today, only one line per
/// poll; it is capped too, so that no version of the wrapper can print what
/// it wraps.
///
/// The examples and the `ayaka-server` binary add these directives to their
/// filter; so must you, if you install your own subscriber:
///
/// ```text
/// let mut filter = tracing_subscriber::EnvFilter::from_default_env();
/// for directive in ayaka_gateway::LOG_DIRECTIVES {
///     filter = filter.add_directive(directive.parse()?);
/// }
/// tracing_subscriber::fmt().with_env_filter(filter).init();
/// ```
///
/// (compiled in the `ayaka` crate's docs). With a directives string, append
/// them: `format!("{rust_log},{}", LOG_DIRECTIVES.join(","))`.
///
/// A more specific directive still wins, and that is the explicit way to
/// see frames when you need them, with a throwaway session:
/// `RUST_LOG=trace,tungstenite::protocol=trace` names a module inside the
/// capped crate. So does a span filter (`[span]=trace`) for whatever runs
/// inside that span.
///
/// ```
/// assert_eq!(
///     ayaka_gateway::LOG_DIRECTIVES,
///     ["tungstenite=debug", "tokio_tungstenite=debug"],
/// );
/// ```
pub const LOG_DIRECTIVES: &[&str] = &["tungstenite=debug", "tokio_tungstenite=debug"];
