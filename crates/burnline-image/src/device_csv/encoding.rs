//! The device CSV as offices save it. Chinese Excel saves "CSV" in GBK
//! (GB18030 is its superset), Excel in many other locales separates the
//! columns with `;`: both are read, and the run says so. An Excel workbook,
//! a UTF-16 text and an empty file are refused with what to do instead.
//!
//! The encoding is told from the first non-ASCII bytes (up to 64 KiB of
//! them): valid UTF-8 is UTF-8, anything else is GB18030. Every byte before
//! them is ASCII, which both read alike, so the decision never has to look
//! back. From then on the text is decoded to UTF-8 as it is streamed, never
//! held whole; a byte the encoding does not allow fails the read. It works
//! on the plaintext, so an encrypted list is decoded after it is decrypted.

use crate::error::{Error, Result};
use encoding_rs::{Decoder, DecoderResult, Encoding, GB18030, UTF_8};
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

/// How many raw bytes are read ahead, and looked at to tell the encoding.
const WINDOW: usize = 64 << 10;

/// Where a zip (an `.xlsx`) starts.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Where an OLE2 compound file (an old `.xls`) starts.
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The encoding the text was found to be in, once a non-ASCII byte showed it.
#[derive(Debug, Default)]
pub struct Found(OnceLock<&'static Encoding>);

impl Found {
    /// `Some("GB18030")` when the text was decoded from GB18030 (GBK); `None`
    /// for UTF-8 or plain ASCII.
    pub fn not_utf8(&self) -> Option<&'static str> {
        self.0.get().filter(|e| **e != UTF_8).map(|_| "GB18030")
    }
}

/// The list, sniffed: its text as UTF-8, and how its columns are separated.
pub struct Sniffed {
    /// The text, decoded to UTF-8.
    pub text: Decoded,
    /// `b','`, or `b';'` when the header row has `;` and no `,`.
    pub delimiter: u8,
    /// The encoding found (filled in as the text is read).
    pub found: Arc<Found>,
}

/// Looks at the start of the list and refuses what is not a CSV.
pub fn sniff(input: Box<dyn Read + Send>, at: &str) -> Result<Sniffed> {
    let refuse = |rule: &str| Error::invalid(at, "", rule);
    let mut text = Decoded {
        inner: input,
        raw: Vec::with_capacity(WINDOW),
        pos: 0,
        eof: false,
        failed: None,
        decoder: None,
        out: Vec::new(),
        out_pos: 0,
        broken: None,
        found: Arc::new(Found::default()),
    };
    text.fill_raw()
        .map_err(|e| Error::invalid(at, "", e.to_string()))?;
    let head = text.raw.as_slice();
    if head.starts_with(ZIP_MAGIC) {
        return Err(refuse(
            "an Excel workbook (.xlsx), not a CSV: save it as CSV UTF-8 \
             (Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\")",
        ));
    }
    if head.starts_with(OLE_MAGIC) {
        return Err(refuse(
            "an old Excel workbook (.xls), not a CSV: save it as CSV UTF-8 \
             (Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\")",
        ));
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Err(refuse(
            "UTF-16 text (Excel's \"Unicode Text\"), not a CSV: save it as CSV UTF-8",
        ));
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text.eof && body.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(
            "the device CSV is empty: no header row, no devices (export the list again)",
        ));
    }
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    // `,` and `;` are never part of a multi-byte character in UTF-8 or GB18030.
    let delimiter = if !first_line.contains(&b',') && first_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let found = Arc::clone(&text.found);
    Ok(Sniffed {
        text,
        delimiter,
        found,
    })
}

/// The list's text decoded to UTF-8 as it is read.
pub struct Decoded {
    inner: Box<dyn Read + Send>,
    /// Raw bytes read ahead; `raw[pos..]` are not decoded yet.
    raw: Vec<u8>,
    pos: usize,
    /// `inner` has no more bytes.
    eof: bool,
    /// `inner` failed after the bytes in `raw`.
    failed: Option<io::Error>,
    /// `None` while every byte so far was ASCII.
    decoder: Option<Decoder>,
    /// Decoded bytes; `out[out_pos..]` are not handed out yet.
    out: Vec<u8>,
    out_pos: usize,
    /// A malformed byte found after some text was decoded: the read after
    /// that text fails with it.
    broken: Option<String>,
    found: Arc<Found>,
}

impl Decoded {
    /// Moves what is not decoded to the front of `raw` and reads until it
    /// holds [`WINDOW`] bytes or the input ends. A read that fails after
    /// some bytes came (a truncated encrypted list) fails once those bytes
    /// are used up, so it is told at the line it cut.
    fn fill_raw(&mut self) -> io::Result<()> {
        self.raw.drain(..self.pos);
        self.pos = 0;
        if self.raw.is_empty() {
            if let Some(e) = self.failed.take() {
                self.eof = true;
                return Err(e);
            }
        }
        while self.raw.len() < WINDOW && !self.eof && self.failed.is_none() {
            let have = self.raw.len();
            self.raw.resize(WINDOW, 0);
            let read = self.inner.read(&mut self.raw[have..]);
            self.raw.truncate(have + read.as_ref().map_or(0, |n| *n));
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.raw.is_empty() => {
                    self.eof = true;
                    return Err(e);
                }
                Err(e) => self.failed = Some(e),
            }
        }
        Ok(())
    }

    /// The encoding of `raw[pos..]`, which starts with a non-ASCII byte.
    fn decide(&self) -> &'static Encoding {
        match std::str::from_utf8(&self.raw[self.pos..]) {
            Ok(_) => UTF_8,
            // Cut at the window's end, not broken.
            Err(e) if e.error_len().is_none() && !self.eof && e.valid_up_to() > 0 => UTF_8,
            Err(_) => GB18030,
        }
    }

    /// Decodes the next piece into `out`; `false` at the end of the text.
    fn next_piece(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        if let Some(rule) = self.broken.take() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, rule));
        }
        if self.pos == self.raw.len() {
            if !self.eof {
                self.fill_raw()?;
            }
            if self.pos == self.raw.len() {
                // The end: a character cut off there is broken.
                return match self.decoder.take() {
                    Some(mut d) => self.decode(&mut d, true).map(|()| !self.out.is_empty()),
                    None => Ok(false),
                };
            }
        }
        if self.decoder.is_none() {
            let ascii = self.raw[self.pos..]
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(self.raw.len() - self.pos);
            if ascii > 0 {
                self.out
                    .extend_from_slice(&self.raw[self.pos..self.pos + ascii]);
                self.pos += ascii;
                return Ok(true);
            }
            if !self.eof {
                self.fill_raw()?;
            }
            let encoding = self.decide();
            let _ = self.found.0.set(encoding);
            self.decoder = Some(encoding.new_decoder_without_bom_handling());
        }
        if let Some(mut d) = self.decoder.take() {
            let result = self.decode(&mut d, false);
            self.decoder = Some(d);
            result?;
        }
        Ok(true)
    }

    /// Decodes `raw[pos..]` into `out`, failing on a malformed byte.
    fn decode(&mut self, d: &mut Decoder, last: bool) -> io::Result<()> {
        let input = &self.raw[self.pos..];
        let room = d
            .max_utf8_buffer_length_without_replacement(input.len())
            .unwrap_or(usize::MAX)
            .min(4 * WINDOW + 16);
        self.out.resize(room, 0);
        let (result, read, written) =
            d.decode_to_utf8_without_replacement(input, &mut self.out, last);
        self.pos += read;
        self.out.truncate(written);
        match result {
            DecoderResult::InputEmpty | DecoderResult::OutputFull => Ok(()),
            DecoderResult::Malformed(_, _) => {
                let rule = if d.encoding() == UTF_8 {
                    "bytes that are not UTF-8, though the file's start is; save the whole list \
                     as CSV UTF-8"
                } else {
                    "bytes that are neither UTF-8 nor GB18030 (GBK); save the list as CSV UTF-8"
                }
                .to_owned();
                if written > 0 {
                    // The text before them is handed out first, so the
                    // failure is told at its own line.
                    self.broken = Some(rule);
                    Ok(())
                } else {
                    Err(io::Error::new(io::ErrorKind::InvalidData, rule))
                }
            }
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if buf.is_empty() || !self.next_piece()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}
