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
//!
//! The rule covers every address the driver connects to: each entry of a
//! `host` list and of a `hostaddr` list (`hostaddr` is where the driver
//! connects when given, whatever `host` says).
//!
//! A URL is shown ([`fmt::Display`]) with every password removed: the
//! user part's (all of it after the first `:`, `/` included, up to the
//! `@` the driver splits at) and every `password=` parameter. The password
//! need not be in the URL at all: see [`crate::pgpass`].

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
    /// The password file of `passfile=`, if given.
    passfile: Option<PathBuf>,
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

    /// The password file `passfile=` names, if any.
    pub fn passfile(&self) -> Option<&std::path::Path> {
        self.passfile.as_deref()
    }
}

impl PoolUrl {
    /// Whether the URL itself holds a password (which a command line
    /// shows to every local user).
    pub fn has_password(&self) -> bool {
        match self {
            PoolUrl::Sqlite(_) => false,
            PoolUrl::Postgres(u) => u
                .conn
                .parse::<postgres::Config>()
                .is_ok_and(|c| c.get_password().is_some()),
        }
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

/// A PostgreSQL URL without its passwords: the driver takes everything
/// before the first `@` as the user part, and everything in it after the
/// first `:` as the password (`/` and `?` included), so that is what is
/// masked; a user part that looks like more than a user name is masked
/// whole. Every query parameter whose name decodes to `password` is
/// masked too.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (creds, rest) = match rest.split_once('@') {
        Some((creds, rest)) => {
            let user = creds.split(':').next().unwrap_or_default();
            let shown = if user.contains(['/', '?', '&', '=', '#']) {
                "***".to_owned()
            } else if creds.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            (format!("{shown}@"), rest)
        }
        None => (String::new(), rest),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| {
                    let (k, _) = pair.split_once('=').unwrap_or((pair, ""));
                    let name = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
                    if name.trim() == "password" {
                        format!("{k}=***")
                    } else {
                        pair.to_owned()
                    }
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{creds}{rest}")
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
    let mut passfile: Option<PathBuf> = None;
    let mut rest: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if let Some(m) = pair.strip_prefix("sslmode=") {
            mode = Some(m);
        } else if let Some(p) = pair.strip_prefix("sslrootcert=") {
            if p.is_empty() {
                return Err(format!("{shown}: sslrootcert needs a file path"));
            }
            root_cert = Some(PathBuf::from(p));
        } else if let Some(p) = pair.strip_prefix("passfile=") {
            let p = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
            if p.is_empty() {
                return Err(format!("{shown}: passfile needs a file path"));
            }
            passfile = Some(PathBuf::from(p.as_ref()));
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
    check_addresses(&cfg, tls).map_err(|e| format!("{shown}: {e}"))?;
    Ok(PgUrl {
        given: url.to_owned(),
        conn,
        tls: tls.then_some(PgTls { root_cert }),
        passfile,
    })
}

/// Where the driver connects, one entry per attempt: `hostaddr`'s address
/// where it gives one, else the host. Clear text only to a Unix socket or
/// a loopback address; TLS never over a socket, and only to a host name
/// (the certificate is checked against it).
fn check_addresses(cfg: &postgres::Config, tls: bool) -> Result<(), String> {
    use postgres::config::Host;
    let hosts = cfg.get_hosts();
    let addrs = cfg.get_hostaddrs();
    let n = hosts.len().max(addrs.len());
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(format!(
            "{} host(s) but {} hostaddr(s): give one hostaddr per host, or none",
            hosts.len(),
            addrs.len()
        ));
    }
    for i in 0..n {
        let host = hosts.get(i);
        match (addrs.get(i), host) {
            (Some(ip), _) if !tls && !ip.is_loopback() => {
                return Err(format!(
                    "hostaddr `{ip}` is not a loopback address: the driver connects there, and its traffic (the password, the secrets' ciphertexts) would go in clear; add sslmode=require (TLS, verified), or use a Unix socket or 127.0.0.1/::1"
                ));
            }
            (Some(ip), None | Some(Host::Unix(_))) if tls => {
                return Err(format!(
                    "sslmode=require with hostaddr `{ip}` and no host name: TLS checks the server's certificate against a host name; give host=NAME for each hostaddr"
                ));
            }
            (Some(_), _) => {}
            (None, Some(Host::Tcp(h))) => {
                let local = h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if !local && !tls {
                    return Err(format!(
                        "host `{h}` is not a loopback address: its traffic (the password, the secrets' ciphertexts) would go in clear; add sslmode=require (TLS, verified), or use a Unix socket or 127.0.0.1/::1"
                    ));
                }
            }
            (None, Some(Host::Unix(p))) if tls => {
                return Err(format!(
                    "sslmode=require with the Unix socket {}: PostgreSQL has no TLS over a socket; drop sslmode, or give a TCP host",
                    p.display()
                ));
            }
            (None, _) => {}
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
        assert!(u.has_password());
        for (url, shown) in [
            (
                "postgres://u:ab/cd?e@127.0.0.1/db",
                "postgres://u:***@127.0.0.1/db",
            ),
            (
                "postgres://u@127.0.0.1/db?connect_timeout=3&password=hunter2",
                "postgres://u@127.0.0.1/db?connect_timeout=3&password=***",
            ),
            (
                "postgres://u@127.0.0.1/db?pass%77ord=hunter2",
                "postgres://u@127.0.0.1/db?pass%77ord=***",
            ),
        ] {
            let u: PoolUrl = url.parse().unwrap();
            assert_eq!(u.to_string(), shown);
            assert!(u.has_password(), "{url}");
        }
        let u: PoolUrl = "postgres://u@127.0.0.1/db?passfile=/etc/pw"
            .parse()
            .unwrap();
        assert!(!u.has_password());
        let PoolUrl::Postgres(pg) = u else {
            panic!("not postgres")
        };
        assert_eq!(pg.passfile(), Some(std::path::Path::new("/etc/pw")));
        assert!(!pg.conn().contains("passfile"));
        // Refusals do not show it either.
        for url in [
            "postgres://u:Zq/9xW@db.example.com/db",
            "postgres://u@db.example.com/db?password=Zq/9xW",
            "postgres://u@localhost/db?password=Zq/9xW&hostaddr=10.0.0.1",
            "mysql://u:Zq/9xW@x/db",
        ] {
            let e = url.parse::<PoolUrl>().unwrap_err();
            assert!(!e.contains("Zq") && !e.contains("9xW"), "{e}");
        }
    }

    #[test]
    fn every_address_the_driver_connects_to_is_checked() {
        for url in [
            "postgres://u@localhost/line?hostaddr=10.77.0.1",
            "postgres://u@/line?host=/tmp/s&hostaddr=10.77.0.1",
            "postgres://u@127.0.0.1,db.example.com/line",
            "postgres://u@localhost/line?host=db.example.com",
            "postgres://u@localhost,127.0.0.1/line?hostaddr=127.0.0.1,10.0.0.1",
            "postgres://u@/line?hostaddr=10.77.0.1",
        ] {
            let e = url.parse::<PoolUrl>().unwrap_err();
            assert!(e.contains("not a loopback address"), "{url}: {e}");
        }
        for url in [
            "postgres://u@localhost/line?hostaddr=127.0.0.1",
            "postgres://u@localhost,127.0.0.1/line?hostaddr=127.0.0.1,::1",
            "postgres://u@db.example.com/line?hostaddr=10.77.0.1&sslmode=require",
        ] {
            assert!(url.parse::<PoolUrl>().is_ok(), "{url}");
        }
        let e = "postgres://u@/line?hostaddr=10.77.0.1&sslmode=require"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("no host name"), "{e}");
        let e = "postgres://u@a,b/line?hostaddr=127.0.0.1"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(e.contains("one hostaddr per host"), "{e}");
    }
}
