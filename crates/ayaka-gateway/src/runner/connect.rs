//! Opening a connection: discovery, the WebSocket handshake, identify.

use super::*;

impl Runner {
    pub(super) async fn connect_and_run(&mut self, connection: &mut Connection) -> Ending {
        let failed = |error| Ending::Failed {
            error,
            connected: false,
        };
        if let Some(limiter) = self.config.identify_limiter.clone() {
            tokio::select! {
                permit = limiter.acquire_owned() => connection.identify_permit = permit.ok(),
                _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
            }
        }
        let url = tokio::select! {
            url = resolve(&self.config.endpoint, self.config.connect_timeout, self.config.tls.as_ref()) => match url {
                Ok(url) => url,
                Err(error) => return failed(error),
            },
            _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
        };
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_message_size))
            .max_frame_size(Some(self.config.max_message_size));
        let tls = match config_or_default(self.config.tls.as_ref()) {
            Ok(tls) => tls,
            Err(error) => return failed(error),
        };
        let connect = timeout(
            self.config.connect_timeout,
            connect_async_tls_with_config(
                url.as_str(),
                Some(ws_config),
                true,
                Some(Connector::Rustls(tls)),
            ),
        );
        let mut socket = tokio::select! {
            result = connect => match result {
                Ok(Ok((socket, _response))) => socket,
                Ok(Err(error)) => {
                    let kind = match error {
                        tokio_tungstenite::tungstenite::Error::Url(_) => ErrorKind::InvalidUrl,
                        _ => ErrorKind::Connect,
                    };
                    return failed(Error::with_source(kind, error));
                }
                Err(_) => return failed(Error::with_source(ErrorKind::Connect, "connect timed out")),
            },
            _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
        };
        let mut identify =
            Identify::new(self.config.session_id.as_ref()).with_encoding(self.config.encoding);
        identify.presences = self.config.presences;
        let identify = match serde_json::to_string(&identify) {
            Ok(identify) => identify,
            Err(error) => return failed(Error::with_source(ErrorKind::Serialize, error)),
        };
        let send = timeout(
            self.config.connect_timeout,
            socket.send(Message::text(identify)),
        );
        let sent = tokio::select! {
            sent = send => sent,
            _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return failed(Error::with_source(ErrorKind::Transport, error)),
            Err(_) => return failed(Error::with_source(ErrorKind::Connect, "identify timed out")),
        }
        connection.decompressor.reset();
        connection.binary_is_json = None;
        let identified_at = Instant::now();
        connection.keepalive.start(identified_at, rand::random());
        connection.ready_deadline = identified_at + self.config.ready_timeout;
        self.status.set_state(ShardState::Identifying);
        debug!(
            shard = self.shard_id.0,
            encoding = self.config.encoding.as_str(),
            "identified"
        );
        let connected = ShardMessage::Connected {
            shard_id: self.shard_id,
        };
        // delivered like an event, so a slow consumer does not stop the pings
        let ending = match self.deliver(connected, &mut socket, connection).await {
            Some(ending) => ending,
            None => self.drive(&mut socket, connection).await,
        };
        match &ending {
            Ending::CloseRequested | Ending::ConsumerGone => {
                close_socket(&mut socket, CloseCode::Normal, CLOSE_GRACE).await;
            }
            Ending::ServerClosed(_) => {
                // let tungstenite's automatic close reply go out
                let _ = timeout(CLOSE_GRACE, async {
                    while socket.next().await.is_some() {}
                })
                .await;
            }
            Ending::Failed { error, .. } => {
                let code = match error.kind() {
                    // the socket is already broken
                    ErrorKind::Transport => None,
                    ErrorKind::Decompress => Some(CloseCode::Invalid),
                    ErrorKind::MessageTooLarge => Some(CloseCode::Size),
                    _ => Some(CloseCode::Away),
                };
                if let Some(code) = code {
                    close_socket(&mut socket, code, FAILED_CLOSE_GRACE).await;
                }
            }
        }
        ending
    }
}

/// Sends a close frame and waits briefly for the server's answer.
async fn close_socket(socket: &mut Socket, code: CloseCode, grace: std::time::Duration) {
    let frame = CloseFrame {
        code,
        reason: "".into(),
    };
    let _ = timeout(grace, async {
        if socket.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}
