//! JSON parsing of gateway messages: simd-json with the `simd-json`
//! feature, serde_json otherwise, with identical results.

use ayaka_model::gateway::Event;

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
    let mut scratch = Vec::new();
    EventParser::parse(&mut scratch, raw)
}

/// Reuses a scratch buffer for simd-json, which parses in place.
pub(crate) struct EventParser;

impl EventParser {
    #[cfg(feature = "simd-json")]
    pub(crate) fn parse(scratch: &mut Vec<u8>, raw: &[u8]) -> Result<Event, Error> {
        scratch.clear();
        scratch.extend_from_slice(raw);
        Event::from_json_mut(scratch).map_err(|error| Error::with_source(ErrorKind::Parse, error))
    }

    #[cfg(not(feature = "simd-json"))]
    pub(crate) fn parse(_scratch: &mut Vec<u8>, raw: &[u8]) -> Result<Event, Error> {
        Event::from_json(raw).map_err(|error| Error::with_source(ErrorKind::Parse, error))
    }
}
