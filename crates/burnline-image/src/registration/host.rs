//! Host-side registration for `build` (recipe `auth: { mode: product-secret,
//! register: host }`): before a batch of devices is built, each device's
//! DeviceSecret is taken from the ledger or, if the ledger lacks it, obtained
//! from the platform (a few devices at a time) and appended to the ledger
//! before anything else uses it. The device then carries the full triple;
//! the ProductSecret is dropped unless `keep_product_secret`. A device the
//! platform refuses fails alone; the others go on.

use super::registrations_log::Ledger;
use crate::device_csv::reader::DeviceRow;
use crate::error::{Error, Result};
use crate::recipe::{AuthMode, Recipe, RegisterAt};
use burnline_core::credentials::payload::Credentials;
use burnline_core::registration::client::{Client, ClientOptions};
use burnline_core::registration::endpoint::Endpoint;
use burnline_core::registration::sign::SignMethod;
use burnline_core::secret::Secret;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Registrations in flight at once, at most.
pub const MAX_WORKERS: usize = 4;

/// Resolves each device's credentials, registering on the host when the
/// recipe asks for it; otherwise it passes the credentials through.
pub struct HostRegistrar {
    inner: Option<Inner>,
}

struct Inner {
    client: Client,
    ledger: Mutex<Ledger>,
    product_secret: Secret,
    workers: usize,
}

impl HostRegistrar {
    /// Sets up registration for `recipe` into the ledger in `out`; a no-op
    /// registrar unless the recipe says `register: host`.
    pub fn for_recipe(
        recipe: &Recipe,
        out: &Path,
        ca_file: Option<&Path>,
        workers: usize,
    ) -> Result<Self> {
        let Some(direct) = DirectRegistrar::for_recipe(recipe, ca_file)? else {
            return Ok(HostRegistrar::pass_through());
        };
        Ok(HostRegistrar {
            inner: Some(Inner {
                client: direct.client,
                ledger: Mutex::new(Ledger::open(out)?),
                product_secret: direct.product_secret,
                workers: workers.clamp(1, MAX_WORKERS),
            }),
        })
    }

    /// A registrar that registers nothing: each device's credentials pass
    /// through as the row and recipe give them.
    pub fn pass_through() -> Self {
        HostRegistrar { inner: None }
    }

    /// Each row's credentials, in row order: `plain(row)` completed with its
    /// DeviceSecret when registering on the host.
    pub fn credentials<F>(&self, rows: &[DeviceRow], plain: F) -> Vec<Result<Credentials>>
    where
        F: Fn(&DeviceRow) -> Credentials + Sync,
    {
        let Some(inner) = &self.inner else {
            return rows.iter().map(|r| Ok(plain(r))).collect();
        };
        let slots: Vec<Mutex<Option<Result<Credentials>>>> =
            rows.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..inner.workers.min(rows.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(row) = rows.get(i) else { break };
                    let result = inner.resolve(plain(row));
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(result);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Err(Error::Usage("registration worker stopped".into())))
            })
            .collect()
    }
}

impl Inner {
    fn resolve(&self, mut creds: Credentials) -> Result<Credentials> {
        let held = self
            .lock()?
            .get(&creds.product_key, &creds.device_name)
            .cloned();
        let secret = match held {
            Some(s) => s,
            None => {
                let reg = self.client.register(
                    &creds.product_key,
                    &creds.device_name,
                    &self.product_secret,
                    SignMethod::HmacSha256,
                )?;
                self.lock()?
                    .append(&reg.product_key, &reg.device_name, &reg.device_secret)?;
                reg.device_secret
            }
        };
        creds.device_secret = Some(secret);
        if !creds.keep_product_secret {
            creds.product_secret = None;
        }
        Ok(creds)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Ledger>> {
        self.ledger
            .lock()
            .map_err(|_| Error::Usage("the registration ledger lock is poisoned".into()))
    }
}

/// The platform's code when `e` refuses the whole product rather than
/// one device: 6250 (no such product), 6288 (dynamic registration switched
/// off), 6292 (sign method not supported), 6600 (signature rejected: a wrong
/// ProductSecret). Every device of the product would get the same answer.
pub fn product_refusal(e: &Error) -> Option<i64> {
    match e {
        Error::Registration(r) => r
            .platform_code()
            .filter(|c| matches!(c, 6250 | 6288 | 6292 | 6600)),
        _ => None,
    }
}

/// Registration without a ledger, for a caller that records the issued
/// secret itself before using it (the identity pool stores it, encrypted,
/// in the lease's own transaction).
pub struct DirectRegistrar {
    client: Client,
    product_secret: Secret,
}

impl DirectRegistrar {
    /// The registrar for `recipe`, or `None` unless it says `register: host`
    /// (then `--ca-file` is refused).
    pub fn for_recipe(recipe: &Recipe, ca_file: Option<&Path>) -> Result<Option<Self>> {
        let AuthMode::ProductSecret {
            product_secret,
            register: RegisterAt::Host,
        } = &recipe.auth.mode
        else {
            if ca_file.is_some() {
                return Err(Error::Usage(
                    "--ca-file is for `auth.register: host` recipes only".into(),
                ));
            }
            return Ok(None);
        };
        let endpoint = Endpoint::resolve(
            recipe.auth.endpoint.as_deref(),
            recipe.auth.region.as_deref(),
        )
        .map_err(|e| Error::Invalid(vec![recipe.problem("auth.endpoint", e.to_string())]))?;
        let ca_pem = match ca_file {
            Some(p) => Some(
                std::fs::read(p)
                    .map_err(|e| Error::Usage(format!("--ca-file {}: {e}", p.display())))?,
            ),
            None => None,
        };
        let client = Client::new(
            endpoint,
            ClientOptions {
                ca_pem,
                ..ClientOptions::default()
            },
        )
        .map_err(|e| Error::Usage(format!("--ca-file: {e}")))?;
        Ok(Some(DirectRegistrar {
            client,
            product_secret: product_secret.clone(),
        }))
    }

    /// Registers one device; its issued DeviceSecret.
    pub fn register(&self, product_key: &str, device_name: &str) -> Result<Secret> {
        Ok(self
            .client
            .register(
                product_key,
                device_name,
                &self.product_secret,
                SignMethod::HmacSha256,
            )?
            .device_secret)
    }
}
