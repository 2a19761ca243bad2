//! JSON bodies for the requests hyper refuses itself.
//!
//! A request hyper cannot parse (a bad request line, a control character
//! in a header, a URI over hyper's limit, headers over its buffer) never
//! reaches the service: hyper answers on its own with an empty-bodied
//! `400`, `414` or `431` and closes the connection, and offers no hook to
//! shape that answer. So the connection's writes pass through
//! [`JsonRejections`], which recognises exactly that answer and writes it
//! with the server's JSON error body instead. It is recognisable without
//! doubt: the server's own error responses always carry a JSON body, so a
//! 4xx head with `content-length: 0` can only be hyper's. hyper flattens
//! a response into one buffer when the stream does not do vectored
//! writes, so the head arrives in one `poll_write`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::reply::ApiError;

/// A stream whose hyper-made rejections are rewritten with JSON bodies.
pub(crate) struct JsonRejections<S> {
    inner: S,
    /// Bytes still to write in place of what hyper wrote.
    pending: Vec<u8>,
    written: usize,
    quirks: bool,
}

impl<S> JsonRejections<S> {
    pub(crate) fn new(inner: S, quirks: bool) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
            quirks,
        }
    }
}

/// The JSON version of hyper's automatic answer in `head`, if it is one.
fn rewrite(head: &[u8], quirks: bool) -> Option<Vec<u8>> {
    let end = head.windows(4).position(|window| window == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let status_line = text.lines().next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    let empty = text
        .lines()
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !status.is_client_error() || !empty || end + 4 != head.len() {
        return None;
    }
    let body = ApiError::new(status, rejection_message(status)).body(quirks);
    let mut answer = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for line in text.lines().skip(1) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            answer.push_str(line);
            answer.push_str("\r\n");
        }
    }
    answer.push_str("\r\n");
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

fn rejection_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::URI_TOO_LONG => "the request URI is too long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "the request headers are too large",
        _ => "the request is not valid HTTP/1.1",
    }
}

impl<S: AsyncWrite + Unpin> JsonRejections<S> {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let written =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += written;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonRejections<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonRejections<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some(answer) = rewrite(buf, this.quirks) {
            this.pending = answer;
            // Taken as written: the rewritten answer goes out in its place.
            // Errors surface on the next write or the flush.
            let _ = this.poll_pending(cx);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // hyper then flattens each response into one buffer, so a head is
    // seen whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const HYPER_400: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\
                              date: Tue, 01 Dec 2026 22:32:42 GMT\r\n\r\n";

    #[test]
    fn hypers_own_answers_get_json_bodies() {
        let answer = String::from_utf8(rewrite(HYPER_400, false).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains("connection: close"));
        assert!(head.contains("date: Tue"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], 400);
        let quirky = String::from_utf8(rewrite(HYPER_400, true).unwrap()).unwrap();
        assert!(
            quirky.ends_with(r#"{"code":0,"message":"400: Bad Request"}"#),
            "{quirky}"
        );
    }

    #[test]
    fn other_writes_pass_untouched() {
        for other in [
            &b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 40\r\n\r\n{}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\ntrailing",
            b"{\"code\": 400}",
            b"",
        ] {
            assert!(rewrite(other, false).is_none(), "{other:?}");
        }
    }
}
