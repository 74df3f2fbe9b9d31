//! Accepts connections, plain or TLS (rustls, with the certificate chain and
//! key given as PEM files), and serves each on its own thread (at most
//! [`MAX_CONNECTIONS`] at once; more are closed at once). Prints
//! `listening on http(s)://ADDR` on stdout once the socket is bound.
//!
//! `delay` (the hidden `--delay-ms`) models a slow network in front of the
//! platform: the request is held that long before the platform sees it, and
//! dropped unseen if the client hung up meanwhile.
//!
//! `hold` (the hidden `--hold-answer-ms`) holds the answer to a platform
//! request (not an admin one) that long after the platform handled it and
//! saved its state: a secret issued and stored by the platform that the
//! client has not received yet, the moment a power cut on the device costs
//! the most.

use super::api::Api;
use super::http::{read_request, write_response, ReadError};
use crate::error::{Error, IoContext, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once, at most.
pub const MAX_CONNECTIONS: usize = 256;

/// Socket read/write timeout, so a silent client does not hold a thread.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a TLS server configuration from PEM files.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| Error::Usage(format!("--tls-cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "--tls-cert {}: no certificate in it",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Usage(format!("--tls-key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| Error::Usage(format!("--tls-cert/--tls-key: {e}")))?;
    Ok(Arc::new(config))
}

/// Serves until the process ends.
pub fn serve(
    listen: &str,
    tls: Option<Arc<rustls::ServerConfig>>,
    api: Api,
    delay: Duration,
    hold: Duration,
) -> Result<()> {
    let listener = TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("listening on {listen}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
    let api = Arc::new(api);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(tcp) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let (conn_api, conn_active, conn_tls) =
            (Arc::clone(&api), Arc::clone(&active), tls.clone());
        let spawned = std::thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || {
                connection(tcp, conn_tls, &conn_api, delay, hold);
                conn_active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

fn connection(
    tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    api: &Api,
    delay: Duration,
    hold: Duration,
) {
    let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(probe) = tcp.try_clone() else { return };
    match tls {
        None => {
            let mut s = tcp;
            exchange(&mut s, &probe, api, delay, hold);
        }
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            let mut s = rustls::StreamOwned::new(conn, tcp);
            exchange(&mut s, &probe, api, delay, hold);
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}

/// Whether the peer is still connected (no FIN or error seen).
fn still_there(tcp: &TcpStream) -> bool {
    if tcp.set_nonblocking(true).is_err() {
        return true;
    }
    let mut b = [0u8; 1];
    let r = tcp.peek(&mut b);
    let _ = tcp.set_nonblocking(false);
    match r {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

fn exchange<S: Read + Write>(
    s: &mut S,
    probe: &TcpStream,
    api: &Api,
    delay: Duration,
    hold: Duration,
) {
    let req = match read_request(s) {
        Ok(r) => r,
        Err(ReadError::Bad(status, why)) => {
            let body = serde_json::json!({"code": 460, "message": why}).to_string();
            let _ = write_response(s, status, body.as_bytes());
            return;
        }
        Err(_) => return,
    };
    if !delay.is_zero() {
        eprintln!(
            "emulator: holding {} {} for {} ms",
            req.method,
            req.path,
            delay.as_millis()
        );
        std::thread::sleep(delay);
        if !still_there(probe) {
            eprintln!(
                "emulator: {} {}: client left during the delay; dropped unseen",
                req.method, req.path
            );
            return;
        }
    }
    let (status, body) = api.handle(&req);
    if !hold.is_zero() && !req.path.starts_with("/admin/") {
        eprintln!(
            "emulator: {} {}: handled; holding the answer for {} ms",
            req.method,
            req.path,
            hold.as_millis()
        );
        std::thread::sleep(hold);
    }
    let _ = write_response(s, status, &body);
}
