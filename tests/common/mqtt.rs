//! Helpers of the MQTT tests: the emulator with its MQTT listeners (a real
//! process on 127.0.0.1, so it keeps its own helper instead of the `Test`
//! builder), its full admin listing, the real clients that
//! `scripts/test-clients.sh` installs (Alibaba's Python and Node SDKs,
//! mosquitto_pub) as `Test` commands, and raw MQTT packets for the
//! bad-input tests.

use super::emulator::admin;
use super::Test;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// An emulator with `--mqtt` (and `--mqtts` with TLS); killed when dropped.
pub struct MqttEmulator {
    child: Child,
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub url: String,
    /// `127.0.0.1:PORT` of the plain MQTT listener.
    pub mqtt: String,
    /// `127.0.0.1:PORT` of the TLS MQTT listener, if any.
    pub mqtts: Option<String>,
    /// `127.0.0.1:PORT` of the OpenAPI listener, with `--openapi` in `extra`.
    pub openapi: Option<String>,
    /// The stderr log.
    pub log: PathBuf,
    /// The CA (PEM) for admin calls over TLS.
    pub ca: Option<Vec<u8>>,
}

/// One device of `GET /admin/devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub device_name: String,
    pub activated: bool,
    pub online: bool,
    pub last_online: Option<u64>,
    pub secrets_issued: u64,
    pub disabled: bool,
}

impl MqttEmulator {
    /// Starts the emulator with `--mqtt 127.0.0.1:0` and `extra` arguments;
    /// with `tls = Some((cert, key, ca))` also HTTPS and `--mqtts`.
    pub fn start(
        dir: &Path,
        products: &Path,
        tls: Option<(&Path, &Path, &Path)>,
        extra: &[&str],
    ) -> Self {
        let log = dir.join(format!(
            "emulator-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let err = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(super::emulator_bin());
        cmd.args(["--listen", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"])
            .arg("--products")
            .arg(products)
            .args(extra);
        if let Some((cert, key, _)) = tls {
            cmd.arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key)
                .args(["--mqtts", "127.0.0.1:0"]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout);
        let mut read = || {
            let mut line = String::new();
            lines.read_line(&mut line).expect("read emulator stdout");
            line.trim().strip_prefix("listening on ").map(str::to_owned)
        };
        let url = read();
        let mqtt = read().and_then(|u| u.strip_prefix("mqtt://").map(str::to_owned));
        let mqtts = if tls.is_some() {
            read().and_then(|u| u.strip_prefix("mqtts://").map(str::to_owned))
        } else {
            None
        };
        let openapi = if extra.contains(&"--openapi") {
            read().and_then(|u| u.strip_prefix("openapi http://").map(str::to_owned))
        } else {
            None
        };
        let (Some(url), Some(mqtt)) = (url, mqtt) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "emulator did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        MqttEmulator {
            child,
            url,
            mqtt,
            mqtts,
            openapi,
            log,
            ca: tls.map(|(_, _, ca)| std::fs::read(ca).expect("ca")),
        }
    }

    /// The plain listener's port.
    pub fn mqtt_port(&self) -> u16 {
        self.mqtt
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("port")
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET /admin/devices`.
    pub fn devices(&self) -> Vec<Listed> {
        let (status, body) = admin(&self.url, "GET", "/admin/devices", None, self.ca.as_deref());
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|d| Listed {
                device_name: d["device_name"].as_str().expect("name").to_owned(),
                activated: d["activated"].as_bool().expect("activated"),
                online: d["online"].as_bool().expect("online"),
                last_online: d["last_online"].as_u64(),
                secrets_issued: d["secrets_issued"].as_u64().expect("issued"),
                disabled: d["disabled"].as_bool().expect("disabled"),
            })
            .collect()
    }

    /// One device of the listing.
    pub fn device(&self, dn: &str) -> Listed {
        self.devices()
            .into_iter()
            .find(|d| d.device_name == dn)
            .unwrap_or_else(|| panic!("{dn} is not listed"))
    }

    /// Waits (at most 15 s) until `dn` is online or not, as asked.
    pub fn wait_online(&self, dn: &str, online: bool) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while self.device(dn).online != online {
            assert!(
                std::time::Instant::now() < end,
                "{dn} never became {}: {}",
                if online { "online" } else { "offline" },
                self.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for MqttEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the real clients are.
pub struct Clients {
    /// The venv's python, with aliyun-iot-linkkit 1.2.13 and paho-mqtt 1.6.1.
    pub python: PathBuf,
    /// node_modules with alibabacloud-iot-device-sdk 1.2.8.
    pub node_modules: PathBuf,
    /// mosquitto_pub.
    pub mosquitto_pub: PathBuf,
}

/// Installs the clients once (scripts/test-clients.sh, cached under
/// target/); fails loudly if that is not possible.
pub fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-clients.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/test-clients.sh");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "scripts/test-clients.sh failed (it needs python3-venv, npm and mosquitto-clients):\n{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let get = |k: &str| {
            said.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("test-clients.sh printed no {k}: {said}"))
        };
        Clients {
            python: get("python"),
            node_modules: get("node_modules"),
            mosquitto_pub: get("mosquitto_pub"),
        }
    })
}

/// `python SCRIPT` with the SDK's venv, in `t`'s directory, to be given
/// arguments and expectations.
pub fn python(t: &Test, script: &Path) -> Test {
    t.cmd().program(&clients().python).arg(script)
}

/// `node SCRIPT` with the SDK's node_modules (Debian package nodejs), in
/// `t`'s directory.
pub fn node(t: &Test, script: &Path) -> Test {
    t.tool("node")
        .env("NODE_PATH", &clients().node_modules)
        .arg(script)
}

/// mosquitto_pub, in `t`'s directory.
pub fn mosquitto_pub(t: &Test) -> Test {
    t.cmd().program(&clients().mosquitto_pub)
}

/// `burnline mqtt-credentials --plain` for a triple: (clientId, username, password).
pub fn plain_credentials(t: &Test, pk: &str, dn: &str, ds: &str) -> (String, String, String) {
    let out = t
        .burnline()
        .args(["mqtt-credentials", "--product-key", pk, "--device-name", dn])
        .args(["--device-secret", ds, "--plain"])
        .run()
        .stdout;
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .expect("field")
            .to_owned()
    };
    (get("clientId"), get("username"), get("password"))
}

/// A raw MQTT 3.1.1 CONNECT packet, written out by hand so that the tests
/// can also send broken ones.
pub fn connect_packet(client_id: &str, username: &str, password: &str, keepalive: u16) -> Vec<u8> {
    let mut body = Vec::new();
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u16).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    string(&mut body, "MQTT");
    body.push(4);
    body.push(0b1100_0010);
    body.extend_from_slice(&keepalive.to_be_bytes());
    string(&mut body, client_id);
    string(&mut body, username);
    string(&mut body, password);
    let mut p = vec![0x10];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        p.push(b);
        if len == 0 {
            break;
        }
    }
    p.extend_from_slice(&body);
    p
}
