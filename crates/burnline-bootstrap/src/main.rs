//! `burnline-bootstrap`, the device-side program: see the crate's library.

fn main() {
    std::process::exit(burnline_bootstrap::run::main(std::env::args_os()));
}
