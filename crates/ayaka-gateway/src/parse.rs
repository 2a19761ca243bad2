//! JSON parsing of gateway messages: simd-json with the `simd-json`
//! feature, serde_json otherwise, with identical results.

use ayaka_model::gateway::Event;
#[cfg(feature = "simd-json")]
use ayaka_model::json::Parser;

use crate::error::{Error, ErrorKind};

/// Parses one gateway message (an event envelope) into an [`Event`].
///
/// Events whose name is unknown come back as [`Event::Unknown`] with their
/// JSON; only malformed JSON or a malformed known event is an error.
///
/// ```
/// use ayaka_model::gateway::EventKind;
/// let event = ayaka_gateway::parse_event(br#"{"t":"GUILD_DELETE","d":{"id":1}}"#)?;
/// assert_eq!(event.kind(), EventKind::GuildDelete);
/// # Ok::<(), ayaka_gateway::Error>(())
/// ```
pub fn parse_event(raw: &[u8]) -> Result<Event, Error> {
    EventParser::default().parse(raw)
}

/// One connection's parser. simd-json parses in place and needs working
/// buffers: both are kept for the life of the connection, so steady-state
/// parsing allocates only the event itself.
#[derive(Default)]
pub(crate) struct EventParser {
    #[cfg(feature = "simd-json")]
    scratch: Vec<u8>,
    #[cfg(feature = "simd-json")]
    parser: Parser,
}

impl EventParser {
    /// Frees the working buffers (simd-json's), which grew to the largest
    /// message; the next message grows them again.
    pub(crate) fn shrink(&mut self) {
        #[cfg(feature = "simd-json")]
        {
            self.scratch = Vec::new();
            self.parser = Parser::new();
        }
    }

    #[cfg(feature = "simd-json")]
    pub(crate) fn parse(&mut self, raw: &[u8]) -> Result<Event, Error> {
        // The shard keeps `raw` for its consumer, so simd-json gets a copy.
        self.scratch.clear();
        self.scratch.extend_from_slice(raw);
        self.parser
            .parse(&mut self.scratch)
            .map_err(|error| Error::with_source(ErrorKind::Parse, error))
    }

    #[cfg(not(feature = "simd-json"))]
    pub(crate) fn parse(&mut self, raw: &[u8]) -> Result<Event, Error> {
        Event::from_json(raw).map_err(|error| Error::with_source(ErrorKind::Parse, error))
    }
}
