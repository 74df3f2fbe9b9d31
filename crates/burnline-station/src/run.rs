//! Running the station until SIGINT or SIGTERM: the operator page's server
//! on a small tokio runtime, the slots started, and on a stop the cards
//! being written finished (up to `STOP_WAIT`) before it returns.

use crate::api;
use crate::page_server;
use crate::service::Service;
use burnline_image::error::{IoContext, Result};
use burnline_io::say;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stop waits for cards being written.
const STOP_WAIT: Duration = Duration::from_secs(300);

/// Runs the service until SIGINT or SIGTERM: then no new card is started,
/// the cards being written are finished, and it returns.
pub fn serve(service: Arc<Service>) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| {
            burnline_image::error::Error::Io {
                context: "setting up the signal handlers".into(),
                source: e,
            }
        })?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // A panic in a request is one line in the log, not the station's end.
        .on_thread_start(burnline_io::internal_error::contain_thread)
        .enable_all()
        .build()
        .with_context(|| "starting the page's server".into())?;
    let addr = service.config().listen;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .with_context(|| format!("listening on {addr} (listen in the station config)"))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("listening on {addr}"))?;
    service.start();
    let cap = page_server::connection_cap();
    say!("station: the operator page is at http://{bound}/ (at most {cap} connections at once)");
    let app = api::router(service.clone());
    rt.block_on(async {
        let flag = stop.clone();
        tokio::select! {
            () = page_server::serve(listener, app, cap) => {},
            () = async move {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            } => {},
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    say!("station: stopping; cards being written are finished first");
    service.stop();
    let deadline = Instant::now() + STOP_WAIT;
    while service.busy() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
