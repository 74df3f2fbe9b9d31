//! The emulator's command line (clap): where it listens, the products file,
//! the state file, TLS, and the test-only delays.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default HTTP address. Its port is not the station page's (8080,
/// `burnline station serve`), so both run on one PC.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:18080";

/// A local stand-in for the Alibaba Cloud IoT platform: dynamic registration
/// over HTTPS and MQTT, device logins, and an admin API.
#[derive(Debug, Parser)]
#[command(
    name = "burnline-emulator",
    version = env!("CARGO_PKG_VERSION"),
    about,
    long_about = None
)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0: any free port); the default's port is
    /// not the station page's (8080), so both run on one PC.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The products file (YAML).
    #[arg(long)]
    pub products: PathBuf,
    /// A JSON file that keeps the state across restarts (mode 0600).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM); needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve MQTT over plain TCP (securemode 3) here, such as
    /// `127.0.0.1:1883`, and over TLS too (securemode 2 and -2) with
    /// --tls-cert: the first byte tells them apart, as on the platform's
    /// 1883 and 443.
    #[arg(long, value_name = "ADDR")]
    pub mqtt: Option<SocketAddr>,
    /// Serve MQTT over TLS only (securemode 2 and -2) here, as the
    /// platform's 8883, with the certificate of --tls-cert/--tls-key.
    #[arg(long, value_name = "ADDR")]
    pub mqtts: Option<SocketAddr>,
    /// Serve the platform's OpenAPI (product Iot, 2018-01-20) over plain
    /// HTTP here, such as `127.0.0.1:18081`, for the AccessKeys of the
    /// products file's `access_keys`.
    #[arg(long, value_name = "ADDR")]
    pub openapi: Option<SocketAddr>,
    /// Hold each request this long before the platform sees it (tests).
    #[arg(long, hide = true, default_value_t = 0)]
    pub delay_ms: u64,
    /// Hold each platform answer this long after the platform handled the
    /// request and saved its state (tests): a window in which the platform has
    /// issued a secret that the device has not yet received.
    #[arg(long, hide = true, default_value_t = 0)]
    pub hold_answer_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulator and the station page (`127.0.0.1:8080`), both at their
    /// defaults, listen on different ports of one PC.
    #[test]
    fn the_emulator_defaults_to_a_port_the_station_page_does_not_use() {
        let args = EmulatorArgs::try_parse_from(["burnline-emulator", "--products", "p.yaml"])
            .expect("parses");
        let port = args.listen.port();
        assert_eq!(port, 18080);
        assert_ne!(port, 8080);
    }

    /// Each listener's address is an IP address and port, checked by clap:
    /// a host name or a missing port is refused before anything is read.
    #[test]
    fn listener_addresses_are_ip_and_port() {
        for flag in ["--listen", "--mqtt", "--mqtts", "--openapi"] {
            for bad in ["localhost:1883", "127.0.0.1", "1883", "127.0.0.1:99999"] {
                let e = EmulatorArgs::try_parse_from([
                    "burnline-emulator",
                    "--products",
                    "p.yaml",
                    flag,
                    bad,
                ])
                .expect_err(bad);
                assert_eq!(
                    e.kind(),
                    clap::error::ErrorKind::ValueValidation,
                    "{flag} {bad}"
                );
            }
            let ok = EmulatorArgs::try_parse_from([
                "burnline-emulator",
                "--products",
                "p.yaml",
                flag,
                "127.0.0.1:0",
            ]);
            assert!(ok.is_ok(), "{flag}");
        }
    }
}
