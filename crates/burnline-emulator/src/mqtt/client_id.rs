//! The platform's MQTT ClientID, `<id>|k=v,k=v,…|`: the id before the first
//! `|`, then comma-separated parameters (a trailing comma is allowed, as Link
//! SDK 4.x sends it) up to a closing `|`. Keys the platform reads are
//! `securemode`, `signmethod`, `timestamp`, `authType` and `random`; others
//! (`ext`, `_ss`, `_v`, `lan`, `instanceId`, …) are kept and ignored.

/// A parsed ClientID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    /// The part before the first `|`: the `clientId` that is signed.
    pub id: String,
    /// The parameters, in order.
    pub params: Vec<(String, String)>,
}

/// Why a ClientID is malformed (CONNACK 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// No `|…|` part.
    #[error("no `|k=v,…|` part")]
    NoParameters,
    /// The id before `|` is empty.
    #[error("the id before `|` is empty")]
    EmptyId,
    /// A parameter is not `k=v`.
    #[error("a parameter is not k=v")]
    BadParameter,
    /// Something follows the closing `|`.
    #[error("text after the closing `|`")]
    TrailingText,
}

impl ClientId {
    /// Parses `id|k=v,…|`.
    pub fn parse(s: &str) -> Result<Self, ClientIdError> {
        let (id, rest) = s.split_once('|').ok_or(ClientIdError::NoParameters)?;
        if id.is_empty() {
            return Err(ClientIdError::EmptyId);
        }
        let (inner, after) = rest.split_once('|').ok_or(ClientIdError::NoParameters)?;
        if !after.is_empty() {
            return Err(ClientIdError::TrailingText);
        }
        let mut params = Vec::new();
        for part in inner.split(',') {
            if part.is_empty() {
                continue;
            }
            let (k, v) = part.split_once('=').ok_or(ClientIdError::BadParameter)?;
            if k.is_empty() {
                return Err(ClientIdError::BadParameter);
            }
            params.push((k.to_owned(), v.to_owned()));
        }
        Ok(ClientId {
            id: id.to_owned(),
            params,
        })
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_client_ids() {
        let c = ClientId::parse(
            "a1X2bEnP82z&mq-dev|securemode=3,signmethod=hmacsha1,ext=1,_ss=1,lan=Python,_v=1.2.13,timestamp=1700000000|",
        )
        .expect("python");
        assert_eq!(c.id, "a1X2bEnP82z&mq-dev");
        assert_eq!(c.get("securemode"), Some("3"));
        assert_eq!(c.get("timestamp"), Some("1700000000"));
        let c = ClientId::parse(
            "PK.DN|timestamp=2524608000000,_ss=1,_v=sdk-c-4.x,securemode=2,signmethod=hmacsha256,ext=3,|",
        )
        .expect("link sdk 4");
        assert_eq!(c.get("signmethod"), Some("hmacsha256"));
        for bad in [
            "",
            "id",
            "|securemode=3|",
            "id|securemode=3",
            "id|x|",
            "id|a=1|b",
            "id|=1|",
        ] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }
}
