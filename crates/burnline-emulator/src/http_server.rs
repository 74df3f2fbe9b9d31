//! The emulator's HTTP side: axum on hyper (HTTP/1.1 with keep-alive,
//! chunked bodies and the rest handled by code made for it), plain or TLS
//! (OpenSSL, [`super::tls`]). Every request goes to [`Api::handle`] on a blocking
//! thread, since an answer may write the state file.
//!
//! Slow clients cannot hold the emulator: a connection that has not sent a
//! whole request head within [`HEAD_TIMEOUT`] (or finished its TLS handshake
//! within it) is closed, and connections are tasks, not threads, so a few
//! hundred slow ones cost little. At most [`MAX_CONNECTIONS`] are served at
//! once; more are closed at once. Bodies are limited to 64 KiB.
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

use super::api::{Api, Request};
use super::tls::Acceptor;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use burnline_io::say;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections served at once, at most.
pub const MAX_CONNECTIONS: usize = 4096;

/// Time allowed for a TLS handshake and for a whole request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request body.
const MAX_BODY: usize = 64 * 1024;

/// What every request handler shares.
struct Shared {
    api: Arc<Api>,
    delay: Duration,
    hold: Duration,
}

/// A second handle on the connection's socket, to see whether the client
/// left while its request was held.
#[derive(Clone)]
struct Probe(Arc<std::net::TcpStream>);

impl Probe {
    /// Whether the peer is still connected (no FIN or error seen).
    fn still_there(&self) -> bool {
        let mut b = [0u8; 1];
        match self.0.peek(&mut b) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        }
    }
}

/// Logs, when dropped while armed, that a held request's client left.
struct Left(Option<String>);

impl Drop for Left {
    fn drop(&mut self) {
        if let Some(what) = self.0.take() {
            say!("emulator: {what}: client left during the delay; dropped unseen");
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(probe): Extension<Probe>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let req = Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        body: zeroize::Zeroizing::new(body.to_vec()),
    };
    if !shared.delay.is_zero() {
        say!(
            "emulator: holding {} {} for {} ms",
            req.method,
            req.path,
            shared.delay.as_millis()
        );
        // hyper drops this future when it sees the client close; then, or
        // when the probe sees it afterwards, the request goes unseen.
        let mut left = Left(Some(format!("{} {}", req.method, req.path)));
        tokio::time::sleep(shared.delay).await;
        if probe.still_there() {
            left.0 = None;
        } else {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let held = (!shared.hold.is_zero() && !req.path.starts_with("/admin/"))
        .then(|| format!("{} {}", req.method, req.path));
    let api = Arc::clone(&shared.api);
    let answered = tokio::task::spawn_blocking(move || api.handle(&req)).await;
    let Ok((status, body)) = answered else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(what) = held {
        say!(
            "emulator: {what}: handled; holding the answer for {} ms",
            shared.hold.as_millis()
        );
        tokio::time::sleep(shared.hold).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_vec(),
    )
        .into_response()
}

/// Serves HTTP (or HTTPS with `tls`) on `listener` until the process ends.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Acceptor>,
    api: Arc<Api>,
    delay: Duration,
    hold: Duration,
) {
    let router = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(Shared { api, delay, hold }));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of descriptors, or a connection reset before accept: go on.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let Some((tcp, probe)) = with_probe(tcp) else {
            continue;
        };
        let service = TowerToHyperService::new(router.clone().layer(Extension(probe)));
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            // `Content-Length:`, not `content-length:`: the C SDKs match
            // header names case-sensitively, as the platform writes them.
            http.title_case_headers(true)
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(true);
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                }
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
            drop(permit);
        });
    }
}

/// The connection and a probe on the same socket.
fn with_probe(tcp: TcpStream) -> Option<(TcpStream, Probe)> {
    let std = tcp.into_std().ok()?;
    let probe = std.try_clone().ok()?;
    let tcp = TcpStream::from_std(std).ok()?;
    Some((tcp, Probe(Arc::new(probe))))
}
