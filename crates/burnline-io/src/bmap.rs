//! bmap files (bmaptool's format 2.0): which 4096-byte blocks of an image
//! hold data, with a SHA-256 per range, so `bmaptool copy` and
//! `burnline flash` skip the rest. The map comes from the writer's own
//! extents (the base's data extents plus the device's patches), never from
//! the host file system, so it is the same on ext4, XFS or tmpfs.

use super::patch::Patch;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The block size burnline's bmaps use.
pub const BLOCK: u64 = 4096;

/// A parsed bmap.
#[derive(Debug, Clone)]
pub struct Bmap {
    /// Image size in bytes.
    pub image_size: u64,
    /// Block size in bytes.
    pub block_size: u64,
    /// Mapped byte ranges (start, length), sorted, with their SHA-256 (hex).
    pub ranges: Vec<(u64, u64, String)>,
}

/// Merges byte extents and patches into sorted, inclusive block ranges.
pub fn block_ranges(extents: &[(u64, u64)], patches: &[Patch], len: u64) -> Vec<(u64, u64)> {
    let mut spans: Vec<(u64, u64)> = extents
        .iter()
        .copied()
        .chain(patches.iter().map(|p| (p.offset, p.bytes.len() as u64)))
        .filter(|&(s, l)| l > 0 && s < len)
        .map(|(s, l)| (s / BLOCK, ((s + l).min(len) - 1) / BLOCK))
        .collect();
    spans.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Renders the bmap of the `len`-byte `image` with the given block ranges,
/// hashing each range from the image.
pub fn render(image: &File, len: u64, ranges: &[(u64, u64)]) -> io::Result<String> {
    let mut body = String::new();
    let mut mapped = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for &(first, last) in ranges {
        let (start, end) = (first * BLOCK, ((last + 1) * BLOCK).min(len));
        let mut h = Sha256::new();
        let mut pos = start;
        while pos < end {
            let n = ((end - pos) as usize).min(buf.len());
            image.read_exact_at(&mut buf[..n], pos)?;
            h.update(&buf[..n]);
            pos += n as u64;
        }
        mapped += last - first + 1;
        let r = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        body.push_str(&format!(
            "        <Range chksum=\"{}\"> {r} </Range>\n",
            hex::encode(h.finalize())
        ));
    }
    let blocks = len.div_ceil(BLOCK);
    let text = format!(
        "<?xml version=\"1.0\" ?>\n<!-- Made by burnline from its own extents. -->\n<bmap version=\"2.0\">\n    \
         <ImageSize> {len} </ImageSize>\n    <BlockSize> {BLOCK} </BlockSize>\n    \
         <BlocksCount> {blocks} </BlocksCount>\n    <MappedBlocksCount> {mapped} </MappedBlocksCount>\n    \
         <ChecksumType> sha256 </ChecksumType>\n    <BmapFileChecksum> {} </BmapFileChecksum>\n    \
         <BlockMap>\n{body}    </BlockMap>\n</bmap>\n",
        "0".repeat(64)
    );
    let sum = hex::encode(Sha256::digest(text.as_bytes()));
    Ok(text.replacen(&"0".repeat(64), &sum, 1))
}

fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let a = text.find(&open)? + open.len();
    let b = a + text[a..].find(&close)?;
    Some(text[a..b].trim())
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Parses a bmap (version 2.x, sha256) and checks its BmapFileChecksum.
pub fn parse(text: &str) -> io::Result<Bmap> {
    if !text.contains("<bmap version=\"2.") {
        return Err(bad("not a bmap of version 2.x"));
    }
    if tag(text, "ChecksumType") != Some("sha256") {
        return Err(bad("bmap checksum type is not sha256"));
    }
    let file_sum =
        tag(text, "BmapFileChecksum").ok_or_else(|| bad("bmap has no BmapFileChecksum"))?;
    let zeroed = text.replacen(file_sum, &"0".repeat(file_sum.len()), 1);
    if hex::encode(Sha256::digest(zeroed.as_bytes())) != file_sum {
        return Err(bad(
            "bmap file checksum does not match: the bmap is corrupted",
        ));
    }
    let num = |name: &str| -> io::Result<u64> {
        tag(text, name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(format!("bmap has no valid {name}")))
    };
    let image_size = num("ImageSize")?;
    let block_size = num("BlockSize")?;
    if block_size == 0 {
        return Err(bad("bmap block size is 0"));
    }
    let mut ranges = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<Range") {
        rest = &rest[i..];
        let gt = rest.find('>').ok_or_else(|| bad("bad Range element"))?;
        let attrs = &rest[..gt];
        let end = rest
            .find("</Range>")
            .ok_or_else(|| bad("bad Range element"))?;
        let body = rest[gt + 1..end].trim();
        let sum = attrs
            .split("chksum=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or_else(|| bad("a bmap Range has no chksum"))?;
        let (first, last) = match body.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>(), b.trim().parse::<u64>()),
            None => (body.parse::<u64>(), body.parse::<u64>()),
        };
        let (first, last) = match (first, last) {
            (Ok(a), Ok(b)) if a <= b => (a, b),
            _ => return Err(bad(format!("bad bmap range `{body}`"))),
        };
        let start = first * block_size;
        let end_b = ((last + 1) * block_size).min(image_size);
        if start >= image_size {
            return Err(bad(format!("bmap range `{body}` is past the image end")));
        }
        ranges.push((start, end_b - start, sum.to_owned()));
        rest = &rest[end..];
    }
    ranges.sort_by_key(|r| r.0);
    Ok(Bmap {
        image_size,
        block_size,
        ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_render_parses() {
        let p = vec![Patch {
            offset: 8192,
            bytes: zeroize::Zeroizing::new(vec![1; 10]),
        }];
        let r = block_ranges(&[(0, 4096), (4096 * 5, 100)], &p, 4096 * 8);
        assert_eq!(r, vec![(0, 0), (2, 2), (5, 5)]);
        let f = tempfile::tempfile().expect("tempfile");
        f.set_len(4096 * 8).expect("len");
        let text = render(&f, 4096 * 8, &r).expect("render");
        let b = parse(&text).expect("parse");
        assert_eq!(b.ranges.len(), 3);
        assert!(parse(&text.replace("> 5 <", "> 6 <")).is_err());
    }
}
