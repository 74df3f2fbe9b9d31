//! The platform as the guest sees it. QEMU's user network, with
//! `restrict=on`, forwards one address, 10.0.2.100:443, to `forward.sh`,
//! which logs each connection and hands it to the emulator now running on
//! 127.0.0.1 (its port is in a file), or closes it when none runs. The
//! emulator serves TLS with the shared test CA and keeps a state file, so it
//! can be stopped and started again, with other options, while a guest
//! runs.

use super::shared::shared;
use crate::common::emulator::{state_secrets, write_products, Emulator};
use crate::common::{repo_root, s};
use std::fs;
use std::path::{Path, PathBuf};

/// The platform's address in the guest (the recipes' `endpoint`).
pub const ENDPOINT: &str = "https://10.0.2.100";

/// The emulator behind the guest's one forwarded address.
pub struct Platform {
    dir: PathBuf,
    products: PathBuf,
    state: PathBuf,
    emulator: Option<Emulator>,
    logs: Vec<PathBuf>,
}

impl Platform {
    /// A platform that knows `devices` (under `common::PK`); not running.
    pub fn new(dir: &Path, devices: &[&str]) -> Self {
        Platform {
            dir: dir.to_path_buf(),
            products: write_products(dir, devices),
            state: dir.join("state.json"),
            emulator: None,
            logs: Vec::new(),
        }
    }

    /// Starts the emulator (stopping a running one first) with `extra`
    /// options, on the same state file.
    pub fn start(&mut self, extra: &[&str]) {
        self.stop();
        let sh = shared();
        let mut args = vec![
            "--state",
            s(&self.state),
            "--tls-cert",
            s(&sh.leaf),
            "--tls-key",
            s(&sh.key),
        ];
        args.extend_from_slice(extra);
        let mut emu = Emulator::start(&self.dir, &self.products, &args);
        emu.ca = Some(fs::read(&sh.ca).expect("the test CA"));
        let port = emu
            .url
            .rsplit(':')
            .next()
            .expect("the emulator's port")
            .to_owned();
        let tmp = self.dir.join("port.tmp");
        fs::write(&tmp, port).expect("port file");
        fs::rename(&tmp, self.dir.join("port")).expect("port file");
        self.logs.push(emu.log.clone());
        self.emulator = Some(emu);
    }

    /// Stops the emulator: the guest's connections are closed at once.
    pub fn stop(&mut self) {
        let _ = fs::remove_file(self.dir.join("port"));
        self.emulator = None;
    }

    /// The running emulator.
    pub fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("the emulator runs")
    }

    /// Every log of every emulator started so far.
    pub fn log_text(&self) -> String {
        self.logs
            .iter()
            .map(|l| fs::read_to_string(l).unwrap_or_default())
            .collect()
    }

    /// How many registration requests for `dn` the platform answered.
    pub fn registrations(&self, dn: &str) -> usize {
        let needle = format!("emulator: register {} {dn}: ", crate::common::PK);
        self.log_text()
            .lines()
            .filter(|l| l.starts_with(&needle))
            .count()
    }

    /// How many connections the guest opened to the platform's address.
    pub fn connections(&self) -> usize {
        fs::read_to_string(self.dir.join("connections.log"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// The DeviceSecret the platform issued to `dn` and holds now.
    pub fn issued(&self, dn: &str) -> Option<String> {
        if !self.state.exists() {
            return None;
        }
        state_secrets(&self.state)
            .into_iter()
            .find(|(n, _)| n == dn)
            .map(|(_, ds)| ds)
    }

    /// QEMU's `-netdev` for a guest that reaches only this platform.
    pub fn netdev(&self) -> String {
        let forward = repo_root().join("tests/boot_common/forward.sh");
        format!(
            "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:443-cmd:sh {} {}",
            s(&forward),
            s(&self.dir)
        )
    }
}
