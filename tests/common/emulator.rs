//! The platform for the registration tests: the emulator run as a real,
//! long-running process of the built binary on 127.0.0.1 (so it keeps its
//! own helper instead of the `Test` builder), admin calls to it, a
//! registration through `burnline register`, a test CA, and the secrets it
//! issued. Everything listens on and connects to loopback only.

use super::{Test, PK, PS};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The ProductKey of a product whose dynamic registration is off.
pub const PK_OFF: &str = "b2Y3cFoQ93A";
/// Its ProductSecret.
pub const PS_OFF: &str = "Zq8v2KLm4Nw9Xc3Rt7Yp1Bd6Hf5Js0Ga";

/// A products file with `devices` under PK (switch on) and `off1` under
/// PK_OFF (switch off).
pub fn write_products(dir: &Path, devices: &[&str]) -> PathBuf {
    let list = devices
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    dynamic_registration: true\n    devices: [{list}]\n  - product_key: {PK_OFF}\n    product_secret: {PS_OFF}\n    dynamic_registration: false\n    devices: [off1]\n"
    );
    let path = dir.join("products.yaml");
    write_private(&path, &text);
    path
}

/// Writes a secret file (a products file) with mode 0600, as the emulator
/// asks.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write secret file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// A running emulator; killed when dropped.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:PORT` or `https://...`.
    pub url: String,
    /// Its stderr log.
    pub log: PathBuf,
    /// The CA (PEM) to trust for admin calls over TLS.
    pub ca: Option<Vec<u8>>,
}

impl Emulator {
    /// Starts `burnline-emulator --listen 127.0.0.1:0 --products P EXTRA...`.
    pub fn start(dir: &Path, products: &Path, extra: &[&str]) -> Self {
        let log = dir.join(format!(
            "emulator-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let err = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(super::emulator_bin())
            .args(["--listen", "127.0.0.1:0", "--products"])
            .arg(products)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn emulator");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read emulator stdout");
        let url = line.trim().strip_prefix("listening on ").map(str::to_owned);
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "emulator did not start: {line:?} {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Emulator {
            child,
            url,
            log,
            ca: None,
        }
    }

    /// The emulator's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many registration requests for `dn` it has seen.
    pub fn registrations_of(&self, dn: &str) -> usize {
        let needle = format!("emulator: register {PK} {dn}: ");
        self.log_text()
            .lines()
            .filter(|l| l.starts_with(&needle))
            .count()
    }

    /// How many registration requests it has started to hold (`--delay-ms`).
    pub fn held(&self) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.starts_with("emulator: holding POST /auth/register/device"))
            .count()
    }

    /// `GET /admin/devices` as (device_name, activated, online).
    pub fn devices(&self) -> Vec<(String, bool, bool)> {
        let (status, body) = admin(&self.url, "GET", "/admin/devices", None, self.ca.as_deref());
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|d| {
                (
                    d["device_name"].as_str().expect("name").to_owned(),
                    d["activated"].as_bool().expect("activated"),
                    d["online"].as_bool().expect("online"),
                )
            })
            .collect()
    }

    pub fn activated(&self, dn: &str) -> bool {
        self.devices().iter().any(|(n, a, _)| n == dn && *a)
    }

    /// Whether a DeviceSecret was issued to `dn` (activation comes later, at
    /// its first MQTT login).
    pub fn registered(&self, dn: &str) -> bool {
        let (status, body) = admin(&self.url, "GET", "/admin/devices", None, self.ca.as_deref());
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .any(|d| d["device_name"] == dn && d["secrets_issued"].as_u64().is_some_and(|n| n > 0))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP request to the emulator; (status, body).
pub fn admin(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    ca: Option<&[u8]>,
) -> (u16, String) {
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None);
    if let Some(pem) = ca {
        let cert = ureq::tls::Certificate::from_pem(pem).expect("ca pem");
        cfg = cfg.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
                .build(),
        );
    }
    let agent: ureq::Agent = cfg.build().into();
    let url = format!("{base}{path}");
    let result = match (method, body) {
        ("GET", _) => agent.get(&url).call(),
        ("DELETE", _) => agent.delete(&url).call(),
        ("PUT", Some(b)) => agent
            .put(&url)
            .header("Content-Type", "application/json")
            .send(b),
        ("POST", Some(b)) => agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(b),
        _ => panic!("unsupported {method}"),
    };
    let mut resp = result.expect("admin request");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().expect("body"))
}

/// `burnline register PK DN PS --endpoint URL EXTRA...` in `t`'s
/// directory (a device of `write_products`' product); the DeviceSecret the
/// platform issued, from its `DeviceInfo:` line.
#[track_caller]
pub fn register(t: &Test, url: &str, dn: &str, extra: &[&str]) -> String {
    t.burnline()
        .args(["register", PK, dn, PS, "--endpoint", url])
        .args(extra)
        .stdout_contains(format!("DeviceInfo: {PK} {dn} "))
        .run()
        .stdout
        .trim_end()
        .rsplit(' ')
        .next()
        .expect("a DeviceSecret")
        .to_owned()
}

/// A test CA and a leaf for 127.0.0.1 and localhost, as PEM files in `dir`:
/// (ca.pem, leaf.pem, leaf.key).
pub fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    test_ca_for(dir, &["localhost", "127.0.0.1"])
}

/// A test CA and a leaf for `names` (host names or IP addresses), as PEM
/// files in `dir`: (ca.pem, leaf.pem, leaf.key).
pub fn test_ca_for(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    test_ca_with(dir, names, rcgen::KeyPair::generate().expect("leaf key"))
}

/// A test CA and an RSA-2048 leaf for 127.0.0.1 and localhost, as PEM
/// files in `dir`: (ca.pem, leaf.pem, leaf.key). Alibaba's C SDKs (RSA key
/// exchange only) need an RSA certificate.
pub fn test_ca_rsa(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let rsa = openssl::rsa::Rsa::generate(2048).expect("rsa key");
    let pem = openssl::pkey::PKey::from_rsa(rsa)
        .and_then(|k| k.private_key_to_pem_pkcs8())
        .expect("rsa pem");
    let pem = String::from_utf8(pem).expect("pem text");
    let key = rcgen::KeyPair::from_pem(&pem).expect("rsa key for rcgen");
    test_ca_with(dir, &["localhost", "127.0.0.1"], key)
}

/// A test CA and a leaf for `names` with `leaf_key`, as PEM files in `dir`.
fn test_ca_with(
    dir: &Path,
    names: &[&str],
    leaf_key: rcgen::KeyPair,
) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "burnline test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let mut leaf_params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("leaf params");
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf");
    let (ca_pem, leaf_pem, key_pem) = (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    );
    std::fs::write(&ca_pem, ca.pem()).expect("write ca");
    std::fs::write(&leaf_pem, leaf.pem()).expect("write leaf");
    std::fs::write(&key_pem, leaf_key.serialize_pem()).expect("write key");
    (ca_pem, leaf_pem, key_pem)
}

/// The secrets in the emulator's state file: (device_name, secret), for the
/// devices that hold one.
pub fn state_secrets(state: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(state).expect("state file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("state json");
    v["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| {
            Some((
                d["device_name"].as_str().expect("dn").to_owned(),
                d["device_secret"].as_str()?.to_owned(),
            ))
        })
        .collect()
}
