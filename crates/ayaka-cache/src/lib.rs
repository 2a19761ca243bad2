//! An in-memory Ayaka cache kept current from gateway events.
