//! The crash points of the tests: [`crash_point!`] aborts the process at a
//! named durable step when `FAILPOINTS` asks for it, in a build made with
//! `--features burnline/failpoints` (which turns on `fail/failpoints`); a
//! release build has none.

pub use fail;

/// A crash point after a durable step: with `FAILPOINTS=NAME=return` the
/// process dies right there (abort: no destructors, no cleanup, no flush),
/// as a crash, a power cut or SIGKILL would; the tests rerun from each one.
/// Inert unless `FAILPOINTS` names it, and compiled only into a build made
/// with `--features burnline/failpoints` (the tests'): elsewhere it is nothing at all,
/// and the variable is never read. The points: `build-after-base`,
/// `build-after-rename`, `build-after-journal`, `build-after-manifest`
/// (`burnline_image::build::run`), `registration-ledger-after-append`
/// (`burnline_image::registration::registrations_log`) and
/// `station-ledger-after-assigned`, `-after-written`, `-after-verified`
/// (`burnline_flash::station_ledger`), and `pool-after-lease`,
/// `-after-written`, `-after-verified` (`burnline_flash::pooled`), and
/// `platform-create-after-check`, `-after-register`
/// (`burnline_platform::create`), and `merge-after-copy` (`manifest
/// merge`, a copy complete under its temp name, before it is synced and put
/// in place).
#[macro_export]
macro_rules! crash_point {
    ($name:literal) => {
        $crate::failpoint::fail::fail_point!($name, |_| std::process::abort())
    };
}
