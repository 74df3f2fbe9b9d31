//! The platform as the guest sees it. QEMU's user network, with
//! `restrict=on`, forwards one address, 10.0.2.100, on two ports (443 for
//! HTTPS registration, 8883 for the MQTT login) to `forward.sh`, which logs
//! each connection and hands it to the emulator's listener now running on
//! 127.0.0.1 (its port is in a file), or closes it when none runs. The
//! emulator serves TLS with the shared test CA and keeps a state file, so it
//! can be stopped and started again, with other options, while a guest
//! runs.

use super::shared::shared;
use crate::common::emulator::{state_secrets, write_products};
use crate::common::mqtt::{Listed, MqttEmulator};
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
    emulator: Option<MqttEmulator>,
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
        let mut args = vec!["--state", s(&self.state)];
        args.extend_from_slice(extra);
        let emu = MqttEmulator::start(
            &self.dir,
            &self.products,
            Some((&sh.leaf, &sh.key, &sh.ca)),
            &args,
        );
        let https = emu.url.rsplit(':').next().expect("the HTTPS port");
        let mqtts = emu.mqtts.as_deref().expect("the MQTT TLS listener");
        let mqtts = mqtts.rsplit(':').next().expect("the MQTT TLS port");
        for (name, port) in [("https", https), ("mqtts", mqtts)] {
            let tmp = self.dir.join(format!("port-{name}.tmp"));
            fs::write(&tmp, port).expect("port file");
            fs::rename(&tmp, self.dir.join(format!("port-{name}"))).expect("port file");
        }
        self.logs.push(emu.log.clone());
        self.emulator = Some(emu);
    }

    /// Stops the emulator: the guest's connections are closed at once.
    pub fn stop(&mut self) {
        for name in ["https", "mqtts"] {
            let _ = fs::remove_file(self.dir.join(format!("port-{name}")));
        }
        self.emulator = None;
    }

    /// The running emulator.
    pub fn emulator(&self) -> &MqttEmulator {
        self.emulator.as_ref().expect("the emulator runs")
    }

    /// The running emulator's view of `dn` (`GET /admin/devices`).
    pub fn device(&self, dn: &str) -> Listed {
        self.emulator().device(dn)
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
        let to = |port: u16, name: &str| {
            format!(
                "guestfwd=tcp:10.0.2.100:{port}-cmd:sh {} {} {name}",
                s(&forward),
                s(&self.dir)
            )
        };
        format!(
            "user,id=n0,restrict=on,{},{}",
            to(443, "https"),
            to(8883, "mqtts")
        )
    }
}
