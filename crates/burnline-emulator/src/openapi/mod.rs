//! The emulator's Alibaba Cloud OpenAPI listener (`--openapi ADDR`):
//! product `Iot`, version `2018-01-20`, RPC style over plain HTTP, so that
//! Alibaba's own SDKs (and `burnline platform`) can be pointed at it.
//! [`server`] takes the requests, [`request`] decodes them, [`verify`]
//! is the gateway (AccessKeys from the products file's `access_keys`,
//! signatures V3 and V1, timestamp and nonce), [`apis`] answers the
//! device APIs over the emulator's own state (the devices created are
//! real emulator devices that can log in over MQTT), [`applies`] keeps the
//! batch applications, [`envelope`] shapes the answers, and [`choices`]
//! holds what the emulator chose where the sources are silent.
//!
//! The log names the API, the AccessKey ID and the outcome (`Success` or
//! the `Code`), never a parameter, a body or a secret.

pub mod apis;
pub mod applies;
pub mod choices;
pub mod envelope;
pub mod request;
pub mod server;
pub mod verify;

use super::api::Api;
use super::products::AccessKey;
use applies::Applies;
use burnline_io::say;
use envelope::Reply;
use request::Call;
use std::sync::{Arc, Mutex};
use verify::Gate;

/// The OpenAPI over the emulated platform.
#[derive(Debug)]
pub struct OpenApi {
    /// The platform: state and MQTT sessions.
    pub api: Arc<Api>,
    gate: Gate,
    applies: Mutex<Applies>,
}

impl OpenApi {
    /// The OpenAPI of `api`, taking `keys`.
    pub fn new(api: Arc<Api>, keys: Vec<AccessKey>) -> Self {
        OpenApi {
            api,
            gate: Gate::new(keys),
            applies: Mutex::new(Applies::new(now_secs())),
        }
    }

    /// The batch applications, locked.
    pub fn applies(&self) -> std::sync::MutexGuard<'_, Applies> {
        // Every change is one insert or assignment: a poisoned lock holds
        // consistent data.
        self.applies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers one request.
    pub fn answer(&self, call: &Call) -> Reply {
        let request_id = envelope::request_id();
        let host_id = call.header("host").unwrap_or(choices::DEFAULT_HOST_ID);
        let verified = match self.gate.check(call, now_secs()) {
            Ok(v) => v,
            Err(r) => {
                say!("emulator: openapi: refused: {} ({})", r.code, r.status);
                return envelope::refusal(r.status, &request_id, host_id, r.code, &r.message);
            }
        };
        let (action, ak) = (verified.action.as_str(), verified.access_key_id.as_str());
        let Some(outcome) = apis::dispatch(self, action, call) else {
            say!("emulator: openapi {action} by {ak}: InvalidApi.NotFound (404)");
            return envelope::refusal(
                404,
                &request_id,
                host_id,
                "InvalidApi.NotFound",
                "Specified api is not found, please check your url and method.",
            );
        };
        match outcome {
            Ok(payload) => {
                say!("emulator: openapi {action} by {ak}: Success");
                envelope::success(&request_id, payload)
            }
            Err(f) => {
                say!("emulator: openapi {action} by {ak}: {}", f.code);
                envelope::failure(&request_id, f.code, &f.message)
            }
        }
    }
}

/// Seconds since the epoch, now.
fn now_secs() -> i64 {
    i64::try_from(super::state::now_ms() / 1000).unwrap_or(i64::MAX)
}
