//! The `burnline` binary: install the panic hook (`burnline::internal_error`),
//! parse the command line, run, and exit with the code `burnline::exit`
//! maps the outcome to.

fn main() {
    burnline_io::internal_error::install(burnline::exit::Case::Internal.code().number());
    let code = burnline::commands::main(std::env::args_os());
    std::process::exit(code.number().into());
}
