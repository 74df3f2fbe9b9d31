//! The OpenAPI's answers (fact sheet section 4): a business answer is HTTP
//! 200 with `RequestId`, `Success` and the payload, plus `Code` and
//! `ErrorMessage` on failure; a gateway refusal (signature, nonce,
//! timestamp, AccessKey, unknown API) is a 4xx with `RequestId`, `HostId`,
//! `Code`, `Message` and `Recommend`. Every answer is JSON.

use super::choices::BUSINESS_ERROR_STATUS;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// An answer: HTTP status and JSON body (which may hold DeviceSecrets).
pub type Reply = (u16, Zeroizing<Vec<u8>>);

/// A new RequestId, as the platform writes them
/// (`E55E50B7-40EE-4B6B-8BBE-D3ED55CCF565`).
pub fn request_id() -> String {
    let mut bytes = [0u8; 16];
    // A RequestId only has to be unique; without randomness, the time.
    if getrandom::fill(&mut bytes).is_err() {
        bytes[..8].copy_from_slice(&crate::state::now_ms().to_be_bytes());
    }
    uuid::Uuid::from_bytes(bytes)
        .hyphenated()
        .to_string()
        .to_uppercase()
}

fn body(v: &Value) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(v.to_string().into_bytes())
}

/// A business success: `payload`'s fields beside `RequestId` and
/// `Success: true`.
pub fn success(request_id: &str, payload: Map<String, Value>) -> Reply {
    let mut doc = Map::new();
    doc.insert("RequestId".into(), json!(request_id));
    doc.insert("Success".into(), json!(true));
    doc.extend(payload);
    let doc = Value::Object(doc);
    let out = body(&doc);
    // The payload may hold DeviceSecrets.
    wipe(doc);
    (200, out)
}

/// A business failure: `Success: false` with the platform's `Code`.
pub fn failure(request_id: &str, code: &str, message: &str) -> Reply {
    (
        BUSINESS_ERROR_STATUS,
        body(&json!({
            "RequestId": request_id,
            "Success": false,
            "Code": code,
            "ErrorMessage": message,
        })),
    )
}

/// A gateway refusal.
pub fn refusal(status: u16, request_id: &str, host_id: &str, code: &str, message: &str) -> Reply {
    (
        status,
        body(&json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": code,
            "Message": message,
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={code}&product=Iot&requestId={request_id}"
            ),
        })),
    )
}

/// Overwrites every string of `v` before it is dropped.
fn wipe(v: Value) {
    match v {
        Value::String(s) => drop(Zeroizing::new(s)),
        Value::Array(a) => a.into_iter().for_each(wipe),
        Value::Object(o) => o.into_iter().for_each(|(_, v)| wipe(v)),
        _ => {}
    }
}
