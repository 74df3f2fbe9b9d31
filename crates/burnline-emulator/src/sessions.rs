//! Who is online, and what they subscribed to: at most one accepted MQTT
//! connection per device. A new connection of a device closes the one
//! before (the platform forces the first offline), and a console delete or
//! reset closes it too. [`Sessions::route`] hands a message to every
//! session with a matching subscription (a device subscribes only where it
//! has the right, so a subscription is the right to receive).

use crate::topics::matches;
use burnline_io::say;
use mqttbytes_ng::QoS;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Messages waiting for one session; more are dropped (and logged).
const INBOX: usize = 1024;

/// A message on its way to a session.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The topic name.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The QoS to deliver at (the lower of the message's and the granted).
    pub qos: QoS,
}

/// A session's subscriptions: filter and granted QoS.
type Subscriptions = Arc<Mutex<Vec<(String, QoS)>>>;

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every change is one insert or remove: a poisoned lock holds
    // consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One accepted connection: its number, the signal that closes it, its
/// subscriptions and the messages routed to it.
#[derive(Debug)]
pub struct Session {
    /// Unique among the emulator's sessions.
    pub id: u64,
    /// Notified when the session must end.
    pub kick: Arc<Notify>,
    /// Messages routed to this session.
    pub inbox: mpsc::Receiver<Delivery>,
    subscriptions: Subscriptions,
}

impl Session {
    /// Adds (or replaces) a subscription.
    pub fn subscribe(&self, filter: &str, qos: QoS) {
        let mut subs = locked(&self.subscriptions);
        subs.retain(|(f, _)| f != filter);
        subs.push((filter.to_owned(), qos));
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, filter: &str) {
        locked(&self.subscriptions).retain(|(f, _)| f != filter);
    }
}

/// A device's live session, as the registry holds it.
struct Live {
    id: u64,
    kick: Arc<Notify>,
    outbox: mpsc::Sender<Delivery>,
    subscriptions: Subscriptions,
}

/// The live sessions, by (ProductKey, DeviceName).
#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<(String, String), Live>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("live", &locked(&self.live).len())
            .finish()
    }
}

impl Sessions {
    /// Starts a session for a device, closing the one it had.
    pub fn begin(&self, pk: &str, dn: &str) -> Session {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let kick = Arc::new(Notify::new());
        let (outbox, inbox) = mpsc::channel(INBOX);
        let subscriptions = Subscriptions::default();
        let old = locked(&self.live).insert(
            (pk.to_owned(), dn.to_owned()),
            Live {
                id,
                kick: Arc::clone(&kick),
                outbox,
                subscriptions: Arc::clone(&subscriptions),
            },
        );
        if let Some(old) = old {
            old.kick.notify_one();
        }
        Session {
            id,
            kick,
            inbox,
            subscriptions,
        }
    }

    /// Ends session `id`; `true` if it was the device's current one (then the
    /// device is offline now).
    pub fn end(&self, pk: &str, dn: &str, id: u64) -> bool {
        let mut live = locked(&self.live);
        let key = (pk.to_owned(), dn.to_owned());
        if live.get(&key).is_some_and(|l| l.id == id) {
            live.remove(&key);
            true
        } else {
            false
        }
    }

    /// Closes the device's session, if it has one.
    pub fn kick(&self, pk: &str, dn: &str) {
        if let Some(l) = locked(&self.live).get(&(pk.to_owned(), dn.to_owned())) {
            l.kick.notify_one();
        }
    }

    /// Hands a message on `topic` to every session subscribed to it, at
    /// the lower of `qos` and the highest QoS granted to a matching filter;
    /// how many sessions it was handed to.
    pub fn route(&self, topic: &str, payload: &[u8], qos: QoS) -> usize {
        let live = locked(&self.live);
        let mut handed = 0;
        for ((pk, dn), l) in live.iter() {
            let granted = locked(&l.subscriptions)
                .iter()
                .filter(|(f, _)| matches(f, topic))
                .map(|(_, q)| *q as u8)
                .max();
            let Some(granted) = granted else { continue };
            let qos = if granted.min(qos as u8) == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            let d = Delivery {
                topic: topic.to_owned(),
                payload: payload.to_vec(),
                qos,
            };
            if l.outbox.try_send(d).is_ok() {
                handed += 1;
            } else {
                say!("emulator: mqtt {pk} {dn}: {topic}: its inbox is full; message dropped");
            }
        }
        handed
    }
}
