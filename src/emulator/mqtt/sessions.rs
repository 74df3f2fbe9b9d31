//! Who is online: at most one accepted MQTT connection per device. A new
//! connection of a device closes the one before (the platform forces the
//! first offline), and a console delete or reset closes it too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// One accepted connection: its number and the signal that closes it.
#[derive(Debug)]
pub struct Session {
    /// Unique among the emulator's sessions.
    pub id: u64,
    /// Notified when the session must end.
    pub kick: Arc<Notify>,
}

/// Each device's live session: its number and its close signal, by
/// (ProductKey, DeviceName).
type Live = HashMap<(String, String), (u64, Arc<Notify>)>;

/// The live sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<Live>,
    next: AtomicU64,
}

impl Sessions {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        // Every change is one insert or remove: a poisoned map is consistent.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for a device, closing the one it had.
    pub fn begin(&self, pk: &str, dn: &str) -> Session {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let kick = Arc::new(Notify::new());
        let old = self
            .live()
            .insert((pk.to_owned(), dn.to_owned()), (id, Arc::clone(&kick)));
        if let Some((_, old)) = old {
            old.notify_one();
        }
        Session { id, kick }
    }

    /// Ends session `id`; `true` if it was the device's current one (then the
    /// device is offline now).
    pub fn end(&self, pk: &str, dn: &str, id: u64) -> bool {
        let mut live = self.live();
        let key = (pk.to_owned(), dn.to_owned());
        if live.get(&key).is_some_and(|(current, _)| *current == id) {
            live.remove(&key);
            true
        } else {
            false
        }
    }

    /// Closes the device's session, if it has one.
    pub fn kick(&self, pk: &str, dn: &str) {
        if let Some((_, k)) = self.live().get(&(pk.to_owned(), dn.to_owned())) {
            k.notify_one();
        }
    }
}
