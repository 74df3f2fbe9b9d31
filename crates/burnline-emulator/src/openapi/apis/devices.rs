//! Single devices: BatchGetDeviceState (the console's 在线 column, at most
//! [`MAX_PAGE`] devices a call, by `ProductKey` + `DeviceName.N` or by
//! `IotId.N`; devices the platform does not have are left out),
//! ResetThing (reopens dynamic registration of an activated device without
//! touching its activation, secret or connection) and DeleteDevice (the
//! device is gone for good: its connection is closed, its certificate no
//! longer logs in, its name may be created again with a new IotId).
//! A device is named by `IotId` or by `ProductKey` + `DeviceName`.
//! `Status` comes from the MQTT side: `UNACTIVE` until the first accepted
//! login, `ONLINE` while connected, `OFFLINE` after a disconnect or a kick,
//! `DISABLE` when disabled.

use super::{fail, new_iot_id, no_product, object, product_key, Fail, Outcome};
use crate::openapi::choices::{MAX_PAGE, TOO_MANY_DEVICES_CODE};
use crate::openapi::request::Call;
use crate::openapi::OpenApi;
use crate::state::State;
use burnline_io::say;
use serde_json::{json, Value};

fn saving(e: &crate::error::Error) -> Fail {
    say!("emulator: openapi: the state could not be saved: {e}");
    fail(
        "iot.system.SystemException",
        "The state could not be saved.",
    )
}

fn no_device() -> Fail {
    fail("iot.device.NotExistedDevice", "The device does not exist.")
}

/// The device's IotId, given now if it had none.
fn iot_id_of(state: &mut State, pk: &str, dn: &str) -> Result<String, Fail> {
    if let Some(id) = state.iot_id(pk, dn) {
        return Ok(id.to_owned());
    }
    let fresh = new_iot_id()?;
    match state.give_iot_id(pk, dn, fresh.clone()) {
        Ok(true) => Ok(fresh),
        Ok(false) => Err(no_device()),
        Err(e) => Err(saving(&e)),
    }
}

/// The device a call names: `IotId`, else `ProductKey` + `DeviceName`.
fn target(state: &State, call: &Call) -> Result<(String, String), Fail> {
    if let Some(id) = call.param("IotId").filter(|s| !s.is_empty()) {
        return state.by_iot_id(id).ok_or_else(no_device);
    }
    let pk = product_key(call)?;
    let dn = match call.param("DeviceName") {
        Some(dn) if !dn.is_empty() => dn,
        _ => {
            return Err(fail(
                "iot.device.NullDeviceName",
                "The DeviceName is not specified.",
            ))
        }
    };
    if state.product(pk).is_none() {
        return Err(no_product(pk));
    }
    state
        .view(pk, dn)
        .map(|_| (pk.to_owned(), dn.to_owned()))
        .ok_or_else(no_device)
}

/// `2020-01-17 16:19:11` (UTC) of milliseconds since the epoch.
fn time_text(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    burnline_core::openapi::timestamp::format(secs)
        .replace('T', " ")
        .replace('Z', "")
}

/// BatchGetDeviceState.
pub fn states(openapi: &OpenApi, call: &Call) -> Outcome {
    let mut state = openapi.api.state();
    let by_id = call.list("IotId", None);
    let devices: Vec<(String, String)> = if by_id.is_empty() {
        let pk = product_key(call)?;
        let names = call.list("DeviceName", None);
        if names.is_empty() {
            return Err(fail(
                "iot.device.NullDeviceName",
                "No DeviceName is specified.",
            ));
        }
        if names.len() > MAX_PAGE {
            return Err(fail(
                TOO_MANY_DEVICES_CODE,
                format!("At most {MAX_PAGE} devices a call."),
            ));
        }
        if state.product(pk).is_none() {
            return Err(no_product(pk));
        }
        names.into_iter().map(|dn| (pk.to_owned(), dn)).collect()
    } else {
        if by_id.len() > MAX_PAGE {
            return Err(fail(
                TOO_MANY_DEVICES_CODE,
                format!("At most {MAX_PAGE} devices a call."),
            ));
        }
        by_id.iter().filter_map(|id| state.by_iot_id(id)).collect()
    };
    let mut list = Vec::new();
    for (pk, dn) in devices {
        let Some(view) = state.view(&pk, &dn) else {
            continue;
        };
        let iot_id = iot_id_of(&mut state, &pk, &dn)?;
        list.push(json!({
            "IotId": iot_id,
            "DeviceName": dn,
            "DeviceId": iot_id,
            "Status": view.status,
            "AsAddress": "",
            "LastOnlineTime": view.last_online.map(time_text).unwrap_or_default(),
            "Timestamp": view.last_online.unwrap_or(0),
        }));
    }
    Ok(object([(
        "DeviceStatusList",
        json!({"DeviceStatus": Value::Array(list)}),
    )]))
}

/// ResetThing.
pub fn reset(openapi: &OpenApi, call: &Call) -> Outcome {
    let mut state = openapi.api.state();
    let (pk, dn) = target(&state, call)?;
    match state.reopen_registration(&pk, &dn) {
        Ok(true) => {
            say!("emulator: openapi: reset {pk} {dn}: it may register again");
            Ok(object([]))
        }
        Ok(false) => Err(no_device()),
        Err(e) => Err(saving(&e)),
    }
}

/// DeleteDevice.
pub fn delete(openapi: &OpenApi, call: &Call) -> Outcome {
    let mut state = openapi.api.state();
    let (pk, dn) = target(&state, call)?;
    match state.remove_device(&pk, &dn) {
        Ok(true) => {
            drop(state);
            openapi.api.sessions.kick(&pk, &dn);
            say!("emulator: openapi: deleted {pk} {dn}");
            Ok(object([]))
        }
        Ok(false) => Err(no_device()),
        Err(e) => Err(saving(&e)),
    }
}
