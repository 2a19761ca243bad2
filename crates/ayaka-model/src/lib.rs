//! Ayaka objects, REST request bodies and gateway events, with serde.
