//! Just enough of QEMU's machine protocol (QMP, JSON lines on a Unix
//! socket) for the power cuts: the handshake, a human-monitor command (the
//! block layer's `qemu-io`, which sets blkdebug breakpoints) and `cont` for
//! a guest started paused (`-S`).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A QMP connection.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket (it
    /// appears shortly after QEMU starts) and leaves the greeting mode.
    pub fn connect(path: &Path) -> Self {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(20),
                        "QEMU's monitor {}: {e}",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("monitor timeout");
        let writer = stream.try_clone().expect("monitor socket");
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = qmp.message();
        assert!(greeting.get("QMP").is_some(), "not QMP: {greeting}");
        qmp.execute(json!({"execute": "qmp_capabilities"}));
        qmp
    }

    /// Runs a human-monitor command line and returns its output.
    pub fn human(&mut self, line: &str) -> String {
        let r = self.execute(json!({
            "execute": "human-monitor-command",
            "arguments": {"command-line": line},
        }));
        r.as_str().unwrap_or_default().to_owned()
    }

    /// Lets a guest started with `-S` run.
    pub fn cont(&mut self) {
        self.execute(json!({"execute": "cont"}));
    }

    fn execute(&mut self, command: Value) -> Value {
        let mut line = command.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .expect("write to QEMU's monitor");
        loop {
            let m = self.message();
            if let Some(r) = m.get("return") {
                return r.clone();
            }
            assert!(m.get("error").is_none(), "QEMU refused {command}: {m}");
            // Anything else is an event.
        }
    }

    fn message(&mut self) -> Value {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("read QEMU's monitor");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("QMP said {line:?}: {e}"))
    }
}
