//! The `burnline` binary: parse the command line, run, map the outcome to an
//! exit status (see `burnline::error` for the table).

fn main() {
    std::process::exit(burnline::commands::main(std::env::args_os()));
}
