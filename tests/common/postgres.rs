//! A throwaway PostgreSQL server for the pool tests: Debian's `postgresql`
//! (binaries under /usr/lib/postgresql/*/bin; a missing one fails the test
//! loudly), a cluster made with `initdb` in a temp dir owned by the
//! `postgres` user, run as that user with `pg_ctl`, listening on a Unix
//! socket in the temp dir and on 127.0.0.1 at a free port (password login
//! there, trust on the socket). With [`Postgres::start_tls`] it also has
//! `ssl=on` with a given server certificate. Stopped (immediately) on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser's password on TCP.
pub const PASSWORD: &str = "line-test-pw";

/// A running throwaway cluster.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Its TCP port on 127.0.0.1 (also the socket's number).
    pub port: u16,
}

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL is not installed (/usr/lib/postgresql missing): apt-get install postgresql",
        )
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql")
}

fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("no `postgres` user: apt-get install postgresql");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().expect("uid"), f[3].parse().expect("gid"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

fn run_ok(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Postgres {
    /// Makes and starts a cluster.
    pub fn start() -> Postgres {
        let pg = Postgres::init();
        pg.start_again();
        pg
    }

    /// Makes and starts a cluster with `ssl=on`, serving the certificate
    /// `cert` (PEM, its chain) with the key `key`.
    pub fn start_tls(cert: &Path, key: &Path) -> Postgres {
        let pg = Postgres::init();
        pg.set_tls(Some((cert, key)));
        pg.start_again();
        pg
    }

    /// Sets (or, with `None`, removes) the server certificate used from
    /// the next start on: with none, the server has no TLS.
    pub fn set_tls(&self, files: Option<(&Path, &Path)>) {
        let (crt, k) = (
            self.dir.path().join("server.crt"),
            self.dir.path().join("server.key"),
        );
        let _ = std::fs::remove_file(&crt);
        let _ = std::fs::remove_file(&k);
        if let Some((cert, key)) = files {
            use std::os::unix::fs::PermissionsExt;
            let (uid, gid) = postgres_ids();
            for (from, to) in [(cert, &crt), (key, &k)] {
                std::fs::copy(from, to).expect("copy a TLS file");
                std::os::unix::fs::chown(to, Some(uid), Some(gid)).expect("chown");
                std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
            }
        }
    }

    fn init() -> Postgres {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("burnline-pg-")
            .tempdir()
            .expect("temp dir");
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, PASSWORD).expect("pwfile");
        std::os::unix::fs::chown(&pw, Some(uid), Some(gid)).expect("chown");
        let mut init = as_postgres(&bin.join("initdb"));
        init.arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pw.display()))
            .args(["-E", "UTF8", "--no-sync"]);
        run_ok(init, "initdb");
        Postgres {
            dir,
            bin,
            port: free_port(),
        }
    }

    /// Starts the (stopped) server again, on the same port and socket
    /// (with TLS if a certificate is set).
    pub fn start_again(&self) {
        let crt = self.dir.path().join("server.crt");
        let ssl = if crt.exists() {
            format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                crt.display(),
                self.dir.path().join("server.key").display()
            )
        } else {
            String::new()
        };
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=60{ssl}",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "-t", "60", "start"]);
        run_ok(c, "pg_ctl start");
    }

    /// Stops the server (`-m fast`: sessions are ended, as when a server
    /// is shut down under a running line).
    pub fn stop(&self) {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"]);
        run_ok(c, "pg_ctl stop");
    }

    /// A URL over the Unix socket, for database `db`, as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@localhost/{db}?host={}&port={}",
            self.dir.path().display(),
            self.port
        )
    }

    /// A URL over TCP 127.0.0.1 with a user and password.
    pub fn tcp_url(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// A program of the server's (psql, pg_dump, createdb), run as postgres
    /// against this server.
    pub fn tool(&self, name: &str) -> Command {
        let mut c = as_postgres(&self.bin.join(name));
        c.arg("-h")
            .arg(self.dir.path())
            .arg("-p")
            .arg(self.port.to_string());
        c
    }

    /// Makes a database.
    pub fn createdb(&self, name: &str) {
        let mut c = self.tool("createdb");
        c.arg(name);
        run_ok(c, "createdb");
    }

    /// Runs SQL with psql in `db`; its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut c = self.tool("psql");
        c.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]);
        run_ok(c, "psql")
    }

    /// `pg_dump` of `db`, as text.
    pub fn dump(&self, db: &str) -> String {
        let mut c = self.tool("pg_dump");
        c.arg(db);
        run_ok(c, "pg_dump")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.output();
    }
}
