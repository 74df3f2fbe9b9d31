//! `burnline mqtt-credentials`: prints the MQTT host, port, client ID, user
//! name and password of a device triple, for checking that a triple logs in.
//! TLS (securemode 2) by default; `--instance-id` for a new instance
//! (securemode -2), `--plain` for plain TCP (securemode 3); `--host` and
//! `--port` replace what is printed for them.
//! Printing the password is the command's purpose; it is derived from the
//! DeviceSecret and a timestamp, not the secret itself. The DeviceSecret:
//! `--device-secret -` reads it from standard input, `--device-secret-file`
//! from a file (mode 0600), and with neither it comes from
//! `BURNLINE_DEVICE_SECRET`; given in clear on the command line it works,
//! with a warning that every local user can read it.

use super::secret_input::SecretArg;
use crate::cmdline::MqttCredentialsArgs;
use burnline_core::registration::mqtt::{MqttCredentials, SecureMode};
use burnline_image::error::{Error, Result};
use burnline_io::show;

/// Environment variable read when neither `--device-secret` nor
/// `--device-secret-file` is given.
pub const SECRET_ENV: &str = "BURNLINE_DEVICE_SECRET";

/// Where the DeviceSecret comes from.
const SECRET: SecretArg = SecretArg {
    what: "DeviceSecret",
    arg: "--device-secret",
    file_option: "--device-secret-file",
    env: SECRET_ENV,
};

/// Runs `mqtt-credentials`.
pub fn run(args: &MqttCredentialsArgs) -> Result<()> {
    let method = args.sign_method;
    let secret = SECRET.read(
        args.device_secret.as_ref(),
        args.device_secret_file.as_deref(),
    )?;
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
        args.product_key.as_str(),
        args.device_name.as_str(),
        &secret,
        method,
        &timestamp,
        &args.region,
        &mode,
    );
    show!("host: {}", args.host.as_deref().unwrap_or(&m.host));
    show!("port: {}", args.port.unwrap_or(m.port));
    show!("clientId: {}", m.client_id);
    show!("username: {}", m.username);
    show!("password: {}", m.password.expose());
    Ok(())
}
