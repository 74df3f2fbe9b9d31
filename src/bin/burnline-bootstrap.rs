//! `burnline-bootstrap`, the device-side program: see `burnline::bootstrap`.

fn main() {
    std::process::exit(burnline::bootstrap::run::main(std::env::args_os()));
}
