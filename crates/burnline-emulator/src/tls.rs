//! The emulator's TLS server side: OpenSSL (Debian's libssl, through the
//! `openssl` crate and `tokio-openssl`), made once from the PEM files of
//! `--tls-cert` and `--tls-key` and shared by HTTPS and MQTT over TLS, so
//! both present the same certificate.
//!
//! Besides TLS 1.3 and the ECDHE suites, it offers the four suites
//! Alibaba's C SDKs can speak (their bundled mbedtls has RSA key exchange
//! and AES-CBC only, TLS 1.2): `TLS_RSA_WITH_AES_128_CBC_SHA256`,
//! `TLS_RSA_WITH_AES_256_CBC_SHA256`, `TLS_RSA_WITH_AES_128_CBC_SHA` and
//! `TLS_RSA_WITH_AES_256_CBC_SHA`. rustls implements none of them, hence
//! OpenSSL here. They need an RSA certificate; with another key type a
//! warning says so at start.

use crate::error::{Error, Result};
use burnline_io::say;
use openssl::pkey::Id;
use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod, SslVersion};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

/// TLS 1.2 suites, in OpenSSL's names: forward-secret ones first, then the
/// C SDKs' RSA key-exchange suites.
pub const TLS12_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA";

/// The emulator's TLS acceptor; cheap to clone.
#[derive(Clone)]
pub struct Acceptor(Arc<SslAcceptor>);

impl Acceptor {
    /// Builds the acceptor from PEM files (certificate chain, private key).
    pub fn new(cert: &Path, key: &Path) -> Result<Self> {
        let usage = |what: &str, path: &Path, e: openssl::error::ErrorStack| {
            Error::Usage(format!("{what} {}: {e}", path.display()))
        };
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
            .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?;
        b.set_min_proto_version(Some(SslVersion::TLS1_2))
            .and_then(|()| b.set_cipher_list(TLS12_CIPHERS))
            .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?;
        b.set_certificate_chain_file(cert)
            .map_err(|e| usage("--tls-cert", cert, e))?;
        b.set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| usage("--tls-key", key, e))?;
        b.check_private_key()
            .map_err(|e| usage("--tls-key (does it match --tls-cert?)", key, e))?;
        let acceptor = b.build();
        if acceptor
            .context()
            .private_key()
            .is_some_and(|k| k.id() != Id::RSA)
        {
            say!(
                "emulator: warning: --tls-key is not an RSA key: Alibaba's C SDKs \
                 (RSA key exchange only) cannot connect; give an RSA certificate"
            );
        }
        Ok(Acceptor(Arc::new(acceptor)))
    }

    /// Runs the server handshake on `stream`.
    pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> std::io::Result<SslStream<S>> {
        let ssl = Ssl::new(self.0.context()).map_err(std::io::Error::other)?;
        let mut tls = SslStream::new(ssl, stream).map_err(std::io::Error::other)?;
        Pin::new(&mut tls).accept().await.map_err(|e| {
            let text = e.to_string();
            e.into_io_error()
                .unwrap_or_else(|_| std::io::Error::other(text))
        })?;
        Ok(tls)
    }
}
