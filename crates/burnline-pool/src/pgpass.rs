//! The PostgreSQL password, from where libpq takes it, so that none needs
//! to be on a command line (where every local user reads it): the URL's
//! own if it has one, else the `PGPASSWORD` environment variable, else the
//! password file (`passfile=PATH` in the URL, else `PGPASSFILE`, else
//! `~/.pgpass`). The file has libpq's format, `host:port:database:user:password`
//! per line, `*` matching anything and `\` escaping `:` and `\`; its first
//! line matching the first address the URL gives (a Unix socket matches as
//! `localhost`), the port, the database and the user gives the password. A
//! password file that its group or others can read is refused, as the
//! pool's key file is; a missing `~/.pgpass` or `PGPASSFILE` means no
//! password, a missing `passfile=` is refused.

use crate::error::{PoolError, Result};
use burnline_core::secret::Secret;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// What a password-file line is matched against.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    /// The host name (`localhost` for a Unix socket).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The database.
    pub database: &'a str,
    /// The user.
    pub user: &'a str,
}

/// The password for `want`, when the URL has none: `PGPASSWORD`, else the
/// password file (`passfile`, the URL's `passfile=`, first).
pub fn password(passfile: Option<&Path>, want: &Want<'_>) -> Result<Option<Secret>> {
    if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        let pw = Zeroizing::new(
            pw.into_string()
                .map_err(|_| PoolError::Password("PGPASSWORD: not UTF-8".into()))?,
        );
        return Ok(Some(Secret::new(pw.as_str().to_owned())));
    }
    let (path, must_exist) = match passfile {
        Some(p) => (p.to_path_buf(), true),
        None => match std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
            Some(p) => (PathBuf::from(p), false),
            None => match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
                Some(h) => (Path::new(&h).join(".pgpass"), false),
                None => return Ok(None),
            },
        },
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(None),
        Err(e) => return Err(file_error(&path, e)),
    };
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(file_error(
            &path,
            format!(
                "mode {:04o} lets others read it; it must be 0600 (chmod 600)",
                meta.permissions().mode() & 0o7777
            ),
        ));
    }
    let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?);
    Ok(lookup(&text, want))
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> PoolError {
    PoolError::Password(format!("password file {}: {why}", path.display()))
}

/// The password of the first line of `text` matching `want`.
fn lookup(text: &str, want: &Want<'_>) -> Option<Secret> {
    let port = want.port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split(line);
            let [host, p, db, user, pw] = fields.as_slice() else {
                return None;
            };
            let ok = |f: &str, v: &str| f == "*" || f == v;
            (ok(host, &want.host) && ok(p, &port) && ok(db, want.database) && ok(user, want.user))
                .then(|| Secret::new(pw.as_str().to_owned()))
        })
}

/// A line's five fields, `\` escapes undone; the last takes the rest of
/// the line.
fn split(line: &str) -> Vec<Zeroizing<String>> {
    let mut out = vec![Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(cur)) = (chars.next(), out.last_mut()) {
                    cur.push(n);
                }
            }
            ':' if out.len() < 5 => out.push(Zeroizing::new(String::new())),
            c => {
                if let Some(cur) = out.last_mut() {
                    cur.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> Want<'static> {
        Want {
            host: "db.line".into(),
            port: 5432,
            database: "pool",
            user: "burnline",
        }
    }

    #[test]
    fn first_matching_line_with_escapes_and_wildcards() {
        let text = "# comment\nother:5432:pool:burnline:no\n*:5432:pool:burnline:a\\:b/c\\\\d:e\nx:*:*:*:late\n";
        assert_eq!(lookup(text, &want()).unwrap().expose(), "a:b/c\\d:e");
        assert!(lookup("db.line:5433:pool:burnline:x\n", &want()).is_none());
        assert!(lookup("db.line:5432:pool\n", &want()).is_none());
    }

    #[test]
    fn a_file_others_can_read_is_refused_a_missing_named_one_too() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pgpass");
        std::fs::write(&f, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = password(Some(&f), &want()).unwrap_err().to_string();
        assert!(e.contains("0644") && !e.contains("pw\n"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(password(Some(&f), &want()).unwrap().unwrap().expose(), "pw");
        let e = password(Some(&d.path().join("none")), &want()).unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
    }
}
