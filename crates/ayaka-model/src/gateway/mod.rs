//! The gateway's messages: the identify payload, server events and client
//! commands.

mod command;
mod envelope;
mod event;
mod event_kinds;
mod identify;

pub use command::ClientCommand;
pub use envelope::{Decoded, EventFilter};
pub use event::{Event, EventKind, Hello, PresenceUpdate, UnknownEvent};
pub use event_kinds::EventKinds;
pub use identify::{Encoding, Identify, IdentifyError};
