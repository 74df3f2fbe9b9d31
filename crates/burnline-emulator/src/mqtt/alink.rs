//! The platform's Alink replies to a device's event posts: a PUBLISH on
//! `/sys/{pk}/{dn}/thing/event/property/post` or
//! `/sys/{pk}/{dn}/thing/event/{id}/post` is answered on the same topic with
//! `_reply` appended, with the platform's body
//! `{"code":200,"data":{},"id":"<the request's id>","message":"success","method":"thing.event.property.post","version":"1.0"}`
//! (the domain notes, from Link SDK 4.x's demo). A body that is not an
//! Alink request (a JSON object with a string `id`) gets code 460 "request
//! parameter error", the platform's code for a body that is empty or badly
//! formed (document 120329), with the id it had, or `""`.

use serde_json::{json, Value};

/// The reply topic and body for a device's PUBLISH, if the platform answers
/// that topic.
pub fn reply(pk: &str, dn: &str, topic: &str, payload: &[u8]) -> Option<(String, Vec<u8>)> {
    let event = topic
        .strip_prefix(&format!("/sys/{pk}/{dn}/thing/event/"))?
        .strip_suffix("/post")?;
    if event.is_empty() || event.contains('/') {
        return None;
    }
    let method = format!("thing.event.{event}.post");
    let request = serde_json::from_slice::<Value>(payload).ok();
    let id = request
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str);
    let (code, message) = match request {
        Some(Value::Object(_)) if id.is_some() => (200, "success"),
        _ => (460, "request parameter error"),
    };
    // serde_json keeps keys sorted: code, data, id, message, method, version.
    let body = json!({
        "code": code,
        "data": {},
        "id": id.unwrap_or(""),
        "message": message,
        "method": method,
        "version": "1.0",
    });
    Some((format!("{topic}_reply"), body.to_string().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_and_event_posts() {
        let (t, b) = reply(
            "pk",
            "dn",
            "/sys/pk/dn/thing/event/property/post",
            br#"{"id":"123","version":"1.0","params":{"t":1},"method":"thing.event.property.post"}"#,
        )
        .expect("reply");
        assert_eq!(t, "/sys/pk/dn/thing/event/property/post_reply");
        assert_eq!(
            String::from_utf8(b).expect("utf8"),
            r#"{"code":200,"data":{},"id":"123","message":"success","method":"thing.event.property.post","version":"1.0"}"#
        );
        let (_, b) =
            reply("pk", "dn", "/sys/pk/dn/thing/event/alarm/post", b"not json").expect("reply");
        assert_eq!(
            String::from_utf8(b).expect("utf8"),
            r#"{"code":460,"data":{},"id":"","message":"request parameter error","method":"thing.event.alarm.post","version":"1.0"}"#
        );
        assert!(reply(
            "pk",
            "dn",
            "/sys/pk/dn/thing/event/property/post_reply",
            b"{}"
        )
        .is_none());
        assert!(reply("pk", "dn", "/sys/pk/other/thing/event/property/post", b"{}").is_none());
        assert!(reply("pk", "dn", "/pk/dn/user/post", b"{}").is_none());
    }
}
