//! The pool's address, as the command line gives it: `sqlite:PATH` for the
//! embedded database (one machine), `postgres://…` (or `postgresql://…`)
//! for a line of stations. Parsed once, with [`FromStr`], so a bad URL is
//! refused before anything connects.
//!
//! PostgreSQL is reached either in clear, only over a Unix socket or a
//! loopback address, or over TLS (rustls), verified:
//!
//! - `sslmode=require`, `verify-ca` and `verify-full` all mean TLS with the
//!   server's certificate chain **and** host name verified (as libpq's
//!   `verify-full`); there is no mode that skips either check;
//! - the roots are Mozilla's plus, with `sslrootcert=PATH`, the PEM
//!   certificates of that file (a line's private CA);
//! - no `sslmode`, or `sslmode=disable`, is clear text: allowed to a Unix
//!   socket or a loopback host only, since the password and the secrets'
//!   ciphertexts would cross the network in clear;
//! - `sslmode=prefer` and `allow` are refused: they fall back to clear text
//!   when the server offers no TLS;
//! - TLS over a Unix socket is refused (PostgreSQL does not speak it).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the pool lives.
#[derive(Clone, PartialEq, Eq)]
pub enum PoolUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (boxed: it is the larger variant).
    Postgres(Box<PgUrl>),
}

/// A PostgreSQL URL, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// The URL as given (shown without its password).
    given: String,
    /// What the driver is given: the URL without burnline's own
    /// parameters (`sslrootcert`), with `sslmode` set to `require` or
    /// `disable`.
    conn: String,
    /// TLS, if asked for.
    tls: Option<PgTls>,
}

/// How a PostgreSQL connection is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTls {
    /// A PEM file of CA certificates trusted besides Mozilla's roots.
    pub root_cert: Option<PathBuf>,
}

impl PgUrl {
    /// The connection string for the driver (it may hold the password:
    /// never show it).
    pub fn conn(&self) -> &str {
        &self.conn
    }

    /// TLS, if the URL asks for it.
    pub fn tls(&self) -> Option<&PgTls> {
        self.tls.as_ref()
    }
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
            PoolUrl::Postgres(u) => f.write_str(&redact_password(&u.given)),
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
            return parse_postgres(s).map(|u| PoolUrl::Postgres(Box::new(u)));
        }
        Err(format!(
            "`{}` is not a pool URL: use sqlite:PATH or postgres://USER@HOST/DB",
            redact_password(s)
        ))
    }
}

/// Takes `sslmode` and `sslrootcert` out of the query, decides TLS, and
/// refuses what would go in clear over a network (see the module doc).
fn parse_postgres(url: &str) -> Result<PgUrl, String> {
    let shown = redact_password(url);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode: Option<&str> = None;
    let mut root_cert: Option<PathBuf> = None;
    let mut rest: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if let Some(m) = pair.strip_prefix("sslmode=") {
            mode = Some(m);
        } else if let Some(p) = pair.strip_prefix("sslrootcert=") {
            if p.is_empty() {
                return Err(format!("{shown}: sslrootcert needs a file path"));
            }
            root_cert = Some(PathBuf::from(p));
        } else {
            rest.push(pair);
        }
    }
    let tls = match mode {
        None | Some("disable") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(m @ ("prefer" | "allow")) => {
            return Err(format!(
                "{shown}: sslmode={m} is refused: it falls back to clear text; use sslmode=require (TLS, verified) or a Unix socket"
            ))
        }
        Some(m) => {
            return Err(format!(
                "{shown}: sslmode={m} is not a mode: use require (verify-ca and verify-full mean the same: TLS, chain and host name verified) or disable"
            ))
        }
    };
    if root_cert.is_some() && !tls {
        return Err(format!(
            "{shown}: sslrootcert is only for TLS: add sslmode=require"
        ));
    }
    rest.push(if tls {
        "sslmode=require"
    } else {
        "sslmode=disable"
    });
    let conn = format!("{base}?{}", rest.join("&"));
    let cfg: postgres::Config = conn
        .parse()
        .map_err(|e| format!("{shown}: not a PostgreSQL URL: {e}"))?;
    for host in cfg.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => {
                let local = h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if !local && !tls {
                    return Err(format!(
                        "{shown}: host `{h}` is not a loopback address: its traffic (the password, the secrets' ciphertexts) would go in clear; add sslmode=require (TLS, verified), or use a Unix socket or 127.0.0.1/::1"
                    ));
                }
            }
            postgres::config::Host::Unix(p) if tls => {
                return Err(format!(
                    "{shown}: sslmode=require with the Unix socket {}: PostgreSQL has no TLS over a socket; drop sslmode, or give a TCP host",
                    p.display()
                ));
            }
            postgres::config::Host::Unix(_) => {}
        }
    }
    Ok(PgUrl {
        given: url.to_owned(),
        conn,
        tls: tls.then_some(PgTls { root_cert }),
    })
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
        let e = "postgres://u:pw@db.example.com/db"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("not a loopback"), "{e}");
        assert!(!e.contains("pw"), "{e}");
        let e = "postgres://u:pw@db.example.com/db?sslmode=prefer"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("sslmode=prefer is refused"), "{e}");
        let e = "postgres://u@localhost/db?host=/tmp/s&sslmode=require"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("no TLS over a socket"), "{e}");
        let e = "postgres://u@127.0.0.1/db?sslrootcert=/ca.pem"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("only for TLS"), "{e}");
        assert!("postgres://u@127.0.0.1/db?sslmode=weird"
            .parse::<PoolUrl>()
            .is_err());
    }

    #[test]
    fn tls_modes() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let u: PoolUrl = format!(
                "postgres://u:pw@db.example.com/db?sslmode={mode}&sslrootcert=/etc/ca.pem&connect_timeout=3"
            )
            .parse()
            .unwrap();
            let PoolUrl::Postgres(pg) = u else {
                panic!("not postgres")
            };
            assert_eq!(
                pg.tls(),
                Some(&PgTls {
                    root_cert: Some("/etc/ca.pem".into())
                })
            );
            assert_eq!(
                pg.conn(),
                "postgres://u:pw@db.example.com/db?connect_timeout=3&sslmode=require"
            );
        }
        let PoolUrl::Postgres(pg) = "postgres://u@127.0.0.1/db".parse().unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(pg.tls(), None);
        assert_eq!(pg.conn(), "postgres://u@127.0.0.1/db?sslmode=disable");
    }

    #[test]
    fn display_hides_the_password() {
        let u: PoolUrl = "postgres://u:hunter2@127.0.0.1/db".parse().unwrap();
        assert_eq!(u.to_string(), "postgres://u:***@127.0.0.1/db");
    }
}
