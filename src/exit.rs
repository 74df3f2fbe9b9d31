//! The one exit map of `burnline`: every way a run can end is a [`Case`],
//! each case has its exit [`Code`] and one line saying when it happens, and
//! [`case`] is the one function that sorts an [`Error`] (the pipeline's,
//! or a `platform` command's) into its case. The
//! library crates (`burnline-core`, `burnline-pool`, `burnline-sparse`)
//! know no exit numbers; `burnline-bootstrap` keeps its own documented map.
//! [`page`] renders the table as `docs/exit-codes.md` (`burnline generate
//! exit-codes`); a test keeps the page equal to it.

use crate::error::Error;
use burnline_core::cli::CliEnd;
use burnline_core::registration::error::RegisterError;
use burnline_image::error::{CardFailure, Error as RunError};
use burnline_platform::error::PlatformError;
use burnline_pool::PoolError;
use std::fmt::Write as _;

/// An exit status, and what it tells the person or script that ran burnline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Everything asked was done.
    Done = 0,
    /// Some items failed, the others were done.
    PartlyFailed = 1,
    /// Bad input or usage.
    BadInput = 2,
    /// The run could not go on.
    CannotGoOn = 3,
    /// The platform could not be reached.
    Network = 4,
    /// The pool database cannot be reached, or was lost.
    PoolUnreachable = 5,
    /// The pool is empty.
    PoolEmpty = 6,
    /// A bug: a panic (70 is `EX_SOFTWARE` of `sysexits.h`).
    Internal = 70,
    /// Interrupted.
    Interrupted = 130,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 9] = [
        Code::Done,
        Code::PartlyFailed,
        Code::BadInput,
        Code::CannotGoOn,
        Code::Network,
        Code::PoolUnreachable,
        Code::PoolEmpty,
        Code::Internal,
        Code::Interrupted,
    ];

    /// The number the process exits with.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// Its name, a few words.
    pub const fn name(self) -> &'static str {
        match self {
            Code::Done => "done",
            Code::PartlyFailed => "partly failed",
            Code::BadInput => "bad input or usage",
            Code::CannotGoOn => "the run could not go on",
            Code::Network => "the platform could not be reached",
            Code::PoolUnreachable => "the pool database is out of reach",
            Code::PoolEmpty => "the pool is empty",
            Code::Internal => "internal error",
            Code::Interrupted => "interrupted",
        }
    }

    /// What it means and what to do, in one short line.
    pub const fn meaning(self) -> &'static str {
        match self {
            Code::Done => "everything asked was built, checked, verified or written",
            Code::PartlyFailed => "some items failed, each listed; the others were done",
            Code::BadInput => "every broken rule is printed, one line each; nothing is written",
            Code::CannotGoOn => "an I/O failure, a card, or a refusal by the platform",
            Code::Network => "no answer, or not the platform's; run the command again later",
            Code::PoolUnreachable => "it cannot be reached, or it was lost while the run went on",
            Code::PoolEmpty => "no available identity is left to lease",
            Code::Internal => "a bug in burnline (a panic); please report it",
            Code::Interrupted => "run the same command again to finish the rest",
        }
    }
}

/// Declares [`Case`] with, for each case, its code and its line in the
/// table, so that no case can lack either.
macro_rules! cases {
    ($($(#[doc = $doc:literal])* $name:ident => $code:ident, $line:literal;)*) => {
        /// One way a run ends: each has one exit code and one line in the
        /// table (`docs/exit-codes.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Case {
            $($(#[doc = $doc])* $name,)*
        }

        impl Case {
            /// Every case, in the table's order.
            pub const ALL: &'static [Case] = &[$(Case::$name),*];

            /// The exit code of this case.
            pub const fn code(self) -> Code {
                match self {
                    $(Case::$name => Code::$code,)*
                }
            }

            /// When it happens, in one line.
            pub const fn line(self) -> &'static str {
                match self {
                    $(Case::$name => $line,)*
                }
            }
        }
    };
}

cases! {
    /// Success.
    Done => Done, "the command did all it was asked";
    /// `--help` or `--version`.
    Help => Done, "`--help` or `--version` printed what was asked";
    /// [`RunError::DevicesFailed`].
    DevicesFailed => PartlyFailed, "`build`: some devices failed (a device the platform refused to register is one), the others were built";
    /// [`RunError::TargetsFailed`].
    TargetsFailed => PartlyFailed, "`flash` to several targets, with or without `--pool`: some cards failed, the others were written and verified";
    /// [`RunError::LoginsFailed`].
    LoginsFailed => PartlyFailed, "`login-check`: some triples did not log in";
    /// [`PlatformError::NotOnline`].
    NotOnline => PartlyFailed, "`platform state`: devices that are not `ONLINE` (each listed with its state)";
    /// [`RunError::Mismatch`].
    Mismatch => PartlyFailed, "`verify`: files that differ from the manifest";
    /// A command line clap refuses.
    CommandLine => BadInput, "the command line: an unknown flag or subcommand, a missing or malformed value";
    /// [`RunError::Invalid`].
    Invalid => BadInput, "input that broke a rule: the recipe, the device CSV, a ledger or journal line (damaged, or a broken hash chain), a minisign key, password or signature, an age identity or encrypted device list; each problem named by file and line, or line, column and field";
    /// [`RunError::Usage`].
    Usage => BadInput, "a command line that cannot be acted on; an output directory or ledger in use by another run; a `flash` target that may not be one, or a delta, bmap or Android sparse file that breaks its format (before any target is touched)";
    /// [`RunError::Io`] of a file that is not there, and [`PlatformError::Io`] too.
    MissingFile => BadInput, "an input file that is not there, on every command";
    /// [`RegisterError::Endpoint`], [`RegisterError::Input`].
    RegistrationInput => BadInput, "`register`, `mqtt-credentials`: an endpoint, CA file or ProductKey that cannot be used";
    /// [`PlatformError::Input`].
    PlatformInput => BadInput, "`platform`: a command line, names file, device list or credential that cannot be used";
    /// [`CardFailure::TooSmall`].
    CardTooSmall => BadInput, "`flash`: a card smaller than the image; nothing was written";
    /// The pool's key, password, login or CA file.
    PoolAccess => BadInput, "the pool: a key file that does not decrypt it or that others can read, a password file others can read, a login the database refused, an `sslrootcert` without a certificate";
    /// The pool's database itself.
    PoolNotReady => BadInput, "the pool: not a pool yet, a schema newer or older than this burnline's, an SQLite file with more than one hard link, a directory that does not exist";
    /// The station's name.
    PoolStation => BadInput, "the pool: a station name held by another live process, or one that breaks the naming rule";
    /// What was asked of the pool.
    PoolRequest => BadInput, "the pool: CSV rows that conflict with it (named by line), an identity in the wrong state for what was asked";
    /// [`PoolError::Damaged`].
    PoolDamaged => BadInput, "the pool: a history whose hash chain breaks (`pool verify`), a damaged row, a secret that does not decrypt";
    /// [`RunError::Io`] of any other kind.
    Io => CannotGoOn, "an I/O failure stopped the run: a full disk, a permission";
    /// [`PoolError::Other`].
    PoolIo => CannotGoOn, "the pool: any other database or file failure";
    /// [`RegisterError::Refused`].
    Refused => CannotGoOn, "`register`: the platform refused the registration (its code is named, with what to do)";
    /// [`PlatformError::Refused`].
    PlatformRefused => CannotGoOn, "`platform`: the OpenAPI refused a call (its code and RequestId are named)";
    /// [`RunError::ProductRefused`].
    ProductRefused => CannotGoOn, "`flash --pool`, `station`: the platform refused registration for the whole product; the station stops, nothing is quarantined";
    /// [`CardFailure::NotWritable`].
    CardNotWritable => CannotGoOn, "`flash`: a card that cannot be opened for writing (write-protected, gone); nothing was written";
    /// [`CardFailure::WriteFailed`].
    CardWriteFailed => CannotGoOn, "`flash`: a write or read-back failed (the card must not be used; a pooled identity on it is quarantined); with `--pool`, a card holding an identity the pool has as verified (nothing written)";
    /// [`RegisterError::Transport`], [`RegisterError::BadResponse`].
    Network => Network, "`register`: no answer (connection, TLS, timeout), or an answer that is not the platform's";
    /// [`PlatformError::Transport`].
    PlatformNetwork => Network, "`platform`: the OpenAPI could not be reached, or its answer is not the API's";
    /// [`PoolError::Unreachable`].
    PoolUnreachable => PoolUnreachable, "the pool database cannot be reached: no server or socket, no TLS offered, a certificate that does not verify";
    /// [`PoolError::Lost`].
    PoolLost => PoolUnreachable, "the pool database was lost while a station ran";
    /// [`PoolError::ClaimLost`].
    ClaimLost => PoolUnreachable, "the station lost its claim on its name; the card in the slot is left half-written";
    /// [`PoolError::Empty`].
    PoolEmpty => PoolEmpty, "`flash --pool`: no available identity left";
    /// A panic (`crate::internal_error`).
    Internal => Internal, "a panic, in any thread: one line `burnline: internal error: MESSAGE (at FILE:LINE)`, nothing else";
    /// [`RunError::Interrupted`].
    Interrupted => Interrupted, "the first SIGINT or SIGTERM, or a closed stdout or stderr: the devices in flight were finished, the rest is left for a rerun";
    /// A second signal.
    SecondSignal => Interrupted, "a second SIGINT or SIGTERM: the run stops at once";
}

/// The case an error ends the run with: the one exit map.
pub fn case(e: &Error) -> Case {
    match e {
        Error::Run(e) => run_case(e),
        Error::Platform(p) => platform_case(p),
    }
}

/// The case a failure of the pipeline, `flash` or the station ends with.
pub fn run_case(e: &RunError) -> Case {
    match e {
        RunError::Invalid(_) => Case::Invalid,
        RunError::Usage(_) => Case::Usage,
        RunError::DevicesFailed { .. } => Case::DevicesFailed,
        RunError::TargetsFailed { .. } => Case::TargetsFailed,
        RunError::LoginsFailed { .. } => Case::LoginsFailed,
        RunError::Mismatch(_) => Case::Mismatch,
        // A file that is not there is the command line's fault, on every
        // command alike.
        RunError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Case::MissingFile
        }
        RunError::Io { .. } => Case::Io,
        RunError::Interrupted => Case::Interrupted,
        RunError::Registration(r) => match r {
            RegisterError::Refused { .. } => Case::Refused,
            RegisterError::Transport { .. } | RegisterError::BadResponse { .. } => Case::Network,
            RegisterError::Endpoint(_) | RegisterError::Input(_) => Case::RegistrationInput,
        },
        RunError::ProductRefused(_) => Case::ProductRefused,
        RunError::Card { kind, .. } => match kind {
            CardFailure::TooSmall => Case::CardTooSmall,
            CardFailure::NotWritable => Case::CardNotWritable,
            CardFailure::WriteFailed => Case::CardWriteFailed,
        },
        RunError::Pool(p) => pool_case(p),
    }
}

fn platform_case(e: &PlatformError) -> Case {
    match e {
        PlatformError::Input(_) => Case::PlatformInput,
        PlatformError::Refused { .. } => Case::PlatformRefused,
        PlatformError::Transport { .. } => Case::PlatformNetwork,
        PlatformError::NotOnline { .. } => Case::NotOnline,
        PlatformError::Io(e) if e.source.kind() == std::io::ErrorKind::NotFound => {
            Case::MissingFile
        }
        PlatformError::Io(_) => Case::Io,
        PlatformError::Pool(p) => pool_case(p),
    }
}

fn pool_case(e: &PoolError) -> Case {
    match e {
        PoolError::Unreachable { .. } => Case::PoolUnreachable,
        PoolError::Lost { .. } => Case::PoolLost,
        PoolError::ClaimLost { .. } => Case::ClaimLost,
        PoolError::Empty => Case::PoolEmpty,
        PoolError::Other(_) => Case::PoolIo,
        PoolError::Credentials { .. }
        | PoolError::CaFile { .. }
        | PoolError::KeyFile(_)
        | PoolError::Password(_)
        | PoolError::WrongKey { .. } => Case::PoolAccess,
        PoolError::Links { .. }
        | PoolError::NoDir { .. }
        | PoolError::NotAPool { .. }
        | PoolError::SchemaNewer { .. }
        | PoolError::SchemaOlder { .. } => Case::PoolNotReady,
        PoolError::StationInUse(_) | PoolError::BadStationName(_) => Case::PoolStation,
        PoolError::State(_) | PoolError::Conflicts(_) => Case::PoolRequest,
        PoolError::Damaged(_) => Case::PoolDamaged,
    }
}

/// The exit code an error ends the run with.
pub fn code(e: &Error) -> Code {
    case(e).code()
}

/// The exit code of a command line clap did not run.
pub fn cli_end(end: CliEnd) -> Code {
    match end {
        CliEnd::Shown => Case::Help,
        CliEnd::Refused => Case::CommandLine,
    }
    .code()
}

/// `docs/exit-codes.md`: a row per code, then a section per code with a
/// line per case.
pub fn page() -> String {
    let mut s = String::from(
        "# Exit codes\n\n\
         <!-- Generated by `burnline generate exit-codes` from src/exit.rs; \
         tests/exit_codes.rs keeps it equal. -->\n\n\
         Every `burnline` command ends with one of these codes. \
         `burnline-bootstrap`, the device side, has its own (see \
         crates/burnline-bootstrap/src/exit.rs).\n\n\
         | code | name | meaning |\n|---|---|---|\n",
    );
    for c in Code::ALL {
        let _ = writeln!(s, "| {} | {} | {} |", c.number(), c.name(), c.meaning());
    }
    for c in Code::ALL {
        let _ = write!(s, "\n## {}: {}\n\n", c.number(), c.name());
        for k in Case::ALL.iter().filter(|k| k.code() == c) {
            let _ = writeln!(s, "- {}", k.line());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes a station's script or systemd unit acts on, as they were
    /// when each library error carried its own number.
    #[test]
    fn library_errors_keep_their_codes() {
        let why = String::new;
        let url = || "postgres://pool".to_owned();
        let pool = [
            (
                PoolError::Unreachable {
                    url: url(),
                    why: why(),
                },
                5,
            ),
            (
                PoolError::Lost {
                    url: url(),
                    why: why(),
                },
                5,
            ),
            (
                PoolError::ClaimLost {
                    station: why(),
                    why: why(),
                },
                5,
            ),
            (PoolError::Empty, 6),
            (PoolError::Other(why()), 3),
            (PoolError::StationInUse(why()), 2),
            (PoolError::Conflicts(vec![3]), 2),
            (PoolError::Damaged(why()), 2),
        ];
        for (e, want) in pool {
            assert_eq!(code(&RunError::Pool(e).into()).number(), want);
        }
        let registration = [
            (
                RegisterError::Refused {
                    code: 6289,
                    message: why(),
                },
                3,
            ),
            (
                RegisterError::Transport {
                    url: url(),
                    detail: why(),
                },
                4,
            ),
            (
                RegisterError::BadResponse {
                    url: url(),
                    detail: why(),
                },
                4,
            ),
            (RegisterError::Input(why()), 2),
        ];
        for (e, want) in registration {
            assert_eq!(code(&RunError::Registration(e).into()).number(), want);
        }
        let missing = RunError::Io {
            context: why(),
            source: std::io::ErrorKind::NotFound.into(),
        };
        assert_eq!(code(&missing.into()), Code::BadInput);
        let missing = PlatformError::Io(burnline_io::Error {
            context: why(),
            source: std::io::ErrorKind::NotFound.into(),
        });
        assert_eq!(code(&missing.into()), Code::BadInput);
        let unreadable = PlatformError::Io(burnline_io::Error {
            context: why(),
            source: std::io::ErrorKind::PermissionDenied.into(),
        });
        assert_eq!(code(&unreadable.into()), Code::CannotGoOn);
        let pool = PlatformError::Pool(PoolError::Empty);
        assert_eq!(code(&pool.into()), Code::PoolEmpty);
        assert_eq!(cli_end(CliEnd::Refused), Code::BadInput);
        assert_eq!(cli_end(CliEnd::Shown), Code::Done);
    }
}
