//! `burnline register PK DN PS`: one dynamic registration, printing exactly
//! `DeviceInfo: PK DN DS` on stdout, as the vendor's `tool_generate_3triple`
//! does. Invoked as `tool_generate_3triple` (a symlink to the binary) it
//! takes the vendor's three positional arguments and behaves the same.
//!
//! The ProductSecret is best kept out of the process list: `-` reads it
//! from standard input, `--product-secret-file FILE` from a file (mode
//! 0600), and without PS it comes from `BURNLINE_PRODUCT_SECRET`. Given as
//! PS, as the vendor's tool takes it, it works with a warning that every
//! local user can read it.
//!
//! Exit codes: 0 registered; 2 bad input or usage (including an endpoint
//! that is not https:// on a non-loopback host, or a bad CA file); 3 the
//! platform refused (the message names the code: 6289 already activated,
//! 6288 switched off, 6600 signature, 6250 unknown product, others with
//! code and message); 4 network or transport failure (connection, TLS,
//! timeout, an answer that is not the platform's).

use super::secret_input::SecretArg;
use crate::cmdline::RegisterArgs;
use burnline_core::identity::rules;
use burnline_core::registration::client::{Client, ClientOptions};
use burnline_core::registration::endpoint::Endpoint;
use burnline_core::registration::error::RegisterError;
use burnline_image::error::{Error, Result};
use burnline_io::show;
use std::ffi::OsString;
use std::time::Duration;

/// The vendor tool's name; the binary behaves as `register` under it.
pub const VENDOR_NAME: &str = "tool_generate_3triple";

/// Environment variable read when neither PS nor `--product-secret-file`
/// is given.
pub const SECRET_ENV: &str = "BURNLINE_PRODUCT_SECRET";

/// Where the ProductSecret comes from.
const SECRET: SecretArg = SecretArg {
    what: "ProductSecret",
    arg: "PS",
    file_option: "--product-secret-file",
    env: SECRET_ENV,
};

/// Runs `register`.
pub fn run(args: &RegisterArgs) -> Result<()> {
    // The ProductKey and DeviceName passed their rules as clap parsed them.
    let product_secret = SECRET.read(
        args.product_secret.as_ref(),
        args.product_secret_file.as_deref(),
    )?;
    if let Err(rule) = rules::check_product_secret(product_secret.expose()) {
        return Err(Error::invalid("command line", "ProductSecret", rule));
    }
    let method = args.platform.sign_method;
    let endpoint = match &args.platform.endpoint {
        Some(e) => e.clone(),
        None => Endpoint::for_region(&args.region).map_err(RegisterError::from)?,
    };
    let mut options = ClientOptions {
        ca_pem: args.platform.ca_pem().map_err(RegisterError::Input)?,
        ..ClientOptions::default()
    };
    if let Some(ms) = args.connect_timeout_ms {
        options.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = args.read_timeout_ms {
        options.read_timeout = Duration::from_millis(ms);
    }
    let client = Client::new(endpoint, options)?;
    let reg = client.register(
        args.product_key.as_str(),
        args.device_name.as_str(),
        &product_secret,
        method,
    )?;
    show!(
        "DeviceInfo: {} {} {}",
        reg.product_key,
        reg.device_name,
        reg.device_secret.expose()
    );
    Ok(())
}

/// When the program was invoked as `tool_generate_3triple`: the arguments
/// as `burnline register ...` would take them. `None` otherwise.
pub fn vendor_args(args: &[OsString]) -> Option<Vec<OsString>> {
    let name = std::path::Path::new(args.first()?).file_name()?;
    if name != VENDOR_NAME {
        return None;
    }
    let mut out = vec![OsString::from(VENDOR_NAME), OsString::from("register")];
    out.extend(args.iter().skip(1).cloned());
    Some(out)
}
