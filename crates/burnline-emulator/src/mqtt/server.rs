//! The emulator's MQTT 3.1.1 server, one tokio task per connection,
//! packets encoded and decoded by `mqttbytes-ng`.
//!
//! A listener that takes plain TCP (`--mqtt`) also takes TLS when the
//! emulator has a certificate, as the platform's 1883 and 443 do: a
//! connection whose first byte is 0x16 (a TLS ClientHello) gets the TLS
//! handshake, any other (0x10, CONNECT) is plain MQTT. `--mqtts` takes TLS
//! only, as the platform's 8883.
//!
//! A connection must send its CONNECT within [`CONNECT_TIMEOUT`]; it is
//! judged by [`super::login::judge`] and answered with a CONNACK. After an
//! accepted login the device is activated and online; the server answers
//! SUBSCRIBE (QoS 0 or 1 granted, 0x80 for a filter outside the device's
//! topics, [`crate::topics`]), PUBLISH at QoS 0 and 1 (PUBACK; a publish
//! outside the device's topics is dropped with the platform's "No
//! authorization" in the log and no PUBACK), UNSUBSCRIBE and PINGREQ. A
//! publish is routed to every session subscribed to its topic, and an event
//! post gets its Alink `_reply` ([`super::alink`]). The device goes offline
//! on DISCONNECT, on EOF, after 1.5 × keepalive (held to 1200 s) of
//! silence, when a newer connection of the same device arrives, or when the
//! console deletes or resets it. MQTT dynamic registration
//! (`authType=register`/`regnwl`) is answered with a PUBLISH on
//! `/ext/register` (`{"deviceSecret"}`) or `/ext/regnwl`
//! (`{"clientId","productKey","deviceName","deviceToken"}`) after the
//! CONNACK; the connection then ends when the device leaves. A malformed or
//! oversized packet (over [`MAX_PACKET`]) closes its connection and nothing
//! else. The log names devices, topics and CONNACK codes, never a secret or
//! a payload.

use super::alink;
use super::login::{held_keepalive, judge, Accepted, Listener};
use crate::answer::refusal_answer;
use crate::api::Api;
use crate::sessions::{Delivery, Session};
use crate::state::Token;
use crate::tls::Acceptor;
use crate::topics;
use burnline_core::registration::random::alphanumeric;
use burnline_core::secret::Secret;
use burnline_io::say;
use bytes::BytesMut;
use mqttbytes_ng::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use mqttbytes_ng::QoS;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Time allowed from accept to a whole CONNECT (and the TLS handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest packet taken (remaining length), in bytes.
pub const MAX_PACKET: usize = 256 * 1024;

/// Connections served at once, at most; more are closed at once.
pub const MAX_CONNECTIONS: usize = 4096;

/// Time a registration connection is kept after its answer was sent.
const REGISTRATION_LINGER: Duration = Duration::from_secs(10);

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The peer closed the connection.
    Eof,
    /// A socket or TLS error.
    Io(std::io::Error),
    /// A packet the codec refused, or one too large.
    Malformed(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Eof => f.write_str("EOF"),
            End::Io(e) => write!(f, "I/O error: {e}"),
            End::Malformed(why) => write!(f, "malformed packet: {why}"),
        }
    }
}

/// One connection's stream and what was read of it.
struct Conn<S> {
    stream: S,
    buf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// The next packet (cancel-safe: bytes read stay in the buffer).
    async fn next(&mut self) -> Result<Packet, End> {
        loop {
            match Packet::read(&mut self.buf, MAX_PACKET) {
                Ok(p) => return Ok(p),
                Err(mqttbytes_ng::Error::InsufficientBytes(_)) => {}
                Err(e) => return Err(End::Malformed(e.to_string())),
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err(End::Eof),
                Ok(_) => {}
                Err(e) => return Err(End::Io(e)),
            }
        }
    }

    async fn send(&mut self, p: Packet) -> Result<(), End> {
        let mut out = BytesMut::new();
        p.write(&mut out, MAX_PACKET)
            .map_err(|e| End::Malformed(e.to_string()))?;
        self.stream.write_all(&out).await.map_err(End::Io)?;
        self.stream.flush().await.map_err(End::Io)
    }

    async fn connack(&mut self, code: ConnectReturnCode) -> Result<(), End> {
        self.send(Packet::ConnAck(ConnAck::new(code, false))).await
    }
}

/// What a listener takes.
#[derive(Clone)]
pub enum Takes {
    /// Plain TCP, and TLS too with an acceptor (told apart by the first
    /// byte).
    Plain(Option<Acceptor>),
    /// TLS only.
    Tls(Acceptor),
}

/// The first byte of a TLS record carrying a handshake (the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves MQTT on `listener` until the process ends.
pub async fn serve(listener: TcpListener, takes: Takes, api: Arc<Api>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let (api, takes) = (Arc::clone(&api), takes.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match takes {
                Takes::Tls(acceptor) => Some(acceptor),
                Takes::Plain(None) => None,
                Takes::Plain(Some(acceptor)) => {
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(CONNECT_TIMEOUT, tcp.peek(&mut first)).await {
                        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => Some(acceptor),
                        Ok(Ok(_)) | Ok(Err(_)) => None,
                        Err(_) => {
                            say!("emulator: mqtt from {peer}: no CONNECT within 10 s; closed");
                            return;
                        }
                    }
                }
            };
            match tls {
                None => connection(tcp, Listener::Plain, &api, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => connection(stream, Listener::Tls, &api, peer).await,
                        Ok(Err(e)) => say!("emulator: mqtt from {peer}: TLS failed: {e}"),
                        Err(_) => say!("emulator: mqtt from {peer}: TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Runs a blocking state change off the async threads.
async fn blocking<T: Send + 'static>(
    api: &Arc<Api>,
    f: impl FnOnce(&Api) -> T + Send + 'static,
) -> Option<T> {
    let api = Arc::clone(api);
    tokio::task::spawn_blocking(move || f(&api)).await.ok()
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    listener: Listener,
    api: &Arc<Api>,
    peer: std::net::SocketAddr,
) {
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(1024),
    };
    let first = match tokio::time::timeout(CONNECT_TIMEOUT, conn.next()).await {
        Err(_) => {
            say!("emulator: mqtt from {peer}: no CONNECT within 10 s; closed");
            return;
        }
        Ok(Err(e)) => {
            say!("emulator: mqtt from {peer}: {e} before CONNECT; closed");
            return;
        }
        Ok(Ok(p)) => p,
    };
    let Packet::Connect(mut connect) = first else {
        say!("emulator: mqtt from {peer}: the first packet is not CONNECT; closed");
        return;
    };
    let verdict = judge(&connect, listener, &api.state());
    // The password is a signature or a token: wiped once judged.
    if let Some(l) = connect.login.as_mut() {
        zeroize::Zeroize::zeroize(&mut l.password);
    }
    let held = held_keepalive(connect.keep_alive);
    if held != connect.keep_alive && verdict.is_ok() {
        say!(
            "emulator: mqtt from {peer}: keepalive {} s held to {held} s",
            connect.keep_alive
        );
    }
    let keepalive = Duration::from_secs(u64::from(held));
    match verdict {
        Err(r) => {
            say!(
                "emulator: mqtt from {peer}: CONNACK {} ({})",
                r.code as u8,
                r.why
            );
            let _ = conn.connack(r.code).await;
        }
        Ok(Accepted::Login { pk, dn }) => login(conn, api, &pk, &dn, keepalive).await,
        Ok(Accepted::Register { pk, dn }) => register(conn, api, &pk, &dn, false).await,
        Ok(Accepted::RegisterWithoutPrecreate { pk, dn }) => {
            register(conn, api, &pk, &dn, true).await
        }
    }
}

/// An accepted login: online until the connection ends.
async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Conn<S>,
    api: &Arc<Api>,
    pk: &str,
    dn: &str,
    keepalive: Duration,
) {
    let mut session = api.sessions.begin(pk, dn);
    let (p, d) = (pk.to_owned(), dn.to_owned());
    let marked = blocking(api, move |a| a.state().connected(&p, &d)).await;
    if !matches!(marked, Some(Ok(true))) {
        say!("emulator: mqtt {pk} {dn}: CONNACK 3 (the state could not be saved)");
        let _ = conn.connack(ConnectReturnCode::ServiceUnavailable).await;
        api.sessions.end(pk, dn, session.id);
        return;
    }
    say!("emulator: mqtt {pk} {dn}: CONNACK 0, online");
    let why = match conn.connack(ConnectReturnCode::Success).await {
        Err(e) => e.to_string(),
        Ok(()) => serve_session(&mut conn, api, &mut session, (pk, dn), keepalive).await,
    };
    if api.sessions.end(pk, dn, session.id) {
        let (p, d) = (pk.to_owned(), dn.to_owned());
        let _ = blocking(api, move |a| a.state().disconnected(&p, &d)).await;
        say!("emulator: mqtt {pk} {dn}: offline ({why})");
    } else {
        say!("emulator: mqtt {pk} {dn}: connection closed ({why})");
    }
}

/// Answers a logged-in device until it leaves; says why it ended.
async fn serve_session<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    api: &Api,
    session: &mut Session,
    (pk, dn): (&str, &str),
    keepalive: Duration,
) -> String {
    // 1.5 × keepalive (at least 30 s × 1.5 since the keepalive was checked).
    let silence = keepalive + keepalive / 2;
    let mut deadline = tokio::time::Instant::now() + silence;
    let mut next_pkid: u16 = 0;
    loop {
        let packet = tokio::select! {
            _ = session.kick.notified() => {
                return "closed by the platform: another connection of the device, or the console".into();
            }
            Some(d) = session.inbox.recv() => {
                if let Err(e) = conn.send(delivery(d, &mut next_pkid)).await {
                    return e.to_string();
                }
                continue;
            }
            () = tokio::time::sleep_until(deadline) => {
                return format!("no packet for 1.5 x keepalive ({} s)", silence.as_secs());
            }
            read = conn.next() => match read {
                Err(e) => return e.to_string(),
                Ok(p) => p,
            },
        };
        deadline = tokio::time::Instant::now() + silence;
        let reply = match packet {
            Packet::Disconnect => return "DISCONNECT".into(),
            Packet::PingReq => Some(Packet::PingResp),
            Packet::Subscribe(s) => {
                let codes = s
                    .filters
                    .iter()
                    .map(|f| {
                        if !topics::may_subscribe(pk, dn, &f.path) {
                            say!(
                                "emulator: mqtt {pk} {dn}: SUBSCRIBE {}: not the device's topic; SUBACK 0x80",
                                f.path
                            );
                            return SubscribeReasonCode::Failure;
                        }
                        let qos = match f.qos {
                            QoS::AtMostOnce => QoS::AtMostOnce,
                            _ => QoS::AtLeastOnce,
                        };
                        session.subscribe(&f.path, qos);
                        SubscribeReasonCode::Success(qos)
                    })
                    .collect();
                Some(Packet::SubAck(SubAck::new(s.pkid, codes)))
            }
            Packet::Unsubscribe(u) => {
                for f in &u.topics {
                    session.unsubscribe(f);
                }
                Some(Packet::UnsubAck(UnsubAck::new(u.pkid)))
            }
            Packet::Publish(p) => {
                if p.qos == QoS::ExactlyOnce {
                    return "PUBLISH at QoS 2, which the platform does not take".into();
                }
                if !topics::may_publish(pk, dn, &p.topic) {
                    // The platform's words (aliyun/iotkit-embedded#78); no
                    // PUBACK, since nothing was delivered.
                    say!(
                        "emulator: mqtt {pk} {dn}: PUBLISH {}: No authorization; dropped",
                        p.topic
                    );
                    continue;
                }
                if p.qos == QoS::AtLeastOnce {
                    if let Err(e) = conn.send(Packet::PubAck(PubAck::new(p.pkid))).await {
                        return e.to_string();
                    }
                }
                api.sessions.route(&p.topic, &p.payload, p.qos);
                if let Some((topic, body)) = alink::reply(pk, dn, &p.topic, &p.payload) {
                    api.sessions.route(&topic, &body, p.qos);
                }
                None
            }
            Packet::PubAck(_) => None,
            Packet::Connect(_) => return "a second CONNECT (protocol violation)".into(),
            other => return format!("unexpected {other:?}"),
        };
        if let Some(r) = reply {
            if let Err(e) = conn.send(r).await {
                return e.to_string();
            }
        }
    }
}

/// The PUBLISH that hands `d` to the device (packet ids 1–65535 in turn
/// for QoS 1; its PUBACK is taken and not waited for).
fn delivery(d: Delivery, next_pkid: &mut u16) -> Packet {
    let mut p = Publish::new(d.topic, d.qos, d.payload);
    if d.qos != QoS::AtMostOnce {
        *next_pkid = next_pkid.checked_add(1).unwrap_or(1);
        p.pkid = *next_pkid;
    }
    Packet::Publish(p)
}

/// MQTT dynamic registration: a new DeviceSecret (`register`) or a login
/// token (`regnwl`) is issued, saved, and sent after the CONNACK.
async fn register<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Conn<S>,
    api: &Arc<Api>,
    pk: &str,
    dn: &str,
    without_precreate: bool,
) {
    let kind = if without_precreate {
        "regnwl"
    } else {
        "register"
    };
    let (Ok(secret), Ok(client_suffix)) = (alphanumeric(32), alphanumeric(8)) else {
        let _ = conn.connack(ConnectReturnCode::ServiceUnavailable).await;
        return;
    };
    let secret = Secret::new(secret);
    let client_id = format!("{pk}.{dn}.{client_suffix}");
    let (p, d, s, c) = (
        pk.to_owned(),
        dn.to_owned(),
        secret.clone(),
        client_id.clone(),
    );
    let issued = blocking(api, move |a| {
        let mut st = a.state();
        if without_precreate {
            st.register_without_precreate(
                &p,
                &d,
                Token {
                    client_id: c,
                    token: s,
                },
            )
        } else {
            st.register(&p, &d, s)
        }
    })
    .await;
    let refusal = match issued {
        Some(Ok(Ok(()))) => None,
        Some(Ok(Err(r))) => Some(refusal_answer(r)),
        _ => Some((500, "the state could not be saved")),
    };
    if let Some((code, message)) = refusal {
        say!("emulator: mqtt {kind} {pk} {dn}: CONNACK 5 ({code}: {message})");
        let _ = conn.connack(ConnectReturnCode::NotAuthorized).await;
        return;
    }
    let payload = zeroize::Zeroizing::new(
        if without_precreate {
            serde_json::json!({"clientId": client_id, "productKey": pk, "deviceName": dn,
                               "deviceToken": secret.expose()})
        } else {
            serde_json::json!({"deviceSecret": secret.expose()})
        }
        .to_string()
        .into_bytes(),
    );
    say!("emulator: mqtt {kind} {pk} {dn}: CONNACK 0, issued");
    let topic = if without_precreate {
        "/ext/regnwl"
    } else {
        "/ext/register"
    };
    let sent = async {
        conn.connack(ConnectReturnCode::Success).await?;
        conn.send(Packet::Publish(Publish::new(
            topic,
            QoS::AtMostOnce,
            payload.to_vec(),
        )))
        .await
    };
    if sent.await.is_err() {
        return;
    }
    // The device disconnects once it has its answer; wait for it a while.
    let _ = tokio::time::timeout(REGISTRATION_LINGER, async {
        while !matches!(conn.next().await, Err(_) | Ok(Packet::Disconnect)) {}
    })
    .await;
}
