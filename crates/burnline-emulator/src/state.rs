//! What the emulated platform knows: products (from the products file) and,
//! per device, the DeviceSecret last issued to it, whether it is activated
//! and online, when it was last online and how many secrets it was issued;
//! per product, the dynamic-registration switch. A device the products
//! file creates with its DeviceSecret (一机一密) starts with that secret,
//! unactivated. With `--state FILE` every
//! change is written before it is answered (JSON, atomically: temp, fsync,
//! rename, fsync dir; mode 0600 since it holds the issued secrets), and a
//! restart picks it up again (a restart has no connection, so nobody is
//! online after it).
//!
//! The platform's activation rule: a device is *activated* at its first
//! accepted MQTT connect. Until then it may register again, each
//! registration replaces the secret, and only the latest one logs in. Once
//! activated, registration is refused (6289) until the device is deleted or
//! reset.
//!
//! State file:
//! ```json
//! {"version":2,
//!  "switches":{"a1X2bEnP82z":true},
//!  "devices":[{"product_key":"a1X2bEnP82z","device_name":"example1",
//!              "device_secret":"...","activated":true,"last_online":1700000000000,
//!              "secrets_issued":1}]}
//! ```
//! `devices` lists every device that was issued something or connected;
//! a 免预注册 device also has `"client_id"` and `"device_token"`, a device
//! the OpenAPI knows its `"iot_id"`, one ResetThing reopened
//! `"reopened":true`; `"deleted":[[PK, DN], …]` lists the devices
//! DeleteDevice removed, kept out if the products file lists them. A
//! version 1 file (activated devices with their secrets) is read as such.

use super::products::Product;
use crate::error::{Error, Result};
use burnline_core::secret::Secret;
use burnline_io::atomic;
use burnline_io::IoContext;
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
    /// Whether it has made its first accepted MQTT connect.
    pub activated: bool,
    /// Whether it holds an accepted MQTT connection now.
    pub online: bool,
    /// When it was last online (milliseconds since the epoch), if ever.
    pub last_online: Option<u64>,
    /// How many DeviceSecrets (or 免预注册 tokens) were issued to it.
    pub secrets_issued: u32,
    /// Disabled in the console (DisableThing): every login is refused.
    pub disabled: bool,
    /// The state as the platform names it: `DISABLE` when disabled, else
    /// `ONLINE` while connected, `UNACTIVE` before the first login,
    /// `OFFLINE` after it.
    pub status: &'static str,
}

/// The platform's name for a device's state (the console's and the
/// OpenAPI's `Status`).
fn status(d: &DeviceState) -> &'static str {
    if d.disabled {
        "DISABLE"
    } else if d.online {
        "ONLINE"
    } else if d.activated {
        "OFFLINE"
    } else {
        "UNACTIVE"
    }
}

fn view(pk: &str, dn: &str, d: &DeviceState) -> DeviceView {
    DeviceView {
        product_key: pk.to_owned(),
        device_name: dn.to_owned(),
        activated: d.activated,
        online: d.online,
        last_online: d.last_online,
        secrets_issued: d.secrets_issued,
        disabled: d.disabled,
        status: status(d),
    }
}

/// What a 免预注册 device logs in with instead of a DeviceSecret.
#[derive(Debug, Clone)]
pub struct Token {
    /// The `clientId` the platform gave it.
    pub client_id: String,
    /// The `deviceToken`, its MQTT password.
    pub token: Secret,
}

#[derive(Debug, Default)]
struct DeviceState {
    secret: Option<Secret>,
    token: Option<Token>,
    activated: bool,
    online: bool,
    last_online: Option<u64>,
    secrets_issued: u32,
    disabled: bool,
    /// ResetThing reopened registration of an activated device.
    reopened: bool,
    /// The OpenAPI's IotId (a new one each time the device is created).
    iot_id: Option<String>,
}

/// A product's state.
#[derive(Debug)]
pub struct ProductState {
    /// ProductSecret.
    pub product_secret: Secret,
    /// Dynamic registration switch.
    pub dynamic_registration: bool,
    /// 免预注册: devices not created beforehand may register (`regnwl`).
    pub register_without_precreate: bool,
    devices: BTreeMap<String, DeviceState>,
}

/// Everything the emulator knows.
#[derive(Debug)]
pub struct State {
    products: BTreeMap<String, ProductState>,
    /// Devices DeleteDevice removed, (ProductKey, DeviceName): kept out
    /// when the products file lists them again after a restart.
    deleted: std::collections::BTreeSet<(String, String)>,
    file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDevice {
    product_key: String,
    device_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
    /// Absent in version 1, where every listed device was activated.
    #[serde(default)]
    activated: Option<bool>,
    /// Version 1's `online`; ignored (nobody is online after a restart).
    #[serde(default, skip_serializing, rename = "online")]
    _online: serde::de::IgnoredAny,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_online: Option<u64>,
    #[serde(default)]
    secrets_issued: Option<u32>,
    /// Disabled in the console; absent when not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
    /// Registration reopened by ResetThing; absent when not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reopened: bool,
    /// The OpenAPI's IotId, once one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iot_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileState {
    version: u32,
    switches: BTreeMap<String, bool>,
    devices: Vec<FileDevice>,
    /// Devices DeleteDevice removed; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deleted: Vec<(String, String)>,
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

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl State {
    /// The state of `products`, with the state file's content if it exists.
    pub fn load(products: Vec<Product>, file: Option<&Path>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for p in products {
            let devices = p
                .devices
                .into_iter()
                .map(|d| {
                    // Created with a secret (一机一密): as the console's
                    // batch creation, it was issued one.
                    let secrets_issued = u32::from(d.device_secret.is_some());
                    let state = DeviceState {
                        secret: d.device_secret,
                        secrets_issued,
                        ..DeviceState::default()
                    };
                    (d.device_name, state)
                })
                .collect();
            map.insert(
                p.product_key,
                ProductState {
                    product_secret: p.product_secret,
                    dynamic_registration: p.dynamic_registration,
                    register_without_precreate: p.register_without_precreate,
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
            deleted: std::collections::BTreeSet::new(),
            file: file.clone(),
        };
        if let Some(path) = &file {
            if path.exists() {
                state.restore(path)?;
            }
        }
        // Written at once: a state file that cannot be written fails now,
        // not at the first registration.
        state.save()?;
        Ok(state)
    }

    fn restore(&mut self, path: &Path) -> Result<()> {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).at("reading the state file", path)?);
        let bad = || Error::invalid(path.display().to_string(), "", "not an emulator state file");
        let saved: FileState = serde_json::from_str(&text).map_err(|_| bad())?;
        if saved.version != 1 && saved.version != 2 {
            return Err(Error::invalid(
                path.display().to_string(),
                "version",
                "must be 1 or 2",
            ));
        }
        for (pk, on) in saved.switches {
            if let Some(p) = self.products.get_mut(&pk) {
                p.dynamic_registration = on;
            }
        }
        for (pk, dn) in saved.deleted {
            if let Some(p) = self.products.get_mut(&pk) {
                p.devices.remove(&dn);
            }
            self.deleted.insert((pk, dn));
        }
        for d in saved.devices {
            let Some(p) = self.products.get_mut(&d.product_key) else {
                continue;
            };
            let dev = p.devices.entry(d.device_name).or_default();
            let had_secret = d.device_secret.is_some();
            dev.secret = d.device_secret.map(Secret::new);
            dev.token = match (d.client_id, d.device_token) {
                (Some(client_id), Some(token)) => Some(Token {
                    client_id,
                    token: Secret::new(token),
                }),
                _ => None,
            };
            // Version 1 listed activated devices only.
            dev.activated = d.activated.unwrap_or(had_secret);
            dev.last_online = d.last_online;
            dev.secrets_issued = d.secrets_issued.unwrap_or(u32::from(had_secret));
            dev.disabled = d.disabled;
            dev.reopened = d.reopened;
            dev.iot_id = d.iot_id;
        }
        Ok(())
    }

    /// A product.
    pub fn product(&self, pk: &str) -> Option<&ProductState> {
        self.products.get(pk)
    }

    fn device_mut(&mut self, pk: &str, dn: &str) -> Option<&mut DeviceState> {
        self.products.get_mut(pk)?.devices.get_mut(dn)
    }

    /// Whether registration (of any kind) may go on for this device.
    fn may_register(
        &self,
        pk: &str,
        dn: &str,
        precreated: bool,
    ) -> std::result::Result<(), Refusal> {
        let p = self.products.get(pk).ok_or(Refusal::ProductNotFound)?;
        let switched_on = if precreated {
            p.dynamic_registration
        } else {
            p.register_without_precreate
        };
        if !switched_on {
            return Err(Refusal::SwitchedOff);
        }
        match p.devices.get(dn) {
            None if precreated => Err(Refusal::DeviceNotFound),
            Some(d) if d.activated && !d.reopened => Err(Refusal::AlreadyActivated),
            _ => Ok(()),
        }
    }

    /// Issues `secret` to a pre-created device if it may register (it is not
    /// activated yet; an older secret is replaced), and saves.
    pub fn register(
        &mut self,
        pk: &str,
        dn: &str,
        secret: Secret,
    ) -> Result<std::result::Result<(), Refusal>> {
        if let Err(r) = self.may_register(pk, dn, true) {
            return Ok(Err(r));
        }
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(Err(Refusal::DeviceNotFound));
        };
        let before = (d.secret.replace(secret), d.secrets_issued, d.reopened);
        d.secrets_issued = d.secrets_issued.saturating_add(1);
        d.reopened = false;
        if let Err(e) = self.save() {
            // Not saved, not issued: the answer will be an error.
            if let Some(d) = self.device_mut(pk, dn) {
                (d.secret, d.secrets_issued, d.reopened) = before;
            }
            return Err(e);
        }
        Ok(Ok(()))
    }

    /// 免预注册 (`authType=regnwl`): issues a login token to a device that
    /// need not exist beforehand (it is created), and saves.
    pub fn register_without_precreate(
        &mut self,
        pk: &str,
        dn: &str,
        token: Token,
    ) -> Result<std::result::Result<(), Refusal>> {
        if let Err(r) = self.may_register(pk, dn, false) {
            return Ok(Err(r));
        }
        let Some(p) = self.products.get_mut(pk) else {
            return Ok(Err(Refusal::ProductNotFound));
        };
        let existed = p.devices.contains_key(dn);
        let d = p.devices.entry(dn.to_owned()).or_default();
        let before = (d.token.replace(token), d.secrets_issued);
        d.secrets_issued = d.secrets_issued.saturating_add(1);
        if let Err(e) = self.save() {
            if let Some(p) = self.products.get_mut(pk) {
                if existed {
                    if let Some(d) = p.devices.get_mut(dn) {
                        (d.token, d.secrets_issued) = before;
                    }
                } else {
                    p.devices.remove(dn);
                }
            }
            return Err(e);
        }
        Ok(Ok(()))
    }

    /// The secret last issued to a device.
    pub fn device_secret(&self, pk: &str, dn: &str) -> Option<&Secret> {
        self.products.get(pk)?.devices.get(dn)?.secret.as_ref()
    }

    /// The 免预注册 token issued to a device.
    pub fn device_token(&self, pk: &str, dn: &str) -> Option<&Token> {
        self.products.get(pk)?.devices.get(dn)?.token.as_ref()
    }

    /// An accepted MQTT connect: the device is activated (if it was not) and
    /// online; saved. `false` if there is no such device.
    pub fn connected(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        d.activated = true;
        d.online = true;
        d.last_online = Some(now_ms());
        self.save()?;
        Ok(true)
    }

    /// The device's connection ended: offline, last seen now; saved.
    pub fn disconnected(&mut self, pk: &str, dn: &str) -> Result<()> {
        if let Some(d) = self.device_mut(pk, dn) {
            d.online = false;
            d.last_online = Some(now_ms());
            self.save()?;
        }
        Ok(())
    }

    /// The console's delete (and re-create under the same name): the device
    /// forgets its secret, activation and history and may register again.
    /// `false` if there is no such device.
    pub fn delete_device(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        *d = DeviceState::default();
        self.save()?;
        Ok(true)
    }

    /// The console's reset (ResetThing): the device is no longer activated
    /// and may register again; its history is kept. `false` if there is no
    /// such device.
    pub fn reset_device(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        d.activated = false;
        d.online = false;
        self.save()?;
        Ok(true)
    }

    /// The OpenAPI's CreateDevice (BatchRegisterDeviceWithApplyId): a new
    /// device with `secret` (一机一密), unactivated, with IotId `iot_id`;
    /// saved. `false` (nothing changed) if the product does not exist or
    /// the name is taken.
    pub fn create_device(
        &mut self,
        pk: &str,
        dn: &str,
        secret: Secret,
        iot_id: String,
    ) -> Result<bool> {
        let Some(p) = self.products.get_mut(pk) else {
            return Ok(false);
        };
        if p.devices.contains_key(dn) {
            return Ok(false);
        }
        let d = DeviceState {
            secret: Some(secret),
            secrets_issued: 1,
            iot_id: Some(iot_id),
            ..DeviceState::default()
        };
        p.devices.insert(dn.to_owned(), d);
        let key = (pk.to_owned(), dn.to_owned());
        let was_deleted = self.deleted.remove(&key);
        if let Err(e) = self.save() {
            if let Some(p) = self.products.get_mut(pk) {
                p.devices.remove(dn);
            }
            if was_deleted {
                self.deleted.insert(key);
            }
            return Err(e);
        }
        Ok(true)
    }

    /// The OpenAPI's DeleteDevice: the device is gone for good (its name may
    /// be created again); saved. `false` if there is no such device.
    pub fn remove_device(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self.products.get_mut(pk).and_then(|p| p.devices.remove(dn)) else {
            return Ok(false);
        };
        let key = (pk.to_owned(), dn.to_owned());
        self.deleted.insert(key.clone());
        if let Err(e) = self.save() {
            self.deleted.remove(&key);
            if let Some(p) = self.products.get_mut(pk) {
                p.devices.insert(dn.to_owned(), d);
            }
            return Err(e);
        }
        Ok(true)
    }

    /// The OpenAPI's ResetThing: an activated device may register again
    /// (once); its activation, secret and connection are kept; saved.
    /// `false` if there is no such device.
    pub fn reopen_registration(&mut self, pk: &str, dn: &str) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        let before = std::mem::replace(&mut d.reopened, true);
        if let Err(e) = self.save() {
            if let Some(d) = self.device_mut(pk, dn) {
                d.reopened = before;
            }
            return Err(e);
        }
        Ok(true)
    }

    /// The device's IotId, if it was given one.
    pub fn iot_id(&self, pk: &str, dn: &str) -> Option<&str> {
        self.products.get(pk)?.devices.get(dn)?.iot_id.as_deref()
    }

    /// Gives a device that has no IotId yet (one of the products file, or
    /// one a registration created) `fresh`, and saves. `false` if there
    /// is no such device.
    pub fn give_iot_id(&mut self, pk: &str, dn: &str, fresh: String) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        if d.iot_id.is_none() {
            d.iot_id = Some(fresh);
            if let Err(e) = self.save() {
                if let Some(d) = self.device_mut(pk, dn) {
                    d.iot_id = None;
                }
                return Err(e);
            }
        }
        Ok(true)
    }

    /// The device (ProductKey, DeviceName) whose IotId is `iot_id`.
    pub fn by_iot_id(&self, iot_id: &str) -> Option<(String, String)> {
        self.products.iter().find_map(|(pk, p)| {
            p.devices
                .iter()
                .find(|(_, d)| d.iot_id.as_deref() == Some(iot_id))
                .map(|(dn, _)| (pk.clone(), dn.clone()))
        })
    }

    /// One device as the admin API lists it.
    pub fn view(&self, pk: &str, dn: &str) -> Option<DeviceView> {
        let d = self.products.get(pk)?.devices.get(dn)?;
        Some(view(pk, dn, d))
    }

    /// Whether the device is disabled in the console.
    pub fn is_disabled(&self, pk: &str, dn: &str) -> bool {
        self.products
            .get(pk)
            .and_then(|p| p.devices.get(dn))
            .is_some_and(|d| d.disabled)
    }

    /// The console's DisableThing / EnableThing; saved. `false` if there is
    /// no such device.
    pub fn set_enabled(&mut self, pk: &str, dn: &str, enabled: bool) -> Result<bool> {
        let Some(d) = self.device_mut(pk, dn) else {
            return Ok(false);
        };
        d.disabled = !enabled;
        if !enabled {
            d.online = false;
        }
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
            .flat_map(|(pk, p)| p.devices.iter().map(move |(dn, d)| view(pk, dn, d)))
            .collect()
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let doc = FileState {
            version: 2,
            deleted: self.deleted.iter().cloned().collect(),
            switches: self
                .products
                .iter()
                .map(|(pk, p)| (pk.clone(), p.dynamic_registration))
                .collect(),
            devices: self
                .products
                .iter()
                .flat_map(|(pk, p)| {
                    p.devices
                        .iter()
                        .filter(|(_, d)| {
                            d.secret.is_some()
                                || d.token.is_some()
                                || d.activated
                                || d.last_online.is_some()
                                || d.secrets_issued > 0
                                || d.iot_id.is_some()
                        })
                        .map(move |(dn, d)| FileDevice {
                            product_key: pk.clone(),
                            device_name: dn.clone(),
                            device_secret: d.secret.as_ref().map(|s| s.expose().to_owned()),
                            client_id: d.token.as_ref().map(|t| t.client_id.clone()),
                            device_token: d.token.as_ref().map(|t| t.token.expose().to_owned()),
                            activated: Some(d.activated),
                            _online: serde::de::IgnoredAny,
                            last_online: d.last_online,
                            secrets_issued: Some(d.secrets_issued),
                            disabled: d.disabled,
                            reopened: d.reopened,
                            iot_id: d.iot_id.clone(),
                        })
                })
                .collect(),
        };
        let bytes = Zeroizing::new(serde_json::to_vec_pretty(&doc).map_err(|e| {
            Error::Io(burnline_io::Error {
                context: format!("encoding {}", path.display()),
                source: e.into(),
            })
        })?);
        for d in doc.devices {
            drop(d.device_secret.map(Zeroizing::new));
            drop(d.device_token.map(Zeroizing::new));
        }
        Ok(atomic::write_file(path, &bytes)?)
    }
}
