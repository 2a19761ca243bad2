//! What a close code means for the client, as the protocol's table says.

/// What the shard does after the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseAction {
    /// Reconnect right away (after a short jitter).
    Reconnect,
    /// Reconnect after an exponential backoff.
    ReconnectAfterBackoff,
    /// Reconnect after a long backoff (the server is full).
    ReconnectAfterLongBackoff,
    /// Stop: reconnecting would fail the same way.
    Fatal,
}

/// The close codes Ayaka defines.
pub mod close_code {
    /// Unknown error: reconnect.
    pub const UNKNOWN_ERROR: u16 = 4000;
    /// The identify payload has a field of the wrong type: fatal.
    pub const INVALID_FIELD_TYPE: u16 = 4001;
    /// Unknown session id or payload type: fatal.
    pub const INVALID_AUTHORIZATION: u16 = 4002;
    /// Too many sessions on the server: reconnect with a long backoff.
    pub const TOO_MANY_SESSIONS: u16 = 4003;
    /// Invalid encoding, or an invalid event sent by the client: fatal.
    pub const INVALID_ENCODING: u16 = 4004;
    /// The client sent too fast: reconnect after a backoff.
    pub const RATE_LIMITED: u16 = 4008;
    /// Not identified in time, or no ping for too long: reconnect.
    pub const SESSION_TIMED_OUT: u16 = 4009;
}

/// A WebSocket close frame: the code and the reason the peer gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The close code, e.g. 4000.
    pub code: u16,
    /// The reason text (may be empty).
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with `code` and no reason.
    pub fn new(code: u16) -> Self {
        Self {
            code,
            reason: String::new(),
        }
    }

    /// Whether the server says the client did not keep up: 4000 with a
    /// reason that mentions it (the local server's is "too slow: event
    /// queue overflowed"). 4000 also means "unknown error", so the code
    /// alone does not tell.
    ///
    /// ```
    /// use ayaka_gateway::CloseFrame;
    /// let kicked = CloseFrame { code: 4000, reason: "too slow: event queue overflowed".into() };
    /// assert!(kicked.says_too_slow());
    /// assert!(!CloseFrame::new(4000).says_too_slow());
    /// ```
    pub fn says_too_slow(&self) -> bool {
        self.code == close_code::UNKNOWN_ERROR && {
            let reason = self.reason.to_ascii_lowercase();
            reason.contains("slow") || reason.contains("keep up")
        }
    }
}

/// Classifies a close code (`None`: the connection ended without a close
/// frame, or with a network error).
///
/// ```
/// use ayaka_gateway::{CloseAction, close_action};
/// assert_eq!(close_action(Some(4002)), CloseAction::Fatal);
/// assert_eq!(close_action(Some(4009)), CloseAction::Reconnect);
/// assert_eq!(close_action(None), CloseAction::ReconnectAfterBackoff);
/// ```
pub fn close_action(code: Option<u16>) -> CloseAction {
    use close_code::*;
    match code {
        Some(UNKNOWN_ERROR | SESSION_TIMED_OUT) => CloseAction::Reconnect,
        Some(INVALID_FIELD_TYPE | INVALID_AUTHORIZATION | INVALID_ENCODING) => CloseAction::Fatal,
        Some(TOO_MANY_SESSIONS) => CloseAction::ReconnectAfterLongBackoff,
        // 4008, the server going away (1001), network errors and anything
        // unknown: try again, but do not hammer the server.
        _ => CloseAction::ReconnectAfterBackoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_maps_as_the_table_says() {
        let table = [
            (4000, CloseAction::Reconnect),
            (4001, CloseAction::Fatal),
            (4002, CloseAction::Fatal),
            (4003, CloseAction::ReconnectAfterLongBackoff),
            (4004, CloseAction::Fatal),
            (4008, CloseAction::ReconnectAfterBackoff),
            (4009, CloseAction::Reconnect),
        ];
        for (code, action) in table {
            assert_eq!(close_action(Some(code)), action, "code {code}");
        }
    }

    #[test]
    fn unknown_codes_and_network_errors_back_off() {
        for code in [None, Some(1000), Some(1001), Some(1006), Some(4999)] {
            assert_eq!(close_action(code), CloseAction::ReconnectAfterBackoff);
        }
    }
}
