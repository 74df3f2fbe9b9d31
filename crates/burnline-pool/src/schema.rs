//! The pool's schema, as numbered migrations. `pool init` applies every
//! migration newer than the database's `schema_version` (in
//! `burnline_meta`), in one transaction; every other command refuses a
//! database whose version is not this binary's [`LATEST`]: a newer one
//! (made by a newer burnline) cannot be read safely, an older one needs
//! `pool init` first.
//!
//! Tables: `identities` (one row per (ProductKey, DeviceName), its state
//! and where it went), `history` (append-only: triggers refuse UPDATE and
//! DELETE), `stations` (who ran, when last seen).
//!
//! Version 2 chains the history (`crate::chain`): `history.prev` and
//! `history.hash`, and each identity's chain head in
//! `identities.history_head`. Migrating a version-1 pool chains the
//! history it already has, in the same transaction.
//!
//! Version 3 records each identity's kind (`identities.kind`,
//! `crate::kind`), from whether it was imported with a DeviceSecret, and
//! indexes what the lease reads: the card an identity was verified on, and
//! each identity's history chain.
//!
//! Version 4 puts the
//! station claim in `stations` (`crate::station`): the holder's token, its
//! expiry by the database's clock, and what identifies the holding process
//! (boot and PID namespace, start time).

/// The newest schema version this binary knows.
pub const LATEST: i64 = 4;

/// The table every version has, created before any migration.
pub const META: &str =
    "CREATE TABLE IF NOT EXISTS burnline_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/// One migration: its version and its SQL for each database.
pub struct Migration {
    /// The version it brings the schema to.
    pub version: i64,
    /// For SQLite.
    pub sqlite: &'static str,
    /// For PostgreSQL.
    pub postgres: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: r"
CREATE TABLE identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_key TEXT NOT NULL,
    device_name TEXT NOT NULL,
    device_secret TEXT,
    issued_secret TEXT,
    state TEXT NOT NULL CHECK (state IN ('available','leased','written','verified','quarantined')),
    station TEXT,
    target TEXT,
    card TEXT,
    digest TEXT,
    lease_token TEXT,
    reason TEXT,
    imported_at INTEGER NOT NULL,
    leased_at INTEGER,
    written_at INTEGER,
    verified_at INTEGER,
    changed_at INTEGER NOT NULL,
    UNIQUE (product_key, device_name)
);
CREATE INDEX identities_state ON identities (state, id);
CREATE TABLE history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    product_key TEXT NOT NULL,
    device_name TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    station TEXT,
    target TEXT,
    card TEXT,
    reason TEXT NOT NULL
);
CREATE TRIGGER history_no_update BEFORE UPDATE ON history
    BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history
    BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
CREATE TABLE stations (
    name TEXT PRIMARY KEY,
    host TEXT,
    pid INTEGER,
    started_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
",
        postgres: r"
CREATE TABLE identities (
    id BIGSERIAL PRIMARY KEY,
    product_key TEXT NOT NULL,
    device_name TEXT NOT NULL,
    device_secret TEXT,
    issued_secret TEXT,
    state TEXT NOT NULL CHECK (state IN ('available','leased','written','verified','quarantined')),
    station TEXT,
    target TEXT,
    card TEXT,
    digest TEXT,
    lease_token TEXT,
    reason TEXT,
    imported_at BIGINT NOT NULL,
    leased_at BIGINT,
    written_at BIGINT,
    verified_at BIGINT,
    changed_at BIGINT NOT NULL,
    UNIQUE (product_key, device_name)
);
CREATE INDEX identities_state ON identities (state, id);
CREATE TABLE history (
    seq BIGSERIAL PRIMARY KEY,
    time BIGINT NOT NULL,
    product_key TEXT NOT NULL,
    device_name TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    station TEXT,
    target TEXT,
    card TEXT,
    reason TEXT NOT NULL
);
CREATE FUNCTION burnline_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the history is append-only'; END $$;
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
    FOR EACH ROW EXECUTE FUNCTION burnline_history_append_only();
CREATE TABLE stations (
    name TEXT PRIMARY KEY,
    host TEXT,
    pid BIGINT,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
",
    },
    Migration {
        version: 2,
        sqlite: r"
ALTER TABLE history ADD COLUMN prev TEXT;
ALTER TABLE history ADD COLUMN hash TEXT;
ALTER TABLE identities ADD COLUMN history_head TEXT;
",
        postgres: r"
ALTER TABLE history ADD COLUMN prev TEXT;
ALTER TABLE history ADD COLUMN hash TEXT;
ALTER TABLE identities ADD COLUMN history_head TEXT;
",
    },
    Migration {
        version: 3,
        sqlite: MIGRATION_3,
        postgres: MIGRATION_3,
    },
    Migration {
        version: 4,
        sqlite: r"
ALTER TABLE stations ADD COLUMN claim_token TEXT;
ALTER TABLE stations ADD COLUMN claim_expires INTEGER;
ALTER TABLE stations ADD COLUMN claim_boot TEXT;
ALTER TABLE stations ADD COLUMN claim_start INTEGER;
",
        postgres: r"
ALTER TABLE stations ADD COLUMN claim_token TEXT;
ALTER TABLE stations ADD COLUMN claim_expires BIGINT;
ALTER TABLE stations ADD COLUMN claim_boot TEXT;
ALTER TABLE stations ADD COLUMN claim_start BIGINT;
",
    },
];

/// Version 3, the same on both databases.
const MIGRATION_3: &str = r"
ALTER TABLE identities ADD COLUMN kind TEXT NOT NULL DEFAULT 'device-secret'
    CHECK (kind IN ('device-secret','product-secret'));
UPDATE identities SET kind = CASE WHEN device_secret IS NULL THEN 'product-secret' ELSE 'device-secret' END;
CREATE INDEX identities_kind ON identities (kind, state, id);
CREATE INDEX identities_card ON identities (card);
CREATE INDEX history_identity ON history (product_key, device_name, seq);
";
