//! One connection to either database, with the few operations the pool
//! needs: run a statement, run a query, and run a closure in a transaction
//! (SQLite: `BEGIN IMMEDIATE`, so two processes never both read the same
//! available row; PostgreSQL: READ COMMITTED, with `FOR UPDATE SKIP LOCKED`
//! in the lease query). Statements are written once with `$1`-style
//! parameters, which SQLite reads as `?1`. Values are text, integers or
//! NULL, which is all the schema uses.
//!
//! Errors are sorted here into the kinds a person acts on: an unreachable
//! server, refused credentials, a connection lost mid-run, and the rest.

use crate::error::{PoolError, Result};
use crate::url::{PgTls, PoolUrl};
use std::time::Duration;

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Val {
    /// The text, or `None` for NULL (an integer shown as text).
    pub fn text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(i.to_string()),
            Val::Text(t) => Some(t.clone()),
        }
    }

    /// The integer, or `None`.
    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Text(t) => t.parse().ok(),
            Val::Null => None,
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_owned())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Val {
        o.map_or(Val::Null, Into::into)
    }
}

/// A result row.
pub type Row = Vec<Val>;

/// An open connection.
pub enum Db {
    /// SQLite.
    Lite(rusqlite::Connection),
    /// PostgreSQL.
    Pg(Box<postgres::Client>),
}

/// A transaction on a [`Db`].
pub enum Tx<'a> {
    /// SQLite.
    Lite(rusqlite::Transaction<'a>),
    /// PostgreSQL.
    Pg(postgres::Transaction<'a>),
}

/// `$1` → `?1` for SQLite.
fn lite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

fn pg_params(params: &[Val]) -> Vec<Box<dyn postgres::types::ToSql + Sync + '_>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Val::Null => Box::new(Option::<String>::None),
                Val::Int(i) => Box::new(*i),
                Val::Text(t) => Box::new(t.as_str()),
            }
        })
        .collect()
}

fn pg_row(row: &postgres::Row) -> Result<Row> {
    use postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            let v = if ty == Type::INT8 {
                row.try_get::<_, Option<i64>>(i).map(|o| o.map(Val::Int))
            } else if ty == Type::INT4 {
                row.try_get::<_, Option<i32>>(i)
                    .map(|o| o.map(|x| Val::Int(x.into())))
            } else if ty == Type::BOOL {
                row.try_get::<_, Option<bool>>(i)
                    .map(|o| o.map(|x| Val::Int(x.into())))
            } else {
                row.try_get::<_, Option<String>>(i)
                    .map(|o| o.map(Val::Text))
            };
            v.map(|o| o.unwrap_or(Val::Null))
                .map_err(|e| PoolError::Other(format!("reading a row: {e}")))
        })
        .collect()
}

fn lite_row(row: &rusqlite::Row, n: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    (0..n)
        .map(|i| {
            Ok(match row.get_ref(i)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(x) => Val::Int(x),
                ValueRef::Real(x) => Val::Text(x.to_string()),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Val::Text(String::from_utf8_lossy(t).into_owned())
                }
            })
        })
        .collect()
}

/// Sorts a PostgreSQL error into a pool error for `url`.
pub fn pg_error(url: &PoolUrl, e: postgres::Error) -> PoolError {
    use postgres::error::SqlState;
    let url_s = url.to_string();
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            || *code == SqlState::INVALID_CATALOG_NAME
        {
            return PoolError::Credentials {
                url: url_s,
                why: db.message().to_owned(),
            };
        }
        if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            return PoolError::Lost {
                url: url_s,
                why: db.message().to_owned(),
            };
        }
        return PoolError::Other(format!("{url_s}: {}", db.message()));
    }
    if let Some(why) = tls_failure(&e) {
        return PoolError::Lost { url: url_s, why };
    }
    if e.is_closed() || std::error::Error::source(&e).is_some() {
        let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
        return PoolError::Lost { url: url_s, why };
    }
    PoolError::Lost {
        url: url_s,
        why: e.to_string(),
    }
}

/// The rustls connector of a TLS URL: burnline's one client configuration
/// ([`burnline_core::tls`]), with the CA file of `sslrootcert=` added.
fn tls_connector(url: &PoolUrl, tls: &PgTls) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let ca = match &tls.root_cert {
        Some(path) => Some(std::fs::read(path).map_err(|e| PoolError::CaFile {
            url: url.to_string(),
            path: path.display().to_string(),
            why: e.to_string(),
        })?),
        None => None,
    };
    let extra: Vec<(&str, &[u8])> = ca
        .as_deref()
        .map(|pem| ("the file", pem))
        .into_iter()
        .collect();
    let config = burnline_core::tls::client_config(&extra).map_err(|why| PoolError::CaFile {
        url: url.to_string(),
        path: tls
            .root_cert
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        why,
    })?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
        config.as_ref().clone(),
    ))
}

/// A rustls failure somewhere in `e`'s sources, in words.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(burnline_core::tls::describe(
                r,
                "sslrootcert=PATH in the URL",
            ));
        }
        if let Some(r) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(burnline_core::tls::describe(
                r,
                "sslrootcert=PATH in the URL",
            ));
        }
        cur = err.source();
    }
    None
}

/// The one name an SQLite pool is opened by: its path with symlinks
/// resolved, so every process keeps the journal (`-wal`, `-shm`) next to
/// the same name. A file with more than one hard link is refused: SQLite
/// would keep a journal apart per name, and two processes opening it by
/// two names would not see each other's writes (the station claim
/// included).
fn sqlite_path(url: &PoolUrl, path: &std::path::Path) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) if m.nlink() > 1 => Err(PoolError::Links {
            url: url.to_string(),
            links: m.nlink(),
        }),
        Ok(_) => std::fs::canonicalize(path).map_err(|e| PoolError::Unreachable {
            url: url.to_string(),
            why: e.to_string(),
        }),
        Err(_) => Ok(path.to_path_buf()),
    }
}

/// The directory `path` would be made in, when it does not exist (a bare
/// file name is in the working directory, which does).
pub(crate) fn missing_dir(path: &std::path::Path) -> Option<&std::path::Path> {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
}

/// What a password-file line is matched against: the first address the
/// driver tries (a socket as `localhost`), its port, the database, the user.
fn pgpass_want(cfg: &postgres::Config) -> crate::pgpass::Want<'_> {
    use postgres::config::Host;
    let host = match (cfg.get_hosts().first(), cfg.get_hostaddrs().first()) {
        (Some(Host::Tcp(h)), _) => h.clone(),
        (None, Some(ip)) => ip.to_string(),
        _ => "localhost".to_owned(),
    };
    let user = cfg.get_user().unwrap_or_default();
    crate::pgpass::Want {
        host,
        port: cfg.get_ports().first().copied().unwrap_or(5432),
        database: cfg.get_dbname().unwrap_or(user),
        user,
    }
}

fn lite_error(url: &PoolUrl, e: rusqlite::Error) -> PoolError {
    PoolError::Other(format!("{url}: {e}"))
}

impl Db {
    /// Connects to `url`. With `create`, a missing SQLite file is made.
    pub fn connect(url: &PoolUrl, create: bool) -> Result<Db> {
        match url {
            PoolUrl::Sqlite(path) => {
                use rusqlite::OpenFlags;
                let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                if create {
                    if let Some(dir) = missing_dir(path) {
                        return Err(PoolError::NoDir {
                            what: url.to_string(),
                            dir: dir.display().to_string(),
                        });
                    }
                    flags |= OpenFlags::SQLITE_OPEN_CREATE;
                } else if !path.exists() {
                    return Err(PoolError::NotAPool {
                        url: url.to_string(),
                    });
                }
                let path = &sqlite_path(url, path)?;
                let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| {
                    PoolError::Unreachable {
                        url: url.to_string(),
                        why: e.to_string(),
                    }
                })?;
                conn.busy_timeout(Duration::from_secs(60))
                    .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
                    .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
                    .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
                    .map_err(|e| PoolError::Unreachable {
                        url: url.to_string(),
                        why: e.to_string(),
                    })?;
                if create {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
                }
                Ok(Db::Lite(conn))
            }
            PoolUrl::Postgres(pg) => {
                let mut cfg: postgres::Config =
                    pg.conn().parse().map_err(|e| PoolError::Unreachable {
                        url: url.to_string(),
                        why: format!("{e}"),
                    })?;
                if cfg.get_password().is_none() {
                    if let Some(pw) = crate::pgpass::password(pg.passfile(), &pgpass_want(&cfg))? {
                        cfg.password(pw.expose());
                    }
                }
                if cfg.get_connect_timeout().is_none() {
                    cfg.connect_timeout(Duration::from_secs(10));
                }
                cfg.application_name("burnline");
                let connected = match pg.tls() {
                    Some(tls) => cfg.connect(tls_connector(url, tls)?),
                    None => cfg.connect(postgres::NoTls),
                };
                match connected {
                    Ok(c) => Ok(Db::Pg(Box::new(c))),
                    Err(e) => Err(match pg_error(url, e) {
                        PoolError::Lost { url, why } => PoolError::Unreachable { url, why },
                        other => other,
                    }),
                }
            }
        }
    }

    /// A query outside a transaction.
    pub fn query(&mut self, url: &PoolUrl, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        match self {
            Db::Lite(c) => lite_query(c, url, sql, params),
            Db::Pg(c) => {
                let p = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    p.iter().map(|b| b.as_ref()).collect();
                let rows = c.query(sql, &refs).map_err(|e| pg_error(url, e))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Runs `f` in a transaction, committed when it returns `Ok`.
    pub fn tx<T>(&mut self, url: &PoolUrl, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        match self {
            Db::Lite(c) => {
                let t = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(|e| lite_error(url, e))?;
                let mut tx = Tx::Lite(t);
                let out = f(&mut tx)?;
                tx.commit(url)?;
                Ok(out)
            }
            Db::Pg(c) => {
                let t = c.transaction().map_err(|e| pg_error(url, e))?;
                let mut tx = Tx::Pg(t);
                let out = f(&mut tx)?;
                tx.commit(url)?;
                Ok(out)
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_pg(&self) -> bool {
        matches!(self, Db::Pg(_))
    }
}

fn lite_query(
    c: &rusqlite::Connection,
    url: &PoolUrl,
    sql: &str,
    params: &[Val],
) -> Result<Vec<Row>> {
    let mut st = c.prepare(&lite_sql(sql)).map_err(|e| lite_error(url, e))?;
    let n = st.column_count();
    let rows = st
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            lite_row(r, n)
        })
        .map_err(|e| lite_error(url, e))?;
    rows.collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(|e| lite_error(url, e))
}

impl Tx<'_> {
    /// Runs a statement; the number of rows it changed.
    pub fn exec(&mut self, url: &PoolUrl, sql: &str, params: &[Val]) -> Result<u64> {
        match self {
            Tx::Lite(t) => t
                .execute(&lite_sql(sql), rusqlite::params_from_iter(params.iter()))
                .map(|n| n as u64)
                .map_err(|e| lite_error(url, e)),
            Tx::Pg(t) => {
                let p = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    p.iter().map(|b| b.as_ref()).collect();
                t.execute(sql, &refs).map_err(|e| pg_error(url, e))
            }
        }
    }

    /// Runs a query.
    pub fn query(&mut self, url: &PoolUrl, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        match self {
            Tx::Lite(t) => lite_query(t, url, sql, params),
            Tx::Pg(t) => {
                let p = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    p.iter().map(|b| b.as_ref()).collect();
                let rows = t.query(sql, &refs).map_err(|e| pg_error(url, e))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Runs statements without parameters.
    pub fn batch(&mut self, url: &PoolUrl, sql: &str) -> Result<()> {
        match self {
            Tx::Lite(t) => t.execute_batch(sql).map_err(|e| lite_error(url, e)),
            Tx::Pg(t) => t.batch_execute(sql).map_err(|e| pg_error(url, e)),
        }
    }

    fn commit(self, url: &PoolUrl) -> Result<()> {
        match self {
            Tx::Lite(t) => t.commit().map_err(|e| lite_error(url, e)),
            Tx::Pg(t) => t.commit().map_err(|e| pg_error(url, e)),
        }
    }
}
