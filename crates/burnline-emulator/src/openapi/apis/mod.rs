//! The device APIs the emulator answers, by `Action`: [`batch`] creates
//! devices in batches (BatchCheckDeviceNames, BatchRegisterDeviceWithApplyId,
//! QueryBatchRegisterDeviceStatus, QueryPageByApplyId), [`devices`] reads
//! and changes single devices (BatchGetDeviceState, ResetThing,
//! DeleteDevice). Each answers a payload (the fields beside `RequestId`
//! and `Success`) or a business failure with the platform's `Code`.

pub mod batch;
pub mod devices;

use super::request::Call;
use super::OpenApi;
use serde_json::{Map, Value};

/// A business failure: the platform's `Code` and an `ErrorMessage`.
#[derive(Debug)]
pub struct Fail {
    /// `iot.…`.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// A failure.
pub fn fail(code: &'static str, message: impl Into<String>) -> Fail {
    Fail {
        code,
        message: message.into(),
    }
}

/// What an API answers.
pub type Outcome = Result<Map<String, Value>, Fail>;

/// Runs `action`; `None` if the emulator has no such API.
pub fn dispatch(openapi: &OpenApi, action: &str, call: &Call) -> Option<Outcome> {
    Some(match action {
        "BatchCheckDeviceNames" => batch::check_names(openapi, call),
        "BatchRegisterDeviceWithApplyId" => batch::register(openapi, call),
        "QueryBatchRegisterDeviceStatus" => batch::status(openapi, call),
        "QueryPageByApplyId" => batch::page(openapi, call),
        "BatchGetDeviceState" => devices::states(openapi, call),
        "ResetThing" => devices::reset(openapi, call),
        "DeleteDevice" => devices::delete(openapi, call),
        _ => return None,
    })
}

/// The `ProductKey` parameter, which must be given.
pub fn product_key(call: &Call) -> Result<&str, Fail> {
    match call.param("ProductKey") {
        Some(pk) if !pk.is_empty() => Ok(pk),
        _ => Err(fail(
            "iot.prod.NullProductKey",
            "The ProductKey is not specified.",
        )),
    }
}

/// The failure for a ProductKey the platform does not have.
pub fn no_product(pk: &str) -> Fail {
    fail(
        "iot.prod.NotExistedProduct",
        format!("The product {pk} does not exist."),
    )
}

/// A JSON object from pairs.
pub fn object<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A new IotId (26 letters and digits, as the platform's are long).
pub fn new_iot_id() -> Result<String, Fail> {
    burnline_core::registration::random::alphanumeric(26)
        .map_err(|_| fail("iot.system.SystemException", "No randomness for an IotId."))
}
