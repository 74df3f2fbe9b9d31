//! The one rustls client configuration of burnline: the ring provider,
//! rustls's safe protocol versions, Mozilla's roots (`webpki-root-certs`)
//! plus the CA certificates a caller adds (a private endpoint's, a
//! database server's). Verification of the chain and of the host name is
//! always on: there is no way to build a configuration without it. The
//! MQTT transport and the pool's PostgreSQL connections both take their
//! configuration from here.

use std::sync::Arc;

/// A client configuration trusting Mozilla's roots and the certificates of
/// each `(what, pem)` in `extra` (`what` names it in an error, such as
/// "the CA file"). Each PEM must hold at least one certificate.
pub fn client_config(extra: &[(&str, &[u8])]) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    for (what, pem) in extra {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("{what} is not valid PEM: {e}"))?;
            roots.add(cert).map_err(|e| format!("{what}: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("{what} holds no certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS failure in words a person acts on: a certificate that did not
/// verify says so and names the option that adds a CA.
pub fn describe(e: &rustls::Error, ca_option: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(why) => format!(
            "TLS certificate verification failed ({why:?}); for a private server, give its CA with {ca_option}"
        ),
        other => format!("TLS failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_pem_without_certificates() {
        let e = client_config(&[("the CA file", b"not a pem")]).unwrap_err();
        assert_eq!(e, "the CA file holds no certificate");
        assert!(client_config(&[]).is_ok());
    }
}
