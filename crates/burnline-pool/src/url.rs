//! The pool's address, as the command line gives it: `sqlite:PATH` for the
//! embedded database (one machine), `postgres://…` (or `postgresql://…`)
//! for a line of stations. Parsed once, with [`FromStr`], so a bad URL is
//! refused before anything connects.
//!
//! burnline speaks to PostgreSQL without TLS only, over a Unix socket or a
//! loopback address: a URL asking for TLS (`sslmode=require`, `verify-ca`,
//! `verify-full`) is refused rather than silently sent in clear, and so is
//! a remote host without TLS.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the pool lives.
#[derive(Clone, PartialEq, Eq)]
pub enum PoolUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…`), kept as given.
    Postgres(String),
}

impl fmt::Debug for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for PoolUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            PoolUrl::Postgres(u) => f.write_str(&redact_password(u)),
        }
    }
}

/// `postgres://user:secret@host/db` shown as `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, tail) = match rest.find('@') {
        Some(at) if !rest[..at].contains('/') => (&rest[..at], &rest[at..]),
        _ => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{tail}"),
        None => url.to_owned(),
    }
}

impl FromStr for PoolUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, such as sqlite:pool.db".into());
            }
            return Ok(PoolUrl::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            check_postgres(s)?;
            return Ok(PoolUrl::Postgres(s.to_owned()));
        }
        Err(format!(
            "`{}` is not a pool URL: use sqlite:PATH or postgres://USER@HOST/DB",
            redact_password(s)
        ))
    }
}

/// Refuses what burnline cannot honour: TLS modes, and a host that is
/// neither a Unix socket nor a loopback address (its traffic would go in
/// clear).
fn check_postgres(url: &str) -> Result<(), String> {
    let cfg: postgres::Config = url
        .parse()
        .map_err(|e| format!("{}: not a PostgreSQL URL: {e}", redact_password(url)))?;
    let query = url.split_once('?').map(|q| q.1).unwrap_or("");
    for pair in query.split('&') {
        if let Some(mode) = pair.strip_prefix("sslmode=") {
            if matches!(mode, "require" | "verify-ca" | "verify-full") {
                return Err(format!(
                    "{}: sslmode={mode} is not supported: burnline connects to PostgreSQL without TLS, over a Unix socket or a loopback address only",
                    redact_password(url)
                ));
            }
        }
    }
    for host in cfg.get_hosts() {
        if let postgres::config::Host::Tcp(h) = host {
            let local = h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !local {
                return Err(format!(
                    "{}: host `{h}` is not a loopback address: burnline connects to PostgreSQL without TLS, so only over a Unix socket or 127.0.0.1/::1 (tunnel a remote server)",
                    redact_password(url)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            "sqlite:pool.db".parse::<PoolUrl>(),
            Ok(PoolUrl::Sqlite("pool.db".into()))
        );
        assert_eq!(
            "sqlite:///var/lib/p.db".parse::<PoolUrl>(),
            Ok(PoolUrl::Sqlite("/var/lib/p.db".into()))
        );
        assert!("sqlite:".parse::<PoolUrl>().is_err());
        assert!("mysql://x".parse::<PoolUrl>().is_err());
        assert!("postgres://u@127.0.0.1:5432/db".parse::<PoolUrl>().is_ok());
        assert!("postgres://u@localhost/db?host=/tmp/s"
            .parse::<PoolUrl>()
            .is_ok());
        let e = "postgres://u@127.0.0.1/db?sslmode=require"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("sslmode=require is not supported"), "{e}");
        let e = "postgres://u:pw@db.example.com/db"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("not a loopback"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn display_hides_the_password() {
        let u: PoolUrl = "postgres://u:hunter2@127.0.0.1/db".parse().unwrap();
        assert_eq!(u.to_string(), "postgres://u:***@127.0.0.1/db");
    }
}
