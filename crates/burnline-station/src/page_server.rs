//! The operator page's HTTP server: hyper's HTTP/1.1 on each connection,
//! with the page's router behind it. Slow or idle clients cannot hold it:
//! a connection that has not sent a whole request head within
//! [`HEAD_TIMEOUT`] is closed, and at most [`connection_cap`] connections
//! are open at once, half the process's descriptor limit (`RLIMIT_NOFILE`),
//! so a flood of connections always leaves the descriptors the slots'
//! probes, the cards and the pool need. Connections beyond the cap wait in
//! the kernel's listen queue, costing the service nothing, until one
//! closes.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Time allowed for a whole request head (also between two requests on a
/// kept-alive connection).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once, at most, whatever the descriptor limit.
pub const MAX_CONNECTIONS: usize = 512;

/// How many connections are served at once: half the soft descriptor
/// limit, at most [`MAX_CONNECTIONS`], at least 1.
pub fn connection_cap() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit
        .map_or(MAX_CONNECTIONS, |n| {
            usize::try_from(n / 2).unwrap_or(MAX_CONNECTIONS)
        })
        .clamp(1, MAX_CONNECTIONS)
}

/// Serves `router` on `listener`, at most `cap` connections at once, until
/// the future is dropped.
pub async fn serve(listener: TcpListener, router: Router, cap: usize) {
    let slots = Arc::new(Semaphore::new(cap));
    loop {
        // A free place first: beyond the cap, connections stay queued in
        // the kernel, and take none of this process's descriptors.
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let tcp = loop {
            match listener.accept().await {
                Ok((tcp, _)) => break tcp,
                // Out of descriptors after all, or a connection reset
                // before it was accepted: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(true);
            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
            drop(permit);
        });
    }
}
