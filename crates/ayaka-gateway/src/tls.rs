//! The TLS setup of `wss://` connections and `https://` discovery.
//!
//! Built with an explicit crypto provider (ring): rustls's process default
//! panics when a program links more than one provider, which an
//! application's other dependencies can do behind this crate's back.

use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore, crypto::ring::default_provider};

use crate::error::{Error, ErrorKind};

/// The configuration trusting the webpki roots, built once per process.
pub(crate) fn default_config() -> Result<Arc<ClientConfig>, Error> {
    static DEFAULT: OnceLock<Result<Arc<ClientConfig>, Error>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|error| Error::with_source(ErrorKind::Connect, error))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// The configured TLS setup, or the default.
pub(crate) fn config_or_default(
    configured: Option<&Arc<ClientConfig>>,
) -> Result<Arc<ClientConfig>, Error> {
    configured.map_or_else(default_config, |config| Ok(Arc::clone(config)))
}
