//! Batch creation, as the console's step 1 does it: BatchCheckDeviceNames
//! checks the names and opens an application (ApplyId),
//! BatchRegisterDeviceWithApplyId creates its devices (一机一密: each gets a
//! DeviceSecret and an IotId, unactivated, and can log in over MQTT at
//! once), QueryBatchRegisterDeviceStatus tells where it stands, and
//! QueryPageByApplyId pages through the devices with their secrets (at
//! most [`MAX_PAGE`] a page). The JSON keys are the platform's, typos
//! included (`RepeatDevieNameList`, `invalidDetailList`).

use super::{fail, new_iot_id, no_product, object, product_key, Fail, Outcome};
use crate::openapi::applies::{Apply, Refused, Status};
use crate::openapi::choices::{CHECK_FAILED_REGISTER_CODE, MAX_CHECK_NAMES, MAX_PAGE};
use crate::openapi::request::Call;
use crate::openapi::OpenApi;
use burnline_core::registration::random::alphanumeric;
use burnline_core::secret::Secret;
use burnline_io::say;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Whether `name` is a DeviceName: 4–32 of `A-Za-z0-9-_@.:`.
fn valid_name(name: &str) -> bool {
    (4..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_@.:".contains(&b))
}

/// Whether `nick` is a nickname: 4–64, letters (CJK and Japanese counted
/// twice), digits and `_`.
fn valid_nickname(nick: &str) -> bool {
    let len: usize = nick.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    (4..=64).contains(&len) && nick.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The `ApplyId` parameter.
fn apply_id(call: &Call) -> Result<i64, Fail> {
    match call.param("ApplyId") {
        None | Some("") => Err(fail(
            "iot.device.NullApplyId",
            "The ApplyId is not specified.",
        )),
        Some(s) => s.parse().map_err(|_| {
            fail(
                "iot.device.InvalidFormattedApplyId",
                "The ApplyId is not a number.",
            )
        }),
    }
}

fn not_found(id: i64) -> Fail {
    fail(
        "iot.device.DeviceApplyIsNotFound",
        format!("The application {id} is not found."),
    )
}

/// BatchCheckDeviceNames: `ProductKey`, and `DeviceNameList.N.DeviceName`
/// (with `.DeviceNickname`) or else `DeviceName.N`.
pub fn check_names(openapi: &OpenApi, call: &Call) -> Outcome {
    let pk = product_key(call)?;
    let listed = call.numbered("DeviceNameList", Some("DeviceName"));
    let names: Vec<(String, Option<String>)> = if listed.is_empty() {
        call.list("DeviceName", None)
            .into_iter()
            .map(|n| (n, None))
            .collect()
    } else {
        let nicks: HashMap<u64, String> = call
            .numbered("DeviceNameList", Some("DeviceNickname"))
            .into_iter()
            .collect();
        listed
            .into_iter()
            .map(|(n, name)| (name, nicks.get(&n).cloned()))
            .collect()
    };
    if names.is_empty() {
        return Err(fail(
            "iot.device.NullDeviceName",
            "No DeviceName is specified.",
        ));
    }
    let state = openapi.api.state();
    if state.product(pk).is_none() {
        return Err(no_product(pk));
    }
    let (mut valid, mut invalid) = (Vec::new(), Vec::new());
    let (mut bad_names, mut bad_nicks, mut repeated) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    // "Data over the limit is discarded."
    for (name, nick) in names.into_iter().take(MAX_CHECK_NAMES) {
        let why = if !valid_name(&name) {
            bad_names.push(name.clone());
            "The DeviceName must be 4 to 32 letters, digits and -_@.:"
        } else if nick.as_deref().is_some_and(|n| !valid_nickname(n)) {
            bad_nicks.push(nick.clone().unwrap_or_default());
            "The nickname must be 4 to 64 letters, digits and _"
        } else if state.view(pk, &name).is_some() || !seen.insert(name.clone()) {
            repeated.push(name.clone());
            "The DeviceName already exists."
        } else {
            valid.push(name);
            continue;
        };
        invalid.push(Refused {
            name,
            nickname: nick,
            why: why.to_owned(),
        });
    }
    drop(state);
    let details: Vec<Value> = invalid.iter().map(detail).collect();
    let status = if invalid.is_empty() {
        Status::CheckSuccess
    } else {
        Status::CheckFailed
    };
    let id = openapi.applies().add(Apply {
        product_key: pk.to_owned(),
        valid,
        invalid,
        status,
        created: Vec::new(),
    });
    Ok(object([(
        "Data",
        json!({
            "ApplyId": id,
            "InvalidDetailList": {"InvalidDetailList": details},
            "InvalidDeviceNameList": {"InvalidDeviceName": bad_names},
            "InvalidDeviceNicknameList": {"InvalidDeviceNickname": bad_nicks},
            "RepeatedDeviceNameList": {"RepeatDevieNameList": repeated},
        }),
    )]))
}

fn detail(r: &Refused) -> Value {
    json!({"DeviceName": r.name, "ErrorMsg": r.why, "NickName": r.nickname.clone().unwrap_or_default()})
}

/// BatchRegisterDeviceWithApplyId: `ProductKey`, `ApplyId`. Creates the
/// application's devices at once; a second call on a created application
/// creates nothing and answers the same.
pub fn register(openapi: &OpenApi, call: &Call) -> Outcome {
    let pk = product_key(call)?;
    let id = apply_id(call)?;
    let mut applies = openapi.applies();
    let apply = applies.get_mut(id).ok_or_else(|| not_found(id))?;
    if apply.product_key != pk {
        return Err(not_found(id));
    }
    match apply.status {
        Status::CheckFailed => {
            return Err(fail(
                CHECK_FAILED_REGISTER_CODE,
                "The application's check failed: no device can be created from it.",
            ))
        }
        Status::CreateSuccess | Status::CreateFailed => {}
        Status::CheckSuccess => {
            let mut state = openapi.api.state();
            if state.product(pk).is_none() {
                return Err(no_product(pk));
            }
            for name in apply.valid.clone() {
                let iot_id = new_iot_id()?;
                let secret = alphanumeric(32).map_err(|_| {
                    fail(
                        "iot.system.SystemException",
                        "No randomness for a DeviceSecret.",
                    )
                })?;
                match state.create_device(pk, &name, Secret::new(secret), iot_id.clone()) {
                    Ok(true) => apply.created.push((name, iot_id)),
                    Ok(false) => {
                        apply.valid.retain(|n| n != &name);
                        apply.invalid.push(Refused {
                            name,
                            nickname: None,
                            why: "The DeviceName already exists.".into(),
                        });
                    }
                    Err(e) => {
                        say!("emulator: openapi: the state could not be saved: {e}");
                        return Err(fail(
                            "iot.system.SystemException",
                            "The state could not be saved.",
                        ));
                    }
                }
            }
            apply.status = if apply.created.is_empty() {
                Status::CreateFailed
            } else {
                Status::CreateSuccess
            };
            say!(
                "emulator: openapi: application {id}: {} device(s) created under {pk}",
                apply.created.len()
            );
        }
    }
    Ok(object([("Data", json!({"ApplyId": id}))]))
}

/// QueryBatchRegisterDeviceStatus: `ProductKey`, `ApplyId`.
pub fn status(openapi: &OpenApi, call: &Call) -> Outcome {
    let pk = product_key(call)?;
    let id = apply_id(call)?;
    let applies = openapi.applies();
    let apply = applies
        .get(id)
        .filter(|a| a.product_key == pk)
        .ok_or_else(|| not_found(id))?;
    let success = matches!(apply.status, Status::CheckSuccess | Status::CreateSuccess)
        && apply.invalid.is_empty();
    // The lists are empty arrays on *_SUCCESS.
    let (valid, invalid, details): (Vec<&str>, Vec<&str>, Vec<Value>) = if success {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        (
            apply.valid.iter().map(String::as_str).collect(),
            apply.invalid.iter().map(|r| r.name.as_str()).collect(),
            apply.invalid.iter().map(detail).collect(),
        )
    };
    Ok(object([(
        "Data",
        json!({
            "Status": apply.status.as_str(),
            "ValidList": {"Name": valid},
            "InvalidList": {"Name": invalid},
            "InvalidDetailList": {"invalidDetailList": details},
        }),
    )]))
}

/// A page parameter: `default` when absent, else 1..=`max`.
fn page_param(call: &Call, name: &str, default: usize, max: usize) -> Result<usize, Fail> {
    let Some(v) = call.param(name) else {
        return Ok(default);
    };
    v.parse()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            fail(
                "iot.common.InvalidPageParams",
                format!("{name} must be from 1 to {max}."),
            )
        })
}

/// QueryPageByApplyId: `ApplyId`, `PageSize` (default 10, at most 50),
/// `CurrentPage` (default 1). The devices with their DeviceSecrets; a
/// device deleted since is left out.
pub fn page(openapi: &OpenApi, call: &Call) -> Outcome {
    let id = apply_id(call)?;
    let size = page_param(call, "PageSize", 10, MAX_PAGE)?;
    let current = page_param(call, "CurrentPage", 1, usize::MAX)?;
    let applies = openapi.applies();
    let apply = applies.get(id).ok_or_else(|| not_found(id))?;
    let state = openapi.api.state();
    let pk = apply.product_key.as_str();
    let mut alive = Vec::new();
    for (dn, iot_id) in &apply.created {
        if state.iot_id(pk, dn) == Some(iot_id.as_str()) {
            alive.push((dn, iot_id));
        }
    }
    let total = alive.len();
    let list: Vec<Value> = alive
        .iter()
        .skip((current - 1).saturating_mul(size))
        .take(size)
        .map(|(dn, iot_id)| {
            json!({
                "DeviceId": iot_id,
                "DeviceName": dn,
                "DeviceSecret": state.device_secret(pk, dn).map(Secret::expose).unwrap_or_default(),
                "IotId": iot_id,
            })
        })
        .collect();
    Ok(object([
        ("ApplyDeviceList", json!({"ApplyDeviceInfo": list})),
        ("Page", json!(current)),
        ("PageSize", json!(size)),
        ("PageCount", json!(total.div_ceil(size))),
        ("Total", json!(total)),
    ]))
}
