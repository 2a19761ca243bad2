//! One open connection: reading, keepalive, commands, delivery.

use super::*;

impl Runner {
    /// Runs one open connection until it ends.
    ///
    /// Timers are checked on every turn, before waiting, so that a flood of
    /// incoming frames can starve neither the keepalive nor the commands.
    pub(super) async fn drive(
        &mut self,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Ending {
        loop {
            let now = Instant::now();
            if now >= connection.keepalive.deadline()
                && let Some(ending) = self.keepalive(socket, connection).await
            {
                return ending;
            }
            if !connection.ready && now >= connection.ready_deadline {
                let error = Error::with_source(ErrorKind::Timeout, "no READY after identify");
                return Ending::lost(error);
            }
            let command_ready = connection.commands_open && connection.limiter.command_ready(now);
            if command_ready {
                match self.commands.try_recv() {
                    Ok(command) => {
                        if let Some(ending) = self.send_command(command, socket, connection).await {
                            return ending;
                        }
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        connection.commands_open = false
                    }
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
            }
            let command_ready = connection.commands_open && connection.limiter.command_ready(now);
            // the nearest deadline on one timer: every turn that waits
            // re-arms its timers, so one is cheaper than three
            let mut timer_at = connection.keepalive.deadline();
            if !connection.ready {
                timer_at = timer_at.min(connection.ready_deadline);
            }
            if connection.commands_open && !command_ready {
                timer_at = timer_at.min(connection.limiter.command_ready_at(now));
            }
            let wake = tokio::select! {
                biased;
                _ = self.close.wait_for(|closed| *closed) => Wake::Close,
                frame = socket.next() => Wake::Frame(frame),
                command = self.commands.recv(), if command_ready => Wake::Command(command),
                _ = sleep_until(timer_at) => Wake::Timer,
            };
            let ending = match wake {
                Wake::Close => return Ending::CloseRequested,
                Wake::Frame(None) => Some(Ending::lost(Error::with_source(
                    ErrorKind::Transport,
                    "connection dropped",
                ))),
                Wake::Frame(Some(Err(error))) => {
                    let kind = match error {
                        tokio_tungstenite::tungstenite::Error::Capacity(_) => {
                            ErrorKind::MessageTooLarge
                        }
                        _ => ErrorKind::Transport,
                    };
                    Some(Ending::lost(Error::with_source(kind, error)))
                }
                Wake::Frame(Some(Ok(message))) => {
                    self.on_message(message, socket, connection).await
                }
                Wake::Command(None) => {
                    connection.commands_open = false;
                    None
                }
                Wake::Command(Some(command)) => {
                    self.send_command(command, socket, connection).await
                }
                // handled at the top of the next turn
                Wake::Timer => None,
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    /// Pings when due; ends the connection when the Pong is overdue.
    async fn keepalive(
        &mut self,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        match connection.keepalive.poll(Instant::now(), rand::random()) {
            KeepaliveAction::Ping(payload) => {
                let ending = self.write(socket, ping(payload)).await;
                connection.limiter.record_keepalive(Instant::now());
                ending
            }
            KeepaliveAction::Dead => Some(Ending::lost(Error::new(ErrorKind::PingTimeout))),
            KeepaliveAction::Wait => None,
        }
    }

    /// Sends one command (the caller checked the rate limit).
    async fn send_command(
        &mut self,
        command: Command,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        let text = match command {
            Command::Send(command) => match command.to_json().map(String::from_utf8) {
                Ok(Ok(text)) => text,
                _ => {
                    let error =
                        Error::with_source(ErrorKind::Serialize, "command is not JSON text");
                    let report = ShardMessage::Error {
                        shard_id: self.shard_id,
                        error,
                    };
                    return self.deliver(report, socket, connection).await;
                }
            },
            Command::SendRaw(text) => text,
        };
        let ending = self.write(socket, Message::text(text)).await;
        connection.limiter.record_command(Instant::now());
        ending
    }

    /// Writes one message. A peer that stops reading fills the TCP window
    /// and would stall the write forever, deaf to close requests: it gets
    /// as long as a Pong would.
    async fn write(&mut self, socket: &mut Socket, message: Message) -> Option<Ending> {
        let written = tokio::select! {
            biased;
            _ = self.close.wait_for(|closed| *closed) => return Some(Ending::CloseRequested),
            written = timeout(self.config.ping_timeout, socket.send(message)) => written,
        };
        let error = match written {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => Error::with_source(ErrorKind::Transport, error),
            Err(_) => Error::with_source(ErrorKind::Timeout, "the server stopped reading"),
        };
        Some(Ending::lost(error))
    }

    /// Handles one WebSocket message; `Some` ends the connection.
    async fn on_message(
        &mut self,
        message: Message,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        match message {
            Message::Text(text) => self.on_payload(Bytes::from(text), socket, connection).await,
            Message::Binary(bytes) => {
                let is_json = *connection
                    .binary_is_json
                    .get_or_insert_with(|| looks_like_json(&bytes));
                if is_json {
                    return self.on_payload(bytes, socket, connection).await;
                }
                match connection.decompressor.decompress(&bytes) {
                    Ok(Some(message)) => {
                        let raw = Bytes::copy_from_slice(message);
                        self.on_payload(raw, socket, connection).await
                    }
                    Ok(None) => None,
                    Err(error) => Some(Ending::lost(error)),
                }
            }
            Message::Pong(payload) => {
                if connection
                    .keepalive
                    .on_pong(&payload, Instant::now())
                    .is_some()
                {
                    self.status.set_latency(connection.keepalive.latency());
                }
                None
            }
            Message::Close(frame) => Some(Ending::ServerClosed(
                frame.map(|frame| u16::from(frame.code)),
            )),
            // tungstenite answers pings itself
            Message::Ping(_) | Message::Frame(_) => None,
        }
    }

    /// Parses and delivers one complete message.
    async fn on_payload(
        &mut self,
        raw: Bytes,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        self.status.add_received(raw.len());
        let event = match connection.parser.parse(&raw) {
            Ok(event) => event,
            Err(error) => {
                // one bad message does not cost the connection
                warn!(shard = self.shard_id.0, %error, "unparsable gateway message");
                let report = ShardMessage::Error {
                    shard_id: self.shard_id,
                    error,
                };
                return self.deliver(report, socket, connection).await;
            }
        };
        let is_ready = matches!(event, Event::Ready(_));
        let message = ShardMessage::Event(ReceivedEvent {
            shard_id: self.shard_id,
            event,
            raw,
        });
        if let Some(ending) = self.deliver(message, socket, connection).await {
            return Some(ending);
        }
        if is_ready && !connection.ready {
            connection.ready = true;
            connection.identify_permit = None;
            self.status.set_state(ShardState::Ready);
            info!(shard = self.shard_id.0, "ready");
            let ready = ShardMessage::Ready {
                shard_id: self.shard_id,
            };
            if let Some(ending) = self.deliver(ready, socket, connection).await {
                return Some(ending);
            }
            if let Some(presence) = self.config.presence.clone() {
                let command = Command::Send(ClientCommand::PresenceUpdate(presence));
                return self.send_command(command, socket, connection).await;
            }
        }
        None
    }

    /// Queues a message for the consumer, waiting for room (backpressure).
    /// While it waits nothing is read, so pongs and READY go unseen: pings
    /// still go out on schedule so the server keeps the connection, and
    /// neither the keepalive nor the READY deadline counts the pause.
    pub(super) async fn deliver(
        &mut self,
        message: ShardMessage,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        let message = match self.events.try_send(message) {
            Ok(()) => return None,
            Err(mpsc::error::TrySendError::Closed(_)) => return Some(Ending::ConsumerGone),
            Err(mpsc::error::TrySendError::Full(message)) => message,
        };
        let paused_at = Instant::now();
        loop {
            let ping_at = connection.keepalive.next_ping_at();
            tokio::select! {
                biased;
                _ = self.close.wait_for(|closed| *closed) => return Some(Ending::CloseRequested),
                permit = self.events.reserve() => {
                    let Ok(permit) = permit else {
                        return Some(Ending::ConsumerGone);
                    };
                    permit.send(message);
                    let now = Instant::now();
                    let paused = now.saturating_duration_since(paused_at);
                    connection.keepalive.resume_reading(now, paused);
                    connection.ready_deadline = connection
                        .ready_deadline
                        .checked_add(paused)
                        .unwrap_or(connection.ready_deadline);
                    return None;
                }
                _ = sleep_until(ping_at) => {}
            }
            if let Some(payload) = connection
                .keepalive
                .poll_paused(Instant::now(), rand::random())
            {
                if let Some(ending) = self.write(socket, ping(payload)).await {
                    return Some(ending);
                }
                connection.limiter.record_keepalive(Instant::now());
            }
        }
    }
}

/// Whether a binary frame that starts a connection is JSON rather than zlib
/// (a zlib header's first byte never is `{` or whitespace).
fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.first(),
        Some(b'{' | b'[' | b' ' | b'\n' | b'\r' | b'\t')
    )
}

fn ping(payload: u64) -> Message {
    Message::Ping(Bytes::copy_from_slice(&payload.to_be_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_json_is_told_apart_from_zlib() {
        assert!(looks_like_json(br#"{"t":"READY"}"#));
        assert!(!looks_like_json(&[0x78, 0x9c, 0x00]));
        assert!(!looks_like_json(&[]));
    }
}
