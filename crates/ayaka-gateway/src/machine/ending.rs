//! How a connection ends, and what the shard does next: close code,
//! reports, and the reconnect decision with its backoff.

use std::time::Instant;

use rand::Rng;
use tracing::{debug, info, warn};

use super::{CLOSE_GRACE, FAILED_CLOSE_GRACE, Phase, ShardMachine, Transmit};
use crate::{
    close::{CloseAction, CloseFrame, close_action},
    error::{Error, ErrorKind},
    identify_queue::LeaseEnd,
    shard_message::ShardMessage,
};

/// Why a connection is ending.
#[derive(Debug)]
pub(super) enum Ending {
    /// The owner asked to close.
    Requested,
    /// The connection failed (already reported as an error).
    Failed(Error),
    /// The server sent this close frame (already reported as
    /// [`ShardMessage::Disconnected`]).
    ServerClosed(Option<CloseFrame>),
}

impl ShardMachine {
    /// The open connection failed: close it with the code the failure
    /// calls for, unless the socket is already broken.
    pub(super) fn fail(&mut self, now: Instant, error: Error) {
        warn!(shard = self.shard_id.0, %error, "gateway connection failed");
        self.report(ShardMessage::Error {
            shard_id: self.shard_id,
            error: error.clone(),
        });
        if let Some(lease) = self.lease.take() {
            lease.end(LeaseEnd::Failed);
        }
        let code = match error.kind() {
            ErrorKind::Transport => None,
            ErrorKind::Decompress => Some(1007),
            ErrorKind::MessageTooLarge => Some(1009),
            _ => Some(1001),
        };
        match code {
            Some(code) => {
                self.transmits
                    .push_back(Transmit::Close(CloseFrame::new(code)));
                self.begin_closing(now + FAILED_CLOSE_GRACE, Ending::Failed(error));
            }
            None => self.connection_over(now, Ending::Failed(error), true),
        }
    }

    /// The server closed: report its code and reason now, and let the
    /// WebSocket layer's reply go out before letting go.
    pub(super) fn on_server_close(&mut self, now: Instant, frame: Option<CloseFrame>) {
        let (code, reason) = frame.as_ref().map_or((None, String::new()), |frame| {
            (Some(frame.code), frame.reason.clone())
        });
        info!(shard = self.shard_id.0, ?code, %reason, "gateway closed the connection");
        self.report(ShardMessage::Disconnected {
            shard_id: self.shard_id,
            code,
            reason,
        });
        if let Some(lease) = self.lease.take() {
            lease.end(LeaseEnd::Failed);
        }
        self.begin_closing(now + CLOSE_GRACE, Ending::ServerClosed(frame));
    }

    pub(super) fn begin_closing(&mut self, deadline: Instant, ending: Ending) {
        self.phase = Phase::Closing { deadline, ending };
    }

    /// The closing handshake is over (answered, timed out, or the socket
    /// ended).
    pub(super) fn finish_connection(&mut self, now: Instant) {
        let phase = std::mem::replace(&mut self.phase, Phase::Opening);
        match phase {
            Phase::Closing { ending, .. } => self.connection_over(now, ending, true),
            other => self.phase = other,
        }
    }

    /// A connection (or an attempt at one) is over: report it, then
    /// reconnect or end. `connected` says whether the WebSocket had opened.
    pub(super) fn connection_over(&mut self, now: Instant, ending: Ending, connected: bool) {
        if let Some(lease) = self.lease.take() {
            lease.end(LeaseEnd::Failed);
        }
        // The backoff starts over only after a connection that stayed ready
        // long enough: READY alone proves nothing (a server may send READY
        // and close at once, forever).
        let stable = self.ready_at.take().is_some_and(|ready_at| {
            now.saturating_duration_since(ready_at) >= self.config.reset_backoff_after()
        });
        if stable {
            self.attempt = 0;
        }
        match ending {
            Ending::Requested => self.end(None),
            Ending::Failed(error) => {
                if connected {
                    self.report(ShardMessage::Disconnected {
                        shard_id: self.shard_id,
                        code: None,
                        reason: String::new(),
                    });
                }
                if error.is_fatal() {
                    return self.end(Some(error));
                }
                self.retry(now, CloseAction::ReconnectAfterBackoff, error);
            }
            Ending::ServerClosed(frame) => {
                let code = frame.as_ref().map(|frame| frame.code);
                let reason = frame.as_ref().map_or("", |frame| frame.reason.as_str());
                let action = close_action(code);
                if action == CloseAction::Fatal {
                    let kind = ErrorKind::FatalClose {
                        code: code.unwrap_or_default(),
                    };
                    let error = if reason.is_empty() {
                        Error::new(kind)
                    } else {
                        Error::with_source(kind, reason.to_owned())
                    };
                    return self.end(Some(error));
                }
                let too_slow = frame.as_ref().is_some_and(|frame| {
                    frame.says_too_slow()
                        || (frame.code == crate::close::close_code::UNKNOWN_ERROR
                            && self.behind_this_connection)
                });
                let cause = if too_slow {
                    let error = Error::with_source(
                        ErrorKind::TooSlow,
                        format!("closed with 4000 ({reason:?}) after the consumer fell behind"),
                    );
                    warn!(shard = self.shard_id.0, %error, "the consumer did not keep up");
                    self.report(ShardMessage::Error {
                        shard_id: self.shard_id,
                        error: error.clone(),
                    });
                    error
                } else {
                    Error::with_source(
                        ErrorKind::Transport,
                        format!("the server closed the connection ({code:?}, {reason:?})"),
                    )
                };
                self.retry(now, action, cause);
            }
        }
    }

    /// Waits out the backoff before the next connection, or ends the
    /// shard if it may not reconnect.
    fn retry(&mut self, now: Instant, action: CloseAction, cause: Error) {
        if self.close_requested {
            return self.end(None);
        }
        if !self.config.reconnect {
            return self.end(Some(cause));
        }
        let jitter = self.rng.random();
        let delay = self.config.backoff.delay(action, self.attempt, jitter);
        self.attempt = self.attempt.saturating_add(1);
        debug!(
            shard = self.shard_id.0,
            attempt = self.attempt,
            ?delay,
            "reconnecting"
        );
        self.report(ShardMessage::Reconnecting {
            shard_id: self.shard_id,
            attempt: self.attempt,
            delay,
        });
        self.phase = Phase::Waiting {
            at: now + delay,
            counted: false,
        };
    }

    /// The shard is over: the last report.
    pub(super) fn end(&mut self, error: Option<Error>) {
        if let Some(lease) = self.lease.take() {
            lease.end(LeaseEnd::Dropped);
        }
        self.transmits.clear();
        self.phase = Phase::Ended;
        self.report(ShardMessage::Closed {
            shard_id: self.shard_id,
            error,
        });
    }
}
