//! The integration tests' one harness: the builder every test runs a
//! program with, in the style of `just`'s tests. A `Test` is a temp dir with
//! files, a command line, and what the run must show (exit status, stdout,
//! stderr, files left absent):
//! `Test::new().file(..).args([..]).status(2).stderr_contains("..").run()`.
//! `run()` checks every expectation; on a miss it panics with all the
//! misses, the command, its directory, the exit status, stdout and stderr.
//! The exit status is always checked: 0 unless the test says otherwise
//! (`status(2)`, `fails()`, `signal(6)`). `spawn()` starts the run for a
//! test that acts while it runs (polls, kills or interrupts it); its
//! `wait()` checks the same expectations.
//!
//! `Test::new()` runs burnline, `Test::bootstrap()` the device side; the
//! commands made from a test with `cmd()`, `burnline()` and `tool(NAME)` (a
//! field tool such as sgdisk or fsck.fat; a missing one fails the test
//! loudly, nothing is skipped) share its directory, so one test can build,
//! then inspect and verify what it built. The submodules hold the inputs
//! (`fixtures`), looks into built images (`images`) and the emulator, a
//! long-running process with its own helper (`emulator`).
//!
//! Cargo compiles this tree into every test binary, and each uses a part of
//! it; hence the one `allow(dead_code)` below.

#![allow(
    dead_code,
    reason = "each test binary compiles the whole harness and uses a part of it"
)]

pub mod chromium;
pub mod emulator;
pub mod fixtures;
pub mod http;
pub mod images;
pub mod markdown;
pub mod mqtt;
pub mod pool_chain;
pub mod pool_line;
pub mod postgres;
pub mod slots;
pub mod station;

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A DeviceSecret from the domain notes' test vectors.
pub const DS1: &str = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
/// A second DeviceSecret.
pub const DS2: &str = "Xq3LmN8pRt5VwYz2Ab4Cd6Ef8Gh0Ij1K";
/// The ProductSecret of the test vectors.
pub const PS: &str = "7jluWm1zql7bt8qK";
/// The ProductKey of the test vectors.
pub const PK: &str = "a1X2bEnP82z";

/// The host binary, `burnline`.
pub fn burnline_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_burnline"))
}

/// The device-side `burnline-bootstrap` binary, and the one place that says
/// where it is. It is its own workspace crate (so that it cannot link
/// image-building code), built next to `burnline` by `cargo test
/// --workspace` (which rebuilds it when it changed); a missing binary fails
/// loudly.
pub fn bootstrap_bin() -> PathBuf {
    let host = Path::new(env!("CARGO_BIN_EXE_burnline"));
    let boot = host.with_file_name("burnline-bootstrap");
    assert!(
        boot.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (scripts/test.sh does)",
        boot.display()
    );
    boot
}

/// The platform emulator, `burnline-emulator`, and the one place that says
/// where it is: next to `burnline`, where `burnline emulator` also looks for
/// it. It is its own workspace crate (so that the production `burnline`
/// carries no MQTT server and no OpenSSL), so `cargo test -p burnline`
/// does not build it: the first call in a test process builds it there
/// (`cargo build -p burnline-emulator`, in the profile and target
/// directory of `burnline`; nothing to do when it is up to date). A failed
/// build fails the test, with cargo's output.
pub fn emulator_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let host = burnline_bin();
            let profile_dir = host.parent().expect("the profile directory");
            let target = profile_dir.parent().expect("the target directory");
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "burnline-emulator",
                    "--target-dir",
                ])
                .arg(target)
                .current_dir(repo_root());
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cargo.arg("--release");
            }
            let out = cargo
                .output()
                .expect("run cargo build -p burnline-emulator");
            assert!(
                out.status.success(),
                "cargo build -p burnline-emulator failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let emu = host.with_file_name("burnline-emulator");
            assert!(emu.is_file(), "{} was not built", emu.display());
            emu
        })
        .clone()
}

/// The repository's root (its recipes/ and examples/).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path as &str, for argument lists.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A temp dir, a command to run in it, and what the run must show. A
/// partly built command can be cloned and finished in several ways.
#[derive(Clone)]
pub struct Test {
    dir: Rc<tempfile::TempDir>,
    program: PathBuf,
    cwd: Option<PathBuf>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Vec<u8>,
    status: Status,
    expects: Vec<Expect>,
}

/// The exit status a run must end with.
#[derive(Clone)]
enum Status {
    Code(i32),
    /// Not a success: a non-zero exit code, or a signal (a crash).
    Failure,
    /// Ended by this signal (6: an abort at a crash point, 9: a SIGKILL).
    Signal(i32),
    /// Any end; the test decides from the outcome (a poll).
    Any,
}

/// Which output an expectation looks at.
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
    /// stdout followed by stderr.
    Both,
}

/// One thing a run must show besides its exit status.
#[derive(Clone)]
enum Expect {
    Is(Stream, String),
    Contains(Stream, String),
    Lacks(Stream, String),
    Lines(Stream, usize),
    Count(Stream, String, usize),
    /// A line of stderr starts with `error: ` and contains the text.
    ErrorLine(String),
    Absent(PathBuf),
}

/// What a run printed, and how it ended.
pub struct Outcome {
    /// stdout as text (invalid UTF-8 replaced).
    pub stdout: String,
    /// stdout byte for byte.
    pub stdout_bytes: Vec<u8>,
    /// stderr as text.
    pub stderr: String,
    /// How the run ended (its exit status is checked by `check`).
    ended: ExitStatus,
}

impl Outcome {
    /// The exit code; `None` if a signal ended the run.
    pub fn code(&self) -> Option<i32> {
        self.ended.code()
    }

    /// stdout followed by stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A spawned run (for a test that acts while it runs: polls it, kills or
/// interrupts it); `wait()` checks it.
pub struct Running {
    child: Child,
    test: Test,
}

impl Running {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the run has ended, without waiting (its outcome is checked
    /// at `wait()`).
    pub fn has_ended(&mut self) -> bool {
        self.child.try_wait().expect("poll the command").is_some()
    }

    /// Sends SIGKILL (a crash at an arbitrary moment). A run that has
    /// already ended is left as it is.
    pub fn kill(&mut self) {
        if !self.has_ended() {
            self.child.kill().expect("SIGKILL");
        }
    }

    /// Sends SIGINT, as Ctrl-C at a terminal does.
    pub fn interrupt(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a child's pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
    }

    /// Waits for the run to end and checks every expectation.
    #[track_caller]
    pub fn wait(self) -> Outcome {
        let test = self.test.clone();
        let outcome = self.outcome();
        test.check(&outcome);
        outcome
    }

    /// Waits at most `limit` for the run to end (for a run that must not
    /// hang), then checks it as `wait()` does. A run still going at the
    /// limit is killed, and the test fails.
    #[track_caller]
    pub fn wait_within(mut self, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        while !self.has_ended() {
            if Instant::now() >= deadline {
                self.kill();
                let test = self.test.clone();
                let outcome = self.outcome();
                panic!(
                    "{}",
                    test.report(
                        &outcome,
                        &[format!("still running after {limit:?}, killed")]
                    )
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.wait()
    }

    /// Waits for the end and collects what the run printed.
    fn outcome(self) -> Outcome {
        let out = self.child.wait_with_output().expect("wait for the command");
        Outcome {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stdout_bytes: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            ended: out.status,
        }
    }
}

impl Test {
    /// `burnline` in a fresh temp dir.
    pub fn new() -> Self {
        Test {
            dir: Rc::new(tempfile::tempdir().expect("tempdir")),
            program: burnline_bin(),
            cwd: None,
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            status: Status::Code(0),
            expects: Vec::new(),
        }
    }

    /// `burnline-bootstrap` in a fresh temp dir.
    pub fn bootstrap() -> Self {
        Self::new().program(bootstrap_bin())
    }

    /// Another command in the same directory, with the same program,
    /// working directory and environment; no arguments, no expectations
    /// (exit status 0).
    pub fn cmd(&self) -> Self {
        Test {
            args: Vec::new(),
            stdin: Vec::new(),
            status: Status::Code(0),
            expects: Vec::new(),
            ..self.clone()
        }
    }

    /// `burnline` in the same directory (also from a bootstrap test).
    pub fn burnline(&self) -> Self {
        self.cmd().program(burnline_bin())
    }

    /// `burnline-emulator` in the same directory.
    pub fn emulator(&self) -> Self {
        self.cmd().program(emulator_bin())
    }

    /// A field tool (sgdisk, fsck.fat, b3sum, ...) in the same directory.
    pub fn tool(&self, name: &str) -> Self {
        self.cmd().program(name)
    }

    /// Runs `program` instead (a path, or a name looked up in PATH).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// The temp dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` (relative to the temp dir; parent
    /// directories are made).
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, contents).expect("write");
        self
    }

    /// Runs in `dir` instead of the temp dir.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable. `SOURCE_DATE_EPOCH` is removed from
    /// every run unless set here. `FAILPOINTS` set here must fire, so the
    /// test fails loudly unless burnline was built with `--features
    /// failpoints` (scripts/test.sh does); [`Test::failpoints`] sets it in
    /// any build.
    #[track_caller]
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        assert!(
            key != "FAILPOINTS" || cfg!(feature = "failpoints"),
            "this test needs FAILPOINTS={:?} to fire: run it with `cargo test --features failpoints` (scripts/test.sh does)",
            value.as_ref()
        );
        self.env.push((key.into(), Some(value.as_ref().to_owned())));
        self
    }

    /// Sets `FAILPOINTS`, whether or not this build has failpoints: for the
    /// test that a build without them ignores the variable.
    pub fn failpoints(mut self, spec: &str) -> Self {
        self.env.push(("FAILPOINTS".into(), Some(spec.into())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Feeds `bytes` to stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// The run must exit with `code` (0 unless said).
    pub fn status(mut self, code: i32) -> Self {
        self.status = Status::Code(code);
        self
    }

    /// The run must not succeed: a non-zero exit code, or a crash.
    pub fn fails(mut self) -> Self {
        self.status = Status::Failure;
        self
    }

    /// The run must end by signal `signal` (6: an abort at a crash point,
    /// 9: a SIGKILL).
    pub fn signal(mut self, signal: i32) -> Self {
        self.status = Status::Signal(signal);
        self
    }

    /// The run may end in any way: for a poll that looks at
    /// `Outcome::code()` and then checks the outcome it keeps with `check`.
    pub fn any_status(mut self) -> Self {
        self.status = Status::Any;
        self
    }

    /// stdout must be exactly `text`.
    pub fn stdout(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Is(Stream::Stdout, text.into()))
    }

    pub fn stdout_contains(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Contains(Stream::Stdout, text.into()))
    }

    pub fn stdout_lacks(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Lacks(Stream::Stdout, text.into()))
    }

    /// stdout must hold `text` exactly `n` times.
    pub fn stdout_count(self, text: impl Into<String>, n: usize) -> Self {
        self.expect(Expect::Count(Stream::Stdout, text.into(), n))
    }

    /// stderr must be exactly `text`.
    pub fn stderr(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Is(Stream::Stderr, text.into()))
    }

    pub fn stderr_contains(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Contains(Stream::Stderr, text.into()))
    }

    pub fn stderr_lacks(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Lacks(Stream::Stderr, text.into()))
    }

    /// stderr must be `n` lines (1: a one-line error).
    pub fn stderr_lines(self, n: usize) -> Self {
        self.expect(Expect::Lines(Stream::Stderr, n))
    }

    /// stderr must have an `error: ` line (burnline's one-line report of a
    /// broken rule) that contains `text`.
    pub fn error_line(self, text: impl Into<String>) -> Self {
        self.expect(Expect::ErrorLine(text.into()))
    }

    /// stdout or stderr must contain `text`.
    pub fn output_contains(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Contains(Stream::Both, text.into()))
    }

    /// Neither stdout nor stderr may contain `text` (a secret, say).
    pub fn output_lacks(self, text: impl Into<String>) -> Self {
        self.expect(Expect::Lacks(Stream::Both, text.into()))
    }

    /// After the run, `path` (relative to the temp dir) must not exist.
    pub fn absent(self, path: impl Into<PathBuf>) -> Self {
        self.expect(Expect::Absent(path.into()))
    }

    fn expect(mut self, e: Expect) -> Self {
        self.expects.push(e);
        self
    }

    /// Runs the command and checks every expectation.
    #[track_caller]
    pub fn run(&self) -> Outcome {
        self.spawn().wait()
    }

    /// Runs the command, allowing it at most `limit` (see
    /// [`Running::wait_within`]), and checks every expectation.
    #[track_caller]
    pub fn run_within(&self, limit: Duration) -> Outcome {
        self.spawn().wait_within(limit)
    }

    /// Runs the command, checks every expectation, and parses stdout as JSON.
    #[track_caller]
    pub fn stdout_json(&self) -> serde_json::Value {
        let o = self.run();
        serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| {
            panic!("{}", self.report(&o, &[format!("stdout is not JSON: {e}")]))
        })
    }

    /// Starts the command; `Running::wait` checks it. stdout and stderr
    /// are captured in pipes that are read at `wait()`: a run that prints
    /// more than a pipe holds (64 KiB) before then waits for it.
    #[track_caller]
    pub fn spawn(&self) -> Running {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(self.cwd.as_deref().unwrap_or(self.path()))
            .env_remove("SOURCE_DATE_EPOCH")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "could not run `{}` ({e}); the tests need the field tools installed \
                 (scripts/test.sh lists the Debian packages and installs them)",
                self.command_line()
            )
        });
        let mut stdin = child.stdin.take().expect("stdin pipe");
        let bytes = self.stdin.clone();
        // Written on the side, so a program that prints before it reads
        // cannot block on a full pipe; one that never reads may close it.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        Running {
            child,
            test: self.clone(),
        }
    }

    /// Panics with a full report if `outcome` (a run of this command)
    /// misses an expectation. `run()` does this itself.
    #[track_caller]
    pub fn check(&self, outcome: &Outcome) {
        let mut misses = Vec::new();
        match (&self.status, outcome.ended.code()) {
            (Status::Code(want), Some(got)) if *want == got => {}
            (Status::Failure, code) if code != Some(0) => {}
            (Status::Signal(want), _) if outcome.ended.signal() == Some(*want) => {}
            (Status::Any, _) => {}
            (Status::Code(want), _) => misses.push(format!(
                "ended with {}, wanted exit status {want}",
                ended(outcome.ended)
            )),
            (Status::Failure, _) => misses.push(format!(
                "ended with {}, wanted a failure",
                ended(outcome.ended)
            )),
            (Status::Signal(want), _) => misses.push(format!(
                "ended with {}, wanted signal {want}",
                ended(outcome.ended)
            )),
        }
        let both = outcome.text();
        let stream = |s: Stream| match s {
            Stream::Stdout => ("stdout", outcome.stdout.as_str()),
            Stream::Stderr => ("stderr", outcome.stderr.as_str()),
            Stream::Both => ("stdout and stderr", both.as_str()),
        };
        for e in &self.expects {
            let miss = match e {
                Expect::Is(s, want) => {
                    let (name, got) = stream(*s);
                    (got != want).then(|| format!("{name} is not exactly {want:?}"))
                }
                Expect::Contains(s, want) => {
                    let (name, got) = stream(*s);
                    (!got.contains(want.as_str())).then(|| format!("{name} lacks {want:?}"))
                }
                Expect::Lacks(s, unwanted) => {
                    let (name, got) = stream(*s);
                    got.contains(unwanted.as_str())
                        .then(|| format!("{name} contains {unwanted:?}, which it must not"))
                }
                Expect::Lines(s, n) => {
                    let (name, got) = stream(*s);
                    let lines = got.lines().count();
                    (lines != *n).then(|| format!("{name} has {lines} line(s), wanted {n}"))
                }
                Expect::Count(s, want, n) => {
                    let (name, got) = stream(*s);
                    let times = got.matches(want.as_str()).count();
                    (times != *n)
                        .then(|| format!("{name} holds {want:?} {times} time(s), wanted {n}"))
                }
                Expect::ErrorLine(want) => (!outcome
                    .stderr
                    .lines()
                    // `flash` and `station serve` start a piped line with its time.
                    .map(|l| {
                        l.split_once(' ')
                            .filter(|(at, _)| at.ends_with("+00:00"))
                            .map_or(l, |(_, rest)| rest)
                    })
                    .any(|l| l.starts_with("error: ") && l.contains(want.as_str())))
                .then(|| format!("stderr has no `error: ` line with {want:?}")),
                Expect::Absent(p) => {
                    let full = self.path().join(p);
                    full.exists()
                        .then(|| format!("{} exists, which it must not", full.display()))
                }
            };
            misses.extend(miss);
        }
        if !misses.is_empty() {
            panic!("{}", self.report(outcome, &misses));
        }
    }

    /// The command line, quoted as a shell would need it.
    fn command_line(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| {
                let a = a.to_string_lossy();
                let plain = !a.is_empty()
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%,+".contains(c));
                if plain {
                    a.into_owned()
                } else {
                    format!("'{}'", a.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn report(&self, o: &Outcome, misses: &[String]) -> String {
        let mut r = String::from("the run did not do what the test expects:\n");
        for m in misses {
            let _ = writeln!(r, "  - {m}");
        }
        let _ = writeln!(r, "command: {}", self.command_line());
        let cwd = self.cwd.as_deref().unwrap_or(self.path());
        let _ = writeln!(r, "in: {}", cwd.display());
        for (k, v) in &self.env {
            let v = v
                .as_deref()
                .map_or("(removed)".into(), OsStr::to_string_lossy);
            let _ = writeln!(r, "env: {}={v}", k.to_string_lossy());
        }
        let _ = writeln!(r, "ended: {}", ended(o.ended));
        for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            let _ = writeln!(r, "--- {name} ({} bytes) ---", text.len());
            let _ = writeln!(r, "{}", shorten(text));
        }
        r
    }
}

/// How a run ended, in words.
fn ended(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

/// At most 64 KiB of `text` (a binary stdout can be an image).
fn shorten(text: &str) -> String {
    const MAX: usize = 64 << 10;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} bytes more)", &text[..end], text.len() - end)
}
