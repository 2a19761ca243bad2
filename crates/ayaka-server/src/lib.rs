//! A local Ayaka server implementing the documented REST API and gateway.
