//! Two-stage SIGINT (and SIGTERM) for `build`: the first stops handing out
//! devices and lets the batch in flight finish (the run then records what is
//! done and ends with `Error::Interrupted`); a second exits at once, with
//! the code the caller gives (the CLI's `Case::SecondSignal`).

use crate::error::{IoContext, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether a stop was asked for.
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handlers; a second signal ends the process with `code`.
    pub fn install(code: u8) -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // Order matters: the shutdown fires only when the flag is already set.
            signal_hook::flag::register_conditional_shutdown(sig, code.into(), Arc::clone(&flag))
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&flag)))
                .at("installing the signal handler", Path::new("SIGINT"))?;
        }
        Ok(Interrupt { flag })
    }

    /// Whether the first signal came.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}
