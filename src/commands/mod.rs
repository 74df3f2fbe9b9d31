//! One module per subcommand, and [`main`], which parses the command line,
//! runs the subcommand and turns its outcome into an exit code (through
//! `crate::exit`, the one exit map). Errors are
//! printed here, one line each. Invoked as `tool_generate_3triple` (the
//! vendor's burn tool name, a symlink), the binary acts as `register`.

pub mod build;
pub mod check;
pub mod emulator;
pub mod flash;
pub mod generate;
pub mod inspect;
pub mod ledger;
pub mod login_check;
pub mod manifest_merge;
pub mod mqtt_credentials;
pub mod plan;
pub mod platform;
pub mod pool;
pub mod register;
pub mod secret_input;
pub mod station;
pub mod verify;

use crate::cmdline::{Cli, Command};
use crate::error::Error;
use crate::exit::{Case, Code};
use burnline_image::error::Error as RunError;
use std::ffi::OsString;

/// Runs burnline with `args` (including the program name) and returns the
/// exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> Code {
    // Failpoints named in FAILPOINTS, only in a build made with `--features
    // failpoints` (the tests'; see `build`'s crash points). Any other build
    // never reads the variable: no point can sleep or abort it.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let mut args: Vec<OsString> = args.into_iter().collect();
    // Under the vendor's name (a symlink), behave as `register`.
    if let Some(vendor) = register::vendor_args(&args) {
        args = vendor;
    }
    let cli: Cli = match crate::cmdline::parse(args) {
        Ok(cli) => cli,
        Err(end) => return crate::exit::cli_end(end),
    };
    let result = match cli.command {
        Command::Build(a) => build::run(&a).map_err(Error::from),
        Command::Check(a) => check::run(&a).map_err(Error::from),
        Command::Plan(a) => plan::run(&a).map_err(Error::from),
        Command::Inspect(a) => inspect::run(&a).map_err(Error::from),
        Command::Verify(a) => verify::run(&a).map_err(Error::from),
        Command::Flash(a) => flash::run(&a).map_err(Error::from),
        Command::Manifest(crate::cmdline::ManifestCommand::Merge(a)) => {
            manifest_merge::run(&a).map_err(Error::from)
        }
        Command::Ledger(c) => ledger::run(&c).map_err(Error::from),
        Command::Register(a) => register::run(&a).map_err(Error::from),
        Command::Emulator(a) => emulator::run(&a).map_err(Error::from),
        Command::Pool(c) => pool::run(&c).map_err(Error::from),
        Command::MqttCredentials(a) => mqtt_credentials::run(&a).map_err(Error::from),
        Command::LoginCheck(a) => login_check::run(&a).map_err(Error::from),
        Command::Station(crate::cmdline::StationCommand::Serve(a)) => {
            station::serve(&a).map_err(Error::from)
        }
        Command::Station(crate::cmdline::StationCommand::Report(a)) => {
            station::report(&a).map_err(Error::from)
        }
        Command::Generate(c) => generate::run(&c).map_err(Error::from),
        Command::Platform(c) => platform::run(&c),
    };
    match result {
        Ok(()) => Case::Done.code(),
        Err(e) => {
            report(&e);
            crate::exit::code(&e)
        }
    }
}

/// Prints an error: every problem on its own line, then a summary (on a
/// closed stderr, nothing, and no panic).
pub fn report(e: &Error) {
    use burnline_io::say;
    if let Error::Run(RunError::Invalid(problems)) = e {
        for p in problems {
            say!("error: {p}");
        }
    }
    say!("burnline: {e}");
}
