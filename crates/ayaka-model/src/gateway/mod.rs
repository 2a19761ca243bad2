//! The gateway's messages: the identify payload, server events and client
//! commands.

mod command;
mod envelope;
mod event;
mod identify;

pub use command::ClientCommand;
pub use event::{Event, EventKind, Hello, PresenceUpdate, UnknownEvent};
pub use identify::{Encoding, Identify, IdentifyError};
