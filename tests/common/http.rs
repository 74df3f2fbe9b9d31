//! A plain HTTP/1.1 client for the tests' loopback servers: one request
//! per connection (`Connection: close`), the status and the body back (or
//! a request written out whole, `send`, for headers a test forges);
//! and the first events of a server-sent event stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The status code and body of `METHOD path` on `addr`, with `headers`.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `GET path` as JSON; panics unless the status is 200.
#[track_caller]
pub fn get_json(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = request(addr, "GET", path, &[]);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// The first `n` `data:` payloads of the event stream at `path`, parsed.
pub fn events(addr: &str, path: &str, n: usize) -> Vec<serde_json::Value> {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("send");
    let mut out = Vec::new();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    while out.len() < n {
        line.clear();
        if r.read_line(&mut line).expect("read the stream") == 0 {
            break;
        }
        // Chunked transfer: the event lines arrive inside chunks intact.
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            out.push(serde_json::from_str(data).expect("an event's JSON"));
        }
    }
    out
}

/// Sends `request` (a whole HTTP/1.1 request, as written) to `addr`; the
/// status code, the head (lower-cased) and the body of the answer.
pub fn send(addr: &str, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}
