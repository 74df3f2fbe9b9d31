//! The device side's MQTT connection, synchronous and small: a std
//! `TcpStream`, rustls (ring) for TLS, and `mqttbytes-ng` for the packets;
//! no async runtime, so the bootstrap can link it.
//!
//! - TLS verifies the server against Mozilla's roots plus the "Aliyun IoT
//!   Root CA" (which the platform's 8883 endpoints use and Mozilla does not
//!   carry; the PEM is in this directory, taken from Alibaba's Python SDK),
//!   plus any CA given as PEM (`--ca-file`). Verification cannot be turned
//!   off.
//! - Plain TCP carries the password in clear and is allowed only to a
//!   loopback host (an emulator), decided before any connection.
//! - Timeouts: 10 s to connect, 10 s for each answer.
//! - Retries ([`Connection::open_retrying`]): only failures before any MQTT
//!   byte was sent that may pass (a name not resolved, a network
//!   unreachable, a connection refused or timed out, a TLS handshake cut
//!   short), never a TLS verification failure.

use super::endpoint::is_loopback_host;
use bytes::BytesMut;
use mqttbytes_ng::v4::Packet;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// The Aliyun IoT Root CA (PEM).
pub const ALIYUN_IOT_ROOT_CA: &str = include_str!("aliyun-iot-root-ca.pem");

/// Largest packet taken from the server.
const MAX_PACKET: usize = 64 * 1024;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTarget {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (else plain TCP, loopback only).
    pub tls: bool,
}

/// Why a connection or an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The server answered CONNACK with a refusal.
    #[error("{}", refusal_text(*.0))]
    Refused(u8),
    /// No answer, a TLS failure, or an answer that is not MQTT.
    #[error("{0}")]
    Network(String),
    /// What was given cannot be used (a non-loopback plain target, a CA file).
    #[error("{0}")]
    Input(String),
}

fn refusal_text(code: u8) -> String {
    let meaning = match code {
        1 => "the server does not take MQTT 3.1.1",
        2 => "malformed ClientID: a securemode that does not fit the transport (registration needs TLS), or a keepalive under 30 s",
        3 => "service unavailable",
        4 => "malformed username or password",
        5 => "not authorized: a wrong DeviceSecret, an unknown or deleted device, or a secret replaced by a later registration",
        _ => "unknown code",
    };
    format!("the platform refused the login: CONNACK {code}, {meaning}")
}

impl MqttTarget {
    /// Parses `mqtts://HOST:PORT` (TLS), `mqtt://HOST:PORT` or `HOST:PORT`
    /// (plain TCP, for a loopback host only).
    pub fn parse(s: &str) -> Result<Self, MqttError> {
        let (tls, rest) = if let Some(r) = s.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("mqtt://") {
            (false, r)
        } else {
            (false, s)
        };
        let bad =
            || MqttError::Input("expected HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT".into());
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        {
            return Err(bad());
        }
        let target = MqttTarget {
            host: host.to_owned(),
            port,
            tls,
        };
        target.check()?;
        Ok(target)
    }

    /// Refuses plain TCP to a host that is not loopback.
    pub fn check(&self) -> Result<(), MqttError> {
        if !self.tls && !is_loopback_host(&self.host) {
            return Err(MqttError::Input(format!(
                "plain MQTT to {} would send the password in clear: it is allowed only for a loopback host; use mqtts://",
                self.host
            )));
        }
        Ok(())
    }
}

impl std::str::FromStr for MqttTarget {
    type Err = MqttError;

    /// [`MqttTarget::parse`], for the command line: the error is the rule
    /// broken, without the value or the flag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MqttTarget::parse(s)
    }
}

impl std::fmt::Display for MqttTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The TLS client configuration ([`crate::tls`]): Mozilla's roots, the
/// Aliyun IoT Root CA and the certificates of `ca_pem`.
pub fn tls_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, MqttError> {
    let mut extra: Vec<(&str, &[u8])> = vec![(
        "the built-in Aliyun IoT Root CA",
        ALIYUN_IOT_ROOT_CA.as_bytes(),
    )];
    if let Some(pem) = ca_pem {
        extra.push(("the CA file", pem));
    }
    crate::tls::client_config(&extra).map_err(MqttError::Input)
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

/// An open MQTT connection.
pub struct Connection {
    stream: Stream,
    buf: BytesMut,
    target: MqttTarget,
}

fn io_text(target: &MqttTarget, e: &std::io::Error) -> String {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return format!("{target}: {}", crate::tls::describe(tls, "--ca-file"));
    }
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("{target}: timed out")
        }
        std::io::ErrorKind::ConnectionRefused => format!("{target}: connection refused"),
        _ => format!("{target}: {e}"),
    }
}

impl Connection {
    /// Connects (and, for TLS, verifies the server) within `timeout`.
    pub fn open(
        target: &MqttTarget,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<Self, MqttError> {
        Self::try_open(target, tls, timeout).map_err(|(e, _)| e)
    }

    /// [`Connection::open`], tried up to `attempts` times in all while it
    /// fails before any MQTT byte was sent in a way that may pass (the
    /// network not up yet at boot, say), with a pause of n × `pause`
    /// before the n-th retry, as the HTTPS registration client does. The
    /// last failure says how many tries it took.
    pub fn open_retrying(
        target: &MqttTarget,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
        attempts: u32,
        pause: Duration,
    ) -> Result<Self, MqttError> {
        let attempts = attempts.max(1);
        let mut attempt = 1;
        loop {
            match Self::try_open(target, tls.clone(), timeout) {
                Ok(c) => return Ok(c),
                Err((_, true)) if attempt < attempts => {
                    std::thread::sleep(pause.saturating_mul(attempt));
                    attempt += 1;
                }
                Err((MqttError::Network(m), _)) if attempt > 1 => {
                    return Err(MqttError::Network(format!("{m} (after {attempt} tries)")))
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Connects; an error says whether another try may pass.
    fn try_open(
        target: &MqttTarget,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<Self, (MqttError, bool)> {
        target.check().map_err(|e| (e, false))?;
        let net = |e: std::io::Error| {
            let is_tls = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .is_some();
            (MqttError::Network(io_text(target, &e)), !is_tls)
        };
        let addrs: Vec<_> = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| {
                (
                    MqttError::Network(format!("{target}: host not found ({e})")),
                    true,
                )
            })?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(t), _) => t,
            (None, Some(e)) => return Err(net(e)),
            (None, None) => {
                return Err((
                    MqttError::Network(format!("{target}: host not found")),
                    true,
                ))
            }
        };
        tcp.set_read_timeout(Some(timeout)).map_err(net)?;
        tcp.set_write_timeout(Some(timeout)).map_err(net)?;
        let _ = tcp.set_nodelay(true);
        let stream = if target.tls {
            let config = match tls {
                Some(c) => c,
                None => tls_config(None).map_err(|e| (e, false))?,
            };
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| (MqttError::Input(format!("{target}: {e}")), false))?;
            let conn = rustls::ClientConnection::new(config, name)
                .map_err(|e| (MqttError::Network(format!("{target}: TLS: {e}")), false))?;
            let mut s = rustls::StreamOwned::new(conn, tcp);
            while s.conn.is_handshaking() {
                s.conn.complete_io(&mut s.sock).map_err(net)?;
            }
            Stream::Tls(Box::new(s))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Connection {
            stream,
            buf: BytesMut::with_capacity(512),
            target: target.clone(),
        })
    }

    /// Sends one packet.
    pub fn send(&mut self, p: &Packet) -> Result<(), MqttError> {
        let mut out = BytesMut::new();
        p.write(&mut out, MAX_PACKET)
            .map_err(|e| MqttError::Input(format!("MQTT packet: {e}")))?;
        let r = match &mut self.stream {
            Stream::Plain(s) => s.write_all(&out).and_then(|()| s.flush()),
            Stream::Tls(s) => s.write_all(&out).and_then(|()| s.flush()),
        };
        zeroize::Zeroize::zeroize(&mut out[..]);
        r.map_err(|e| MqttError::Network(io_text(&self.target, &e)))
    }

    /// Reads the next packet (within the read timeout).
    pub fn receive(&mut self) -> Result<Packet, MqttError> {
        let mut chunk = [0u8; 2048];
        loop {
            match Packet::read(&mut self.buf, MAX_PACKET) {
                Ok(p) => return Ok(p),
                Err(mqttbytes_ng::Error::InsufficientBytes(_)) => {}
                Err(e) => {
                    return Err(MqttError::Network(format!(
                        "{}: not an MQTT answer ({e})",
                        self.target
                    )))
                }
            }
            let n = match &mut self.stream {
                Stream::Plain(s) => s.read(&mut chunk),
                Stream::Tls(s) => s.read(&mut chunk),
            }
            .map_err(|e| MqttError::Network(io_text(&self.target, &e)))?;
            if n == 0 {
                return Err(MqttError::Network(format!(
                    "{}: the server closed the connection",
                    self.target
                )));
            }
            self.buf.extend_from_slice(&chunk[..n]);
            zeroize::Zeroize::zeroize(&mut chunk);
        }
    }

    /// Sends DISCONNECT and closes (errors are of no use by then).
    pub fn close(mut self) {
        let _ = self.send(&Packet::Disconnect);
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each CONNACK refusal is said with its code and what it means on
    /// this platform (document 148610, and the emulator's choices for 2).
    #[test]
    fn a_refusal_names_its_code_and_meaning() {
        for (code, meaning) in [
            (2, "registration needs TLS"),
            (2, "keepalive under 30 s"),
            (3, "service unavailable"),
            (4, "malformed username or password"),
            (5, "wrong DeviceSecret"),
            (9, "unknown code"),
        ] {
            let said = MqttError::Refused(code).to_string();
            assert!(
                said.starts_with(&format!("the platform refused the login: CONNACK {code}, "))
                    && said.contains(meaning),
                "{said}"
            );
        }
    }

    #[test]
    fn a_target_parses_by_its_rule() {
        let t: MqttTarget = "mqtts://iot.example.com:8883".parse().expect("TLS");
        assert_eq!(
            t,
            MqttTarget {
                host: "iot.example.com".into(),
                port: 8883,
                tls: true
            }
        );
        for plain in ["127.0.0.1:1883", "mqtt://localhost:1883", "[::1]:1883"] {
            let t: MqttTarget = plain.parse().expect("loopback");
            assert!(!t.tls, "{plain}");
            assert_eq!(t.port, 1883);
        }
        let off = "192.168.1.1:1883"
            .parse::<MqttTarget>()
            .expect_err("off loopback");
        assert!(off.to_string().contains("loopback"), "{off}");
        for bad in ["host", "h:0", "h:x", ":1883", "mqtts://a b:1"] {
            let e = bad.parse::<MqttTarget>().expect_err(bad).to_string();
            assert_eq!(
                e, "expected HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT",
                "{bad}"
            );
        }
    }
}
