//! The label of a verified card: the DeviceName, the ProductKey, the date,
//! and a QR code of the DeviceName, as a PNG (for any printer, and to look
//! at) and as ZPL (Zebra printers). Written only for a card the pool has
//! marked verified, each file under a new, unpredictable temp name first
//! (never through a link planted in a shared label directory: see
//! [`atomic`]), then synced and renamed. The same card and date give the
//! same bytes.
//!
//! The PNG's text is drawn with the public-domain 8×8 bitmap font of the
//! `font8x8` crate, scaled up; every character a DeviceName or ProductKey
//! may hold is in it.

use burnline_image::error::{Error, IoContext, Result};
use burnline_io::atomic;
use std::path::{Path, PathBuf};

/// What a label says.
#[derive(Debug, Clone)]
pub struct Label<'a> {
    /// The DeviceName (also the QR code's content).
    pub device_name: &'a str,
    /// The ProductKey.
    pub product_key: &'a str,
    /// The date, `YYYY-MM-DD`.
    pub date: &'a str,
}

/// The files written for one label.
#[derive(Debug, Clone)]
pub struct LabelFiles {
    /// The PNG.
    pub png: PathBuf,
    /// The ZPL.
    pub zpl: PathBuf,
}

/// Pixels of one QR module.
const MODULE: usize = 6;
/// White modules around the code (the QR standard's quiet zone).
const QUIET: usize = 4;

/// A grey-scale picture, one byte a pixel (0 black, 255 white).
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height],
        }
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for row in y..(y + h).min(self.height) {
            let start = row * self.width;
            for px in &mut self.pixels[start + x.min(self.width)..start + (x + w).min(self.width)] {
                *px = 0;
            }
        }
    }

    /// Draws `text` at (x, y), each font pixel `scale` pixels wide.
    fn text(&mut self, x: usize, y: usize, scale: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            // ASCII from the font; anything else a full block (none occurs:
            // identities are ASCII).
            let glyph = font8x8::legacy::BASIC_LEGACY
                .get(c as usize)
                .copied()
                .unwrap_or([0xff; 8]);
            for (gy, bits) in glyph.iter().enumerate() {
                for gx in 0..8 {
                    if bits >> gx & 1 == 1 {
                        self.fill(x + (i * 8 + gx) * scale, y + gy * scale, scale, scale);
                    }
                }
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let encoded = enc
            .write_header()
            .and_then(|mut w| w.write_image_data(&self.pixels));
        encoded.map_err(|e| Error::Usage(format!("encoding a label as PNG: {e}")))?;
        Ok(out)
    }
}

fn qr(text: &str) -> Result<qrcode::QrCode> {
    qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::Usage(format!("DeviceName `{text}` does not fit a QR code: {e}")))
}

/// The label as PNG bytes: the QR code on the left, the three lines of
/// text on the right.
pub fn png(label: &Label<'_>) -> Result<Vec<u8>> {
    let code = qr(label.device_name)?;
    let n = code.width();
    let side = (n + 2 * QUIET) * MODULE;
    let lines = [
        (4, label.device_name),
        (3, label.product_key),
        (3, label.date),
    ];
    let text_w = lines
        .iter()
        .map(|(scale, t)| t.chars().count() * 8 * scale)
        .max()
        .unwrap_or(0);
    let mut c = Canvas::new(side + text_w + 24, side.max(140));
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % n, i / n);
            c.fill((x + QUIET) * MODULE, (y + QUIET) * MODULE, MODULE, MODULE);
        }
    }
    let mut y = QUIET * MODULE;
    for (scale, t) in lines {
        c.text(side, y, scale, t);
        y += 8 * scale + 12;
    }
    c.png()
}

/// ZPL field data: `^FH` hex escapes for the characters ZPL gives a meaning.
fn zpl_field(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '^' | '~' | '_' | '\\' => format!("_{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// The label as ZPL II (a 2×1 inch label at 203 dpi).
pub fn zpl(label: &Label<'_>) -> String {
    let dn = zpl_field(label.device_name);
    format!(
        "^XA\n^CI28\n^PW406\n^LL203\n\
         ^FO10,10^BQN,2,4^FH^FDQA,{dn}^FS\n\
         ^FO170,30^A0N,30,30^FH^FD{dn}^FS\n\
         ^FO170,80^A0N,24,24^FH^FD{}^FS\n\
         ^FO170,120^A0N,24,24^FH^FD{}^FS\n\
         ^XZ\n",
        zpl_field(label.product_key),
        zpl_field(label.date)
    )
}

/// A file name for a label: the ProductKey and DeviceName, with anything
/// but letters, digits, `-`, `_`, `.` and `@` made `_`.
fn stem(label: &Label<'_>) -> String {
    format!("{}_{}", label.product_key, label.device_name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the PNG and ZPL of a verified card into `dir` (made if missing).
pub fn write(dir: &Path, label: &Label<'_>) -> Result<LabelFiles> {
    std::fs::create_dir_all(dir).at("creating the label directory", dir)?;
    let stem = stem(label);
    let files = LabelFiles {
        png: dir.join(format!("{stem}.png")),
        zpl: dir.join(format!("{stem}.zpl")),
    };
    atomic::write_file(&files.png, &png(label)?)?;
    atomic::write_file(&files.zpl, zpl(label).as_bytes())?;
    Ok(files)
}

/// How long a print command may take.
const PRINT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `command` with `file` appended; fails (in words) if it cannot be
/// started, exits non-zero, or takes longer than 30 s (then it is killed).
pub fn print(command: &[String], file: &Path) -> std::result::Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("no print command".into());
    };
    let mut child = std::process::Command::new(program)
        .args(args)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("the print command `{program}` could not be started: {e}"))?;
    let deadline = std::time::Instant::now() + PRINT_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(format!("the print command `{program}` failed ({s})")),
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the print command `{program}` took over 30 s and was stopped"
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for the print command `{program}`: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Label<'static> = Label {
        device_name: "gw-000001",
        product_key: "a1X2bEnP82z",
        date: "2026-12-02",
    };

    #[test]
    fn the_same_label_gives_the_same_bytes() {
        assert_eq!(png(&L).expect("png"), png(&L).expect("png"));
        assert!(png(&L).expect("png").starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    #[test]
    fn zpl_holds_the_qr_and_the_three_lines() {
        let z = zpl(&L);
        assert!(z.starts_with("^XA") && z.trim_end().ends_with("^XZ"));
        assert!(z.contains("^BQN,2,4^FH^FDQA,gw-000001^FS"));
        assert!(z.contains("a1X2bEnP82z") && z.contains("2026-12-02"));
        let odd = Label {
            device_name: "a^b_c",
            ..L
        };
        assert!(zpl(&odd).contains("a_5Eb_5Fc"));
    }

    #[test]
    fn a_failing_print_command_is_reported() {
        let e = print(&["false".into()], Path::new("x")).expect_err("fails");
        assert!(e.contains("failed"), "{e}");
        assert!(print(&["true".into()], Path::new("x")).is_ok());
        let e = print(&["/nonexistent/lp".into()], Path::new("x")).expect_err("fails");
        assert!(e.contains("could not be started"), "{e}");
    }
}
