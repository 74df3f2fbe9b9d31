//! The platform's rules for an MQTT CONNECT, as the domain notes give them:
//! what a ClientID, a username and a password must look like, which secret
//! signs the password, and the CONNACK code of each refusal.
//!
//! | CONNACK | when |
//! |---|---|
//! | 1 | not MQTT 3.1.1 |
//! | 2 | the ClientID is not `id|k=v,…|`, a `securemode` or `signmethod` is missing or unknown, the securemode does not fit the connection, a keepalive under 30 s (the platform's code for the keepalive is not documented: the emulator's choice), or a registration (`authType=register`/`regnwl`/`connwl`) over plain TCP ([`REGISTRATION_OVER_PLAIN_TCP`], the emulator's choice) |
//! | 4 | no username or password, a username that is not `DN&PK`, a password that is not hex of the sign method's length |
//! | 5 | a wrong password, an unknown product or device, a secret replaced by a later registration, a registration the platform refuses (the emulator's choice for MQTT dynamic registration), a will on a topic the device may not publish to (the emulator's choice) |
//!
//! A keepalive over 1200 s is accepted and held to 1200 s (Link SDK 4.x
//! `aiot_mqtt_api.h`, `AIOT_MQTTOPT_KEEPALIVE_SEC`).
//!
//! Logins with a DeviceSecret (`securemode` 3 over plain TCP, 2 or -2 over
//! TLS) sign `clientId`, `deviceName`, `productKey` and `timestamp` (when
//! given). MQTT dynamic registration (`authType=register` or `regnwl`)
//! signs `deviceName`, `productKey` and `random` with the ProductSecret,
//! and a 免预注册 device logs in with `authType=connwl` and its token as the
//! password; these take TLS only ("MQTT-based dynamic registration": direct
//! TCP connections are not supported), with any securemode (the Python SDK
//! sends `securemode=2` whatever the transport).

use super::client_id::ClientId;
use crate::state::State;
use crate::topics::may_publish;
use burnline_core::registration::sign::{verify, SignMethod};
use mqttbytes_ng::v4::{Connect, ConnectReturnCode};
use mqttbytes_ng::Protocol;

/// The shortest keepalive the platform accepts, in seconds.
pub const MIN_KEEPALIVE: u16 = 30;

/// The longest keepalive the platform holds a connection to, in seconds: a
/// longer one is accepted and held to this.
pub const MAX_KEEPALIVE: u16 = 1200;

/// The CONNACK code of a registration (`authType=register`, `regnwl`) or a
/// 免预注册 login (`connwl`) over plain TCP. The platform says these need
/// TLS but not which code refuses them: the emulator's choice, the code of
/// a securemode that does not fit the connection.
pub const REGISTRATION_OVER_PLAIN_TCP: ConnectReturnCode = ConnectReturnCode::BadClientId;

/// The keepalive a connection is held to: the device's, at most
/// [`MAX_KEEPALIVE`].
pub fn held_keepalive(asked: u16) -> u16 {
    asked.min(MAX_KEEPALIVE)
}

/// Which transport a CONNECT came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Plain TCP.
    Plain,
    /// TLS.
    Tls,
}

/// What an accepted CONNECT asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A device logs in.
    Login {
        /// ProductKey.
        pk: String,
        /// DeviceName.
        dn: String,
    },
    /// `authType=register`: send the device a new DeviceSecret.
    Register {
        /// ProductKey.
        pk: String,
        /// DeviceName.
        dn: String,
    },
    /// `authType=regnwl`: send the device a clientId and token.
    RegisterWithoutPrecreate {
        /// ProductKey.
        pk: String,
        /// DeviceName.
        dn: String,
    },
}

/// A refused CONNECT: the CONNACK code and why (for the log; never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The CONNACK return code.
    pub code: ConnectReturnCode,
    /// Why, in words.
    pub why: String,
}

fn refuse(code: ConnectReturnCode, why: impl Into<String>) -> Refused {
    Refused {
        code,
        why: why.into(),
    }
}

fn hex_len(method: SignMethod) -> usize {
    match method {
        SignMethod::HmacSha256 => 64,
        SignMethod::HmacSha1 => 40,
        SignMethod::HmacMd5 => 32,
    }
}

/// Judges a CONNECT against `state`, for a connection on `listener`.
pub fn judge(c: &Connect, listener: Listener, state: &State) -> Result<Accepted, Refused> {
    let accepted = credentials(c, listener, state)?;
    if let (Accepted::Login { pk, dn }, Some(will)) = (&accepted, &c.last_will) {
        if !may_publish(pk, dn, &will.topic) {
            return Err(refuse(
                ConnectReturnCode::NotAuthorized,
                "the will's topic is not one the device may publish to",
            ));
        }
    }
    Ok(accepted)
}

/// Judges the CONNECT's transport, ClientID and credentials: the transport
/// and ClientID first ([`transport`]), then a token login ([`token_login`])
/// or a signed one ([`signed`]).
fn credentials(c: &Connect, listener: Listener, state: &State) -> Result<Accepted, Refused> {
    use ConnectReturnCode::{BadClientId, BadUserNamePassword, NotAuthorized};
    let cid = transport(c, listener)?;
    let auth_type = cid.get("authType");
    let login = c
        .login
        .as_ref()
        .ok_or_else(|| refuse(BadUserNamePassword, "no username and password"))?;
    let (dn, pk) = login
        .username
        .split_once('&')
        .filter(|(dn, pk)| !dn.is_empty() && !pk.is_empty() && !pk.contains('&'))
        .ok_or_else(|| {
            refuse(
                BadUserNamePassword,
                "the username is not DeviceName&ProductKey",
            )
        })?;
    if auth_type == Some("connwl") {
        return token_login(state, &cid, (pk, dn), &login.password);
    }
    let method: SignMethod = cid
        .get("signmethod")
        .ok_or_else(|| refuse(BadClientId, "ClientID: no signmethod"))?
        .parse()
        .map_err(|_| {
            refuse(
                BadClientId,
                "ClientID: signmethod is not hmacmd5, hmacsha1 or hmacsha256",
            )
        })?;
    if login.password.len() != hex_len(method)
        || !login.password.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(refuse(
            BadUserNamePassword,
            format!("the password is not {} hex digits", hex_len(method)),
        ));
    }
    if state.is_disabled(pk, dn) {
        return Err(refuse(NotAuthorized, "the device is disabled"));
    }
    signed(state, &cid, method, (pk, dn), &login.password)
}

/// The protocol, the ClientID and its keepalive, and whether its
/// securemode and authType fit the listener.
fn transport(c: &Connect, listener: Listener) -> Result<ClientId, Refused> {
    use ConnectReturnCode::BadClientId;
    if c.protocol != Protocol::V4 {
        return Err(refuse(
            ConnectReturnCode::RefusedProtocolVersion,
            "only MQTT 3.1.1 is served",
        ));
    }
    let cid =
        ClientId::parse(&c.client_id).map_err(|e| refuse(BadClientId, format!("ClientID: {e}")))?;
    if c.keep_alive < MIN_KEEPALIVE {
        return Err(refuse(
            BadClientId,
            format!("keepalive {} s is under 30 s", c.keep_alive),
        ));
    }
    let auth_type = cid.get("authType");
    let securemode = cid
        .get("securemode")
        .ok_or_else(|| refuse(BadClientId, "ClientID: no securemode"))?;
    if !matches!(securemode, "2" | "3" | "-2") {
        return Err(refuse(
            BadClientId,
            "ClientID: securemode is not 2, 3 or -2",
        ));
    }
    if auth_type.is_some() && listener == Listener::Plain {
        return Err(refuse(
            REGISTRATION_OVER_PLAIN_TCP,
            "dynamic registration and 免预注册 logins need TLS",
        ));
    }
    if auth_type.is_none() {
        let fits = match listener {
            Listener::Plain => securemode == "3",
            Listener::Tls => securemode == "2" || securemode == "-2",
        };
        if !fits {
            return Err(refuse(
                BadClientId,
                "ClientID: securemode 3 is plain TCP, 2 and -2 are TLS",
            ));
        }
    }
    Ok(cid)
}

/// A login with the token a 免预注册 registration issued (`authType=connwl`),
/// compared in constant time.
fn token_login(
    state: &State,
    cid: &ClientId,
    (pk, dn): (&str, &str),
    password: &str,
) -> Result<Accepted, Refused> {
    use ConnectReturnCode::NotAuthorized;
    let token = state
        .device_token(pk, dn)
        .ok_or_else(|| refuse(NotAuthorized, "no token was issued to this device"))?;
    let same = token.client_id == cid.id
        && token.token.expose().len() == password.len()
        && token
            .token
            .expose()
            .bytes()
            .zip(password.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(refuse(NotAuthorized, "wrong clientId or token"));
    }
    Ok(Accepted::Login {
        pk: pk.to_owned(),
        dn: dn.to_owned(),
    })
}

/// A signed login: with the DeviceSecret (no authType), or a dynamic
/// registration with the ProductSecret (`register`, `regnwl`).
fn signed(
    state: &State,
    cid: &ClientId,
    method: SignMethod,
    (pk, dn): (&str, &str),
    password: &str,
) -> Result<Accepted, Refused> {
    use ConnectReturnCode::{BadClientId, NotAuthorized};
    match cid.get("authType") {
        None => {
            let ds = state.device_secret(pk, dn).ok_or_else(|| {
                refuse(NotAuthorized, "unknown device, or no DeviceSecret issued")
            })?;
            let mut params = vec![
                ("clientId", cid.id.as_str()),
                ("deviceName", dn),
                ("productKey", pk),
            ];
            if let Some(t) = cid.get("timestamp") {
                params.push(("timestamp", t));
            }
            if !verify(method, ds.expose().as_bytes(), &params, password) {
                return Err(refuse(
                    NotAuthorized,
                    "the password does not match the DeviceSecret",
                ));
            }
            Ok(Accepted::Login {
                pk: pk.to_owned(),
                dn: dn.to_owned(),
            })
        }
        Some(kind @ ("register" | "regnwl")) => {
            let random = cid.get("random").ok_or_else(|| {
                refuse(BadClientId, "ClientID: dynamic registration without random")
            })?;
            let product = state
                .product(pk)
                .ok_or_else(|| refuse(NotAuthorized, "product not found"))?;
            let params = [("deviceName", dn), ("productKey", pk), ("random", random)];
            if !verify(
                method,
                product.product_secret.expose().as_bytes(),
                &params,
                password,
            ) {
                return Err(refuse(
                    NotAuthorized,
                    "the password does not match the ProductSecret",
                ));
            }
            let (pk, dn) = (pk.to_owned(), dn.to_owned());
            Ok(if kind == "register" {
                Accepted::Register { pk, dn }
            } else {
                Accepted::RegisterWithoutPrecreate { pk, dn }
            })
        }
        Some(_) => Err(refuse(BadClientId, "ClientID: unknown authType")),
    }
}
