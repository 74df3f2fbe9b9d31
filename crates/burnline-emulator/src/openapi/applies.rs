//! The batch applications of BatchCheckDeviceNames and
//! BatchRegisterDeviceWithApplyId, by ApplyId: the names checked, which
//! were refused and why, the application's `Status`, and the devices it
//! created (with the IotId each was given, so that a device deleted and
//! created again under the same name is not listed as this one). Kept in
//! memory: a restart forgets them (the devices stay in the state).

use std::collections::HashMap;

/// The application's `Status` (QueryBatchRegisterDeviceStatus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every name passed the check.
    CheckSuccess,
    /// Some name was refused; nothing can be created.
    CheckFailed,
    /// The devices were created.
    CreateSuccess,
    /// None of the devices could be created (their names were taken since
    /// the check).
    CreateFailed,
}

impl Status {
    /// The platform's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::CheckSuccess => "CHECK_SUCCESS",
            Status::CheckFailed => "CHECK_FAILED",
            Status::CreateSuccess => "CREATE_SUCCESS",
            Status::CreateFailed => "CREATE_FAILED",
        }
    }
}

/// A name the check (or the creation) refused.
#[derive(Debug, Clone)]
pub struct Refused {
    /// DeviceName.
    pub name: String,
    /// The nickname sent with it, if any.
    pub nickname: Option<String>,
    /// Why (`ErrorMsg`).
    pub why: String,
}

/// One application.
#[derive(Debug)]
pub struct Apply {
    /// ProductKey.
    pub product_key: String,
    /// The names that passed the check.
    pub valid: Vec<String>,
    /// The names refused.
    pub invalid: Vec<Refused>,
    /// Where it stands.
    pub status: Status,
    /// The devices created: (DeviceName, IotId).
    pub created: Vec<(String, String)>,
}

/// Every application, by ApplyId.
#[derive(Debug)]
pub struct Applies {
    next: i64,
    map: HashMap<i64, Apply>,
}

impl Applies {
    /// No applications; the first ApplyId is the time in seconds, so that
    /// a restarted emulator does not hand out an ApplyId again.
    pub fn new(now_secs: i64) -> Self {
        Applies {
            next: now_secs,
            map: HashMap::new(),
        }
    }

    /// Records an application; its ApplyId.
    pub fn add(&mut self, apply: Apply) -> i64 {
        let id = self.next;
        self.next += 1;
        self.map.insert(id, apply);
        id
    }

    /// An application.
    pub fn get(&self, id: i64) -> Option<&Apply> {
        self.map.get(&id)
    }

    /// An application, to change.
    pub fn get_mut(&mut self, id: i64) -> Option<&mut Apply> {
        self.map.get_mut(&id)
    }
}
