//! One module per subcommand, and [`main`], which parses the command line,
//! runs the subcommand and turns its outcome into an exit status. Errors are
//! printed here, one line each.

pub mod build;
pub mod check;
pub mod flash;
pub mod inspect;
pub mod manifest_merge;
pub mod plan;
pub mod verify;

use crate::cmdline::{Cli, Command};
use crate::error::Error;
use clap::Parser;
use std::ffi::OsString;

/// Runs burnline with `args` (including the program name) and returns the
/// exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    // Failpoints named in FAILPOINTS (tests only; see `build`'s crash points).
    let _failpoints = fail::FailScenario::setup();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Build(a) => build::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Flash(a) => flash::run(&a),
        Command::Manifest(crate::cmdline::ManifestCommand::Merge(a)) => manifest_merge::run(&a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            report(&e);
            e.exit_code()
        }
    }
}

/// Prints an error: every problem on its own line, then a summary.
pub fn report(e: &Error) {
    if let Error::Invalid(problems) = e {
        for p in problems {
            eprintln!("error: {p}");
        }
    }
    eprintln!("burnline: {e}");
}
