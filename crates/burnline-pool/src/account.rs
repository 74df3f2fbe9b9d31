//! Who ran a command that a person answers for (`pool release`, `pool
//! settle`), for the history's attribution: the account of the process's
//! real user ID, as the system's user database names it, never `$USER`,
//! which anyone can set to anything or leave unset.

/// The account name of the process's real user ID, or `uid N` when the
/// user database has no entry for it.
pub fn current() -> String {
    let uid = nix::unistd::Uid::current();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}
