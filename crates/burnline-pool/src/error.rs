//! What can go wrong with the pool, one kind per cause a person acts on
//! differently. (The `burnline` binary maps each to its exit code, in its
//! `exit` module.)

/// A failure of the pool. Each is one line, never holding a secret.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The database could not be reached: no server, no socket, no file,
    /// or (TLS) a server that offers no TLS or whose certificate does not
    /// verify.
    #[error("{url}: cannot reach the pool database: {why}")]
    Unreachable {
        /// The URL, without password.
        url: String,
        /// Why.
        why: String,
    },
    /// The server refused the login.
    #[error("{url}: the database refused the login: {why}")]
    Credentials {
        /// The URL, without password.
        url: String,
        /// The server's words.
        why: String,
    },
    /// The connection broke while a station was running.
    #[error("{url}: lost the pool database: {why}")]
    Lost {
        /// The URL, without password.
        url: String,
        /// Why.
        why: String,
    },
    /// The CA file of `sslrootcert=` is unreadable or holds no PEM
    /// certificate.
    #[error("{url}: sslrootcert {path}: {why}")]
    CaFile {
        /// The URL, without password.
        url: String,
        /// The CA file.
        path: String,
        /// Why.
        why: String,
    },
    /// An SQLite pool file with more than one hard link.
    #[error("{url}: the database file has {links} hard links: SQLite keeps its journal apart under each name, so processes opening it by two names do not see each other's writes; give the pool one name (remove the other links)")]
    Links {
        /// The URL.
        url: String,
        /// How many links it has.
        links: u64,
    },
    /// The directory an SQLite pool or a new key file would go in does not
    /// exist; nothing was made.
    #[error("{what}: the directory {dir} does not exist; make it first (mkdir -p {dir}); nothing was made")]
    NoDir {
        /// The pool's URL, or `key file PATH`.
        what: String,
        /// The missing directory.
        dir: String,
    },
    /// The database is not a pool (never initialized).
    #[error("{url}: not a burnline pool (run `burnline pool init --db {url}` first)")]
    NotAPool {
        /// The URL.
        url: String,
    },
    /// The schema was made by a newer burnline.
    #[error("{url}: the pool's schema version {found} is newer than this burnline knows ({known}); upgrade burnline")]
    SchemaNewer {
        /// The URL.
        url: String,
        /// In the database.
        found: i64,
        /// The newest this binary has.
        known: i64,
    },
    /// The schema is older than this binary's.
    #[error("{url}: the pool's schema version {found} is older than this burnline's ({known}); run `burnline pool init --db {url}` to migrate it")]
    SchemaOlder {
        /// The URL.
        url: String,
        /// In the database.
        found: i64,
        /// This binary's.
        known: i64,
    },
    /// The key file is unusable: missing, malformed, readable by others.
    #[error("{0}")]
    KeyFile(String),
    /// The database password's file is unusable: missing (when named),
    /// unreadable, readable by others.
    #[error("{0}")]
    Password(String),
    /// The key file does not decrypt this pool.
    #[error("key file {path}: it does not decrypt this pool (key {found}, the pool was made with key {expected}); nothing was done")]
    WrongKey {
        /// The key file.
        path: String,
        /// The fingerprint of the key given.
        found: String,
        /// The fingerprint the pool records.
        expected: String,
    },
    /// A station name is held by another live process.
    #[error("station `{0}` is in use by another live process; give each station its own --station name; nothing was done")]
    StationInUse(String),
    /// This process lost its claim on the station name while it ran: the
    /// claim expired (no renewal got through) or was taken over.
    /// Nothing more is written or recorded under it.
    #[error("station `{station}` lost its claim on its name: {why}; it stopped writing and records nothing more")]
    ClaimLost {
        /// The station name.
        station: String,
        /// Why.
        why: String,
    },
    /// A station name that breaks the naming rule.
    #[error("station name `{0}`: use 1 to 64 letters, digits, `.`, `_` or `-`")]
    BadStationName(String),
    /// No identity left to lease.
    #[error("the pool has no available identity left")]
    Empty,
    /// An identity in the wrong state for what was asked.
    #[error("{0}")]
    State(String),
    /// Rows of an import that conflict with the pool; nothing imported.
    /// The host side locates them (file and line).
    #[error("{} row(s) conflict with the pool", .0.len())]
    Conflicts(Vec<usize>),
    /// A stored secret that does not decrypt, a damaged row, or a history
    /// whose hash chain breaks (`pool verify`).
    #[error("{0}")]
    Damaged(String),
    /// Any other database or file failure.
    #[error("{0}")]
    Other(String),
}

/// Result with [`PoolError`].
pub type Result<T, E = PoolError> = std::result::Result<T, E>;
