//! JSON parsing of gateway messages: simd-json with the `simd-json`
//! feature, serde_json otherwise, with identical results.

#[cfg(feature = "simd-json")]
use std::cell::RefCell;

use ayaka_model::gateway::{Decoded, Event, EventFilter, EventKinds};
#[cfg(feature = "simd-json")]
use ayaka_model::json::Parser;

use crate::error::{Error, ErrorKind};

/// Parses one gateway message (an event envelope) into an [`Event`].
///
/// Events whose name is unknown come back as [`Event::Unknown`] with their
/// JSON; only malformed JSON or a malformed known event is an error. With
/// the `simd-json` feature, each thread keeps the parser's buffers between
/// calls, so parsing many messages does not allocate them again.
///
/// ```
/// use ayaka_model::gateway::EventKind;
/// let event = ayaka_gateway::parse_event(br#"{"t":"GUILD_DELETE","d":{"id":1}}"#)?;
/// assert_eq!(event.kind(), EventKind::GuildDelete);
/// # Ok::<(), ayaka_gateway::Error>(())
/// ```
pub fn parse_event(raw: &[u8]) -> Result<Event, Error> {
    #[cfg(feature = "simd-json")]
    {
        thread_local! {
            static PARSER: RefCell<EventParser> = RefCell::new(EventParser::new(EventKinds::ALL));
        }
        PARSER.with(|parser| match parser.try_borrow_mut() {
            Ok(mut parser) => parser.parse_event(raw),
            // only if a parse re-entered this (it does not): a fresh one
            Err(_) => EventParser::new(EventKinds::ALL).parse_event(raw),
        })
    }
    #[cfg(not(feature = "simd-json"))]
    {
        EventParser::new(EventKinds::ALL).parse_event(raw)
    }
}

/// One connection's parser, decoding the kinds it is given.
///
/// simd-json parses in place and needs working buffers: both are kept for
/// the life of the connection (until [`shrink`](Self::shrink)), so
/// steady-state parsing allocates only the event itself. serde_json needs
/// no buffers (its scratch for escaped strings is empty unless used).
pub(crate) struct EventParser {
    filter: EventFilter,
    #[cfg(feature = "simd-json")]
    scratch: Vec<u8>,
    #[cfg(feature = "simd-json")]
    parser: Parser,
}

impl EventParser {
    /// A parser building the events of `wanted`.
    pub(crate) fn new(wanted: EventKinds) -> Self {
        Self {
            filter: EventFilter::new(wanted),
            #[cfg(feature = "simd-json")]
            scratch: Vec::new(),
            #[cfg(feature = "simd-json")]
            parser: Parser::new(),
        }
    }

    /// Frees the working buffers (simd-json's), which grew to the largest
    /// message; the next message grows them again.
    pub(crate) fn shrink(&mut self) {
        #[cfg(feature = "simd-json")]
        {
            self.scratch = Vec::new();
            self.parser = Parser::new();
        }
    }

    /// Reads `raw`: the event if its kind is wanted, else its kind.
    pub(crate) fn parse(&mut self, raw: &[u8]) -> Result<Decoded, Error> {
        #[cfg(feature = "simd-json")]
        {
            // The shard keeps `raw` for its consumer, so simd-json gets a copy.
            self.scratch.clear();
            self.scratch.extend_from_slice(raw);
            self.parser
                .parse_seed(self.filter, &mut self.scratch)
                .map_err(|error| Error::with_source(ErrorKind::Parse, error))
        }
        #[cfg(not(feature = "simd-json"))]
        {
            ayaka_model::json::from_bytes_seed(self.filter, raw)
                .map_err(|error| Error::with_source(ErrorKind::Parse, error))
        }
    }

    /// Reads `raw` as an event of any kind.
    fn parse_event(&mut self, raw: &[u8]) -> Result<Event, Error> {
        match self.parse(raw)? {
            Decoded::Event(event) => Ok(event),
            // a parser for every kind skips none
            Decoded::Skipped(kind) => Err(Error::with_source(
                ErrorKind::Parse,
                format!("a {kind:?} event was skipped"),
            )),
        }
    }
}
