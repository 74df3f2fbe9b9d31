//! Just enough HTTP/1.1 for the emulator: one request per connection, a body
//! by `Content-Length` (no chunked bodies), answered with a JSON body and
//! `Connection: close`. Bounded: 16 KiB of head, 64 KiB of body.

use std::io::{self, Read, Write};

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

/// A request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The body.
    pub body: zeroize::Zeroizing<Vec<u8>>,
}

/// Why no request was read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed before sending a request.
    #[error("connection closed")]
    Closed,
    /// Not a request this server takes (answered with 400 or 413).
    #[error("{1}")]
    Bad(u16, &'static str),
    /// Socket or TLS failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Reads one request.
pub fn read_request<S: Read>(s: &mut S) -> Result<Request, ReadError> {
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(1024));
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find_head_end(&buf) {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Bad(400, "truncated request")
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ReadError::Bad(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400, "only HTTP/1.x is served"));
    }
    let mut length = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "bad header line"));
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .trim()
                .parse()
                .map_err(|_| ReadError::Bad(400, "bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ReadError::Bad(
                400,
                "chunked bodies are not served; send Content-Length",
            ));
        }
    }
    if length > MAX_BODY {
        return Err(ReadError::Bad(413, "body too large"));
    }
    let mut body = zeroize::Zeroizing::new(buf[head_end + 4..].to_vec());
    if body.len() > length {
        body.truncate(length);
    }
    while body.len() < length {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadError::Bad(400, "truncated body"));
        }
        let take = n.min(length - body.len());
        body.extend_from_slice(&chunk[..take]);
    }
    zeroize::Zeroize::zeroize(&mut chunk);
    let path = target.split('?').next().unwrap_or("").to_owned();
    Ok(Request {
        method: method.to_owned(),
        path,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// Writes a JSON answer and flushes.
pub fn write_response<S: Write>(s: &mut S, status: u16, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_post() {
        let raw = b"POST /auth/register/device?x=1 HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\nab=cdEXTRA";
        let r = read_request(&mut &raw[..]).expect("parses");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/auth/register/device");
        assert_eq!(&r.body[..], b"ab=cd");
        assert!(matches!(
            read_request(&mut &b""[..]),
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            read_request(&mut &b"GARBAGE\r\n\r\n"[..]),
            Err(ReadError::Bad(400, _))
        ));
        assert!(matches!(
            read_request(&mut &b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab"[..]),
            Err(ReadError::Bad(400, _))
        ));
    }
}
