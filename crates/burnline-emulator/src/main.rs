//! `burnline-emulator`: parses the command line, runs the emulator, and on
//! a failure to start prints one line and exits with the status
//! `Error::exit_code` gives (2 bad input, 3 I/O). A broken rule of a file
//! is an `error: ` line, as `burnline` writes them; a command line clap
//! rejects exits 2 as well.

use burnline_emulator::args::EmulatorArgs;
use burnline_emulator::error::Error;
use burnline_io::say;
use clap::Parser;

fn main() {
    let args = EmulatorArgs::parse();
    if let Err(e) = burnline_emulator::serve::run(&args) {
        match &e {
            Error::Invalid { .. } => say!("error: {e}"),
            _ => say!("burnline-emulator: {e}"),
        }
        std::process::exit(e.exit_code());
    }
}
