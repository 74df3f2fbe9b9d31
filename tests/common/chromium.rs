//! Headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol on a pipe (`--remote-debugging-pipe`: commands on its fd 3,
//! answers on its fd 4, each message ending in a NUL byte), so a test can
//! keep one page open while the service changes under it, read the live
//! DOM with `Runtime.evaluate` and save screenshots. A fresh profile in a
//! temp dir, and the switches that keep it off the network on this closed
//! machine. A missing `chromium` fails the test loudly.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running browser with one page.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    answers: Receiver<serde_json::Value>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

/// How long one DevTools command may take (the first one waits for the
/// browser to start, which on a loaded 2-core machine can take a while).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

impl Browser {
    /// Starts Chromium and opens `url` in a 1280×900 page.
    pub fn open(url: &str) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("log");
        // fd 3 is the pipe's read end (our stdin), fd 4 its write end (our
        // stdout); Chromium's own stdout goes to the log.
        let mut child = Command::new("bash")
            .args(["-c", "exec \"$0\" \"$@\" 3<&0 4>&1 1>&2"])
            .arg("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            // A zone other than the stations' (+08:00): the page must show
            // the station's times, not the browser's.
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start chromium (Debian's `chromium` package)");
        let input = child.stdin.take().expect("stdin");
        let output = child.stdout.take().expect("stdout");
        let (tx, answers) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(output);
            loop {
                let mut msg = Vec::new();
                match r.read_until(0, &mut msg) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                msg.pop();
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&msg) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            input,
            answers,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = b.call(
            None,
            "Target.createTarget",
            serde_json::json!({ "url": "about:blank" }),
        );
        let id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = b.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({ "targetId": id, "flatten": true }),
        );
        b.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        b.page(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({
                "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false
            }),
        );
        b.page("Page.enable", serde_json::json!({}));
        b.page("Page.navigate", serde_json::json!({ "url": url }));
        b
    }

    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.input.write_all(&bytes).expect("write to chromium");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.answers.recv_timeout(left).unwrap_or_else(|_| {
                let log = std::fs::read_to_string(self._profile.path().join("chromium.log"))
                    .unwrap_or_default();
                let tail = log.get(log.len().saturating_sub(2000)..).unwrap_or(&log);
                panic!("chromium did not answer {method} within {COMMAND_TIMEOUT:?}; its log ends:\n{tail}")
            });
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
        }
    }

    fn page(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let s = self.session.clone();
        self.call(Some(&s), method, params)
    }

    /// Evaluates `expr` in the page; its value, as JSON.
    pub fn eval(&mut self, expr: &str) -> serde_json::Value {
        let r = self.page(
            "Runtime.evaluate",
            serde_json::json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Evaluates `expr` until `ok` holds for its value, at most `limit`;
    /// the last value (the test fails at the limit, with that value).
    #[track_caller]
    pub fn wait_for(
        &mut self,
        expr: &str,
        limit: Duration,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.eval(expr);
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed what the test waits for within {limit:?}; last: {v}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot of the page as PNG.
    pub fn screenshot(&mut self, to: &Path) {
        use base64::Engine as _;
        let r = self.page(
            "Page.captureScreenshot",
            serde_json::json!({ "format": "png" }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("base64");
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(to, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
