//! `burnline emulator`: loads the products file and the state, then serves
//! the platform's registration API and the admin API until killed. See
//! `crate::emulator` for the API and `docs/registration.md` for the files.

use crate::cmdline::EmulatorArgs;
use crate::emulator::{api::Api, products, server, state::State};
use crate::error::Result;
use std::time::Duration;

/// Runs `emulator`.
pub fn run(args: &EmulatorArgs) -> Result<()> {
    let products = products::load(&args.products)?;
    let state = State::load(products, args.state.as_deref())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_config(cert, key)?),
        _ => None,
    };
    server::serve(
        &args.listen,
        tls,
        Api::new(state),
        Duration::from_millis(args.delay_ms),
        Duration::from_millis(args.hold_answer_ms),
    )
}
