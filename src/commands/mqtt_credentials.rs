//! `burnline mqtt-credentials`: prints the MQTT host, port, client ID, user
//! name and password of a device triple, for checking that a triple logs in.
//! TLS (securemode 2) by default; `--instance-id` for a new instance
//! (securemode -2), `--plain` for plain TCP (securemode 3); `--host` and
//! `--port` replace what is printed for them.
//! Printing the password is the command's purpose; it is derived from the
//! DeviceSecret and a timestamp, not the secret itself.

use crate::cmdline::MqttCredentialsArgs;
use crate::error::{Error, Result};
use crate::registration::mqtt::{MqttCredentials, SecureMode};
use crate::secret::Secret;

/// Environment variable read for a DeviceSecret given as `-`.
pub const SECRET_ENV: &str = "BURNLINE_DEVICE_SECRET";

/// Runs `mqtt-credentials`.
pub fn run(args: &MqttCredentialsArgs) -> Result<()> {
    let method = args.sign_method;
    let secret = if args.device_secret == "-" {
        Secret::new(
            std::env::var(SECRET_ENV)
                .map_err(|_| Error::Usage(format!("{SECRET_ENV} is not set")))?,
        )
    } else {
        Secret::new(args.device_secret.clone())
    };
    let timestamp = match args.timestamp {
        Some(t) => t.to_string(),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis().to_string())
            .unwrap_or_else(|_| "0".into()),
    };
    if args.region.is_empty()
        || !args
            .region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::invalid(
            "command line",
            "--region",
            "letters, digits and `-` only",
        ));
    }
    let mode = match (&args.instance_id, args.plain) {
        (Some(id), _) => {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Error::invalid(
                    "command line",
                    "--instance-id",
                    "letters, digits, `-` and `_` only",
                ));
            }
            SecureMode::Instance(id.clone())
        }
        (None, true) => SecureMode::Plain,
        (None, false) => SecureMode::Tls,
    };
    let m = MqttCredentials::derive(
        &args.product_key,
        &args.device_name,
        &secret,
        method,
        &timestamp,
        &args.region,
        &mode,
    );
    println!("host: {}", args.host.as_deref().unwrap_or(&m.host));
    println!("port: {}", args.port.unwrap_or(m.port));
    println!("clientId: {}", m.client_id);
    println!("username: {}", m.username);
    println!("password: {}", m.password.expose());
    Ok(())
}
