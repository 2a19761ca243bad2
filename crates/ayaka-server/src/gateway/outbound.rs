//! Turns encoded events into the WebSocket messages of one connection:
//! text as is, or through the connection's zlib stream, perhaps split.

use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::zlib::{CompressError, ZlibStream};

/// The deployed server's fragment size.
const QUIRK_FRAGMENT: usize = 1024;

pub(crate) struct Outbound {
    zlib: Option<ZlibStream>,
    /// Split each compressed message in this many parts (1: whole).
    parts: usize,
    /// Or cut it in pieces of this size (deployed-server quirk).
    fragment: Option<usize>,
}

impl Outbound {
    pub(crate) fn new(zlib: bool, quirks: bool, parts: usize) -> Self {
        Self {
            zlib: zlib.then(|| ZlibStream::new(quirks)),
            parts: parts.max(1),
            fragment: quirks.then_some(QUIRK_FRAGMENT),
        }
    }

    /// The messages carrying one event; `last` ends a batch of events
    /// written together (see [`ZlibStream::compress`]).
    pub(crate) fn messages(
        &mut self,
        json: Utf8Bytes,
        last: bool,
    ) -> Result<Vec<Message>, CompressError> {
        let Some(zlib) = &mut self.zlib else {
            return Ok(vec![Message::Text(json)]);
        };
        let compressed = bytes::Bytes::from(zlib.compress(json.as_bytes(), last)?);
        let piece = if self.parts > 1 {
            compressed.len().div_ceil(self.parts).max(1)
        } else {
            self.fragment.unwrap_or(usize::MAX)
        };
        if compressed.len() <= piece {
            return Ok(vec![Message::Binary(compressed)]);
        }
        let mut messages = Vec::with_capacity(compressed.len().div_ceil(piece));
        let mut start = 0;
        while start < compressed.len() {
            let end = (start + piece).min(compressed.len());
            messages.push(Message::Binary(compressed.slice(start..end)));
            start = end;
        }
        Ok(messages)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn sizes(messages: &[Message]) -> Vec<usize> {
        messages.iter().map(Message::len).collect()
    }

    #[test]
    fn json_stays_one_text_message() {
        let mut outbound = Outbound::new(false, false, 4);
        let messages = outbound
            .messages(Utf8Bytes::from_static(r#"{"t":"X"}"#), true)
            .unwrap();
        assert_eq!(messages, [Message::text(r#"{"t":"X"}"#)]);
    }

    #[test]
    fn zlib_messages_split_into_parts_ending_with_the_marker() {
        let mut outbound = Outbound::new(true, false, 3);
        let text = format!(r#"{{"t":"X","d":"{}"}}"#, "0123456789".repeat(50));
        let messages = outbound.messages(Utf8Bytes::from(text), true).unwrap();
        assert_eq!(messages.len(), 3);
        let Message::Binary(last) = &messages[2] else {
            panic!("binary expected")
        };
        assert!(last.ends_with(&[0, 0, 0xFF, 0xFF]));
    }

    #[test]
    fn quirks_cut_1024_byte_fragments() {
        let mut outbound = Outbound::new(true, true, 1);
        // Incompressible enough to pass 1024 bytes.
        let mut state = 0x2545_f491_u32;
        let noise: String = (0..6_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                char::from(b'!' + (state % 90) as u8)
            })
            .collect();
        let messages = outbound.messages(Utf8Bytes::from(noise), true).unwrap();
        let sizes = sizes(&messages);
        assert!(sizes.len() > 1);
        assert!(sizes[..sizes.len() - 1].iter().all(|size| *size == 1024));
    }
}
