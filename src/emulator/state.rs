//! What the emulated platform knows: products (from the products file) and,
//! per device, whether it is activated (with the DeviceSecret issued to it)
//! and online; per product, the dynamic-registration switch. With
//! `--state FILE` every change is written before it is answered (JSON,
//! atomically: temp, fsync, rename, fsync dir; mode 0600 since it holds the
//! issued secrets), and a restart picks it up again.
//!
//! State file:
//! ```json
//! {"version":1,
//!  "switches":{"a1X2bEnP82z":true},
//!  "devices":[{"product_key":"a1X2bEnP82z","device_name":"example1",
//!              "device_secret":"...","online":false}]}
//! ```
//! `devices` lists the activated devices only.

use super::products::Product;
use crate::error::{Error, IoContext, Result};
use crate::io::atomic;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A device as the admin API lists it (never with its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceView {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// Whether a DeviceSecret was issued.
    pub activated: bool,
    /// Whether it authenticated since.
    pub online: bool,
}

#[derive(Debug, Default)]
struct DeviceState {
    secret: Option<Secret>,
    online: bool,
}

/// A product's state.
#[derive(Debug)]
pub struct ProductState {
    /// ProductSecret.
    pub product_secret: Secret,
    /// Dynamic registration switch.
    pub dynamic_registration: bool,
    devices: BTreeMap<String, DeviceState>,
}

/// Everything the emulator knows.
#[derive(Debug)]
pub struct State {
    products: BTreeMap<String, ProductState>,
    file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDevice {
    product_key: String,
    device_name: String,
    device_secret: String,
    #[serde(default)]
    online: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileState {
    version: u32,
    switches: BTreeMap<String, bool>,
    devices: Vec<FileDevice>,
}

/// Why a registration was refused, with the platform's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 6250.
    ProductNotFound,
    /// 6288.
    SwitchedOff,
    /// 6100 (emulator's choice; the platform's code is not confirmed).
    DeviceNotFound,
    /// 6289.
    AlreadyActivated,
}

impl State {
    /// The state of `products`, with the state file's content if it exists.
    pub fn load(products: Vec<Product>, file: Option<&Path>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for p in products {
            let devices = p
                .devices
                .into_iter()
                .map(|d| (d, DeviceState::default()))
                .collect();
            map.insert(
                p.product_key,
                ProductState {
                    product_secret: p.product_secret,
                    dynamic_registration: p.dynamic_registration,
                    devices,
                },
            );
        }
        // Absolute, so that the directory to sync is never the empty path.
        let file = match file {
            Some(f) => Some(std::path::absolute(f).at("resolving", f)?),
            None => None,
        };
        let mut state = State {
            products: map,
            file: file.clone(),
        };
        if let Some(path) = &file {
            if path.exists() {
                let text = Zeroizing::new(
                    std::fs::read_to_string(path).at("reading the state file", path)?,
                );
                let saved: FileState = serde_json::from_str(&text).map_err(|_| {
                    Error::invalid(path.display().to_string(), "", "not an emulator state file")
                })?;
                for (pk, on) in saved.switches {
                    if let Some(p) = state.products.get_mut(&pk) {
                        p.dynamic_registration = on;
                    }
                }
                for d in saved.devices {
                    if let Some(p) = state.products.get_mut(&d.product_key) {
                        let dev = p.devices.entry(d.device_name).or_default();
                        dev.secret = Some(Secret::new(d.device_secret));
                        dev.online = d.online;
                    }
                }
            }
        }
        // Written at once: a state file that cannot be written fails now,
        // not at the first registration.
        state.save()?;
        Ok(state)
    }

    /// A product.
    pub fn product(&self, pk: &str) -> Option<&ProductState> {
        self.products.get(pk)
    }

    /// Issues `secret` to a device, if it may register, and saves.
    pub fn activate(
        &mut self,
        pk: &str,
        dn: &str,
        secret: Secret,
    ) -> Result<std::result::Result<(), Refusal>> {
        let Some(p) = self.products.get_mut(pk) else {
            return Ok(Err(Refusal::ProductNotFound));
        };
        if !p.dynamic_registration {
            return Ok(Err(Refusal::SwitchedOff));
        }
        let Some(d) = p.devices.get_mut(dn) else {
            return Ok(Err(Refusal::DeviceNotFound));
        };
        if d.secret.is_some() {
            return Ok(Err(Refusal::AlreadyActivated));
        }
        d.secret = Some(secret);
        if let Err(e) = self.save() {
            // Not saved, not issued: the answer will be an error.
            if let Some(d) = self
                .products
                .get_mut(pk)
                .and_then(|p| p.devices.get_mut(dn))
            {
                d.secret = None;
            }
            return Err(e);
        }
        Ok(Ok(()))
    }

    /// The secret issued to a device.
    pub fn device_secret(&self, pk: &str, dn: &str) -> Option<&Secret> {
        self.products.get(pk)?.devices.get(dn)?.secret.as_ref()
    }

    /// Marks an activated device online and saves.
    pub fn set_online(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self
            .products
            .get_mut(pk)
            .and_then(|p| p.devices.get_mut(dn))
        else {
            return Ok(false);
        };
        if d.secret.is_none() {
            return Ok(false);
        }
        d.online = true;
        self.save()?;
        Ok(true)
    }

    /// The console's delete: the device forgets its secret and may register
    /// again. `false` if there is no such device.
    pub fn reset_device(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self
            .products
            .get_mut(pk)
            .and_then(|p| p.devices.get_mut(dn))
        else {
            return Ok(false);
        };
        *d = DeviceState::default();
        self.save()?;
        Ok(true)
    }

    /// Sets a product's switch; `false` if there is no such product.
    pub fn set_switch(&mut self, pk: &str, on: bool) -> Result<bool> {
        let Some(p) = self.products.get_mut(pk) else {
            return Ok(false);
        };
        p.dynamic_registration = on;
        self.save()?;
        Ok(true)
    }

    /// Every device, for the admin API.
    pub fn list(&self) -> Vec<DeviceView> {
        self.products
            .iter()
            .flat_map(|(pk, p)| {
                p.devices.iter().map(move |(dn, d)| DeviceView {
                    product_key: pk.clone(),
                    device_name: dn.clone(),
                    activated: d.secret.is_some(),
                    online: d.online,
                })
            })
            .collect()
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let doc = FileState {
            version: 1,
            switches: self
                .products
                .iter()
                .map(|(pk, p)| (pk.clone(), p.dynamic_registration))
                .collect(),
            devices: self
                .products
                .iter()
                .flat_map(|(pk, p)| {
                    p.devices.iter().filter_map(move |(dn, d)| {
                        d.secret.as_ref().map(|s| FileDevice {
                            product_key: pk.clone(),
                            device_name: dn.clone(),
                            device_secret: s.expose().to_owned(),
                            online: d.online,
                        })
                    })
                })
                .collect(),
        };
        let bytes = Zeroizing::new(serde_json::to_vec_pretty(&doc).map_err(|e| Error::Io {
            context: format!("encoding {}", path.display()),
            source: e.into(),
        })?);
        for d in doc.devices {
            drop(Zeroizing::new(d.device_secret));
        }
        atomic::write_file(path, &bytes)
    }
}
