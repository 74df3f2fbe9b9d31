//! The delta format: the bytes one device's image differs from its delta
//! set's `base.img` by, small enough to write after the base in well
//! under a second. Documented in `docs/station.md`:
//!
//! ```text
//! offset size  field
//! 0      8     magic "BLDELTA1"
//! 8      8     image size in bytes (u64 LE): base and result are this long
//! 16     32    SHA-256 of base.img
//! 48     32    digest of the resulting full image (base with records
//!              applied), of the kind at 84, or all zeros when not recorded
//!              (`build --no-image-sha256`)
//! 80     4     record count (u32 LE)
//! 84     4     kind of the digest at 48 (u32 LE): 0 = SHA-256 (every delta
//!              made before the field existed: it was zero), 1 = BLAKE3
//!              (`build --digest blake3`); any other value is refused
//! 88     ...   records, sorted by offset, not overlapping:
//!              offset (u64 LE), length (u32 LE), then `length` bytes
//! end-32 32    SHA-256 of every byte before it
//! ```
//!
//! The base's digest (16) and the trailer stay SHA-256 whatever the kind.
//!
//! A delta carries the device's credentials: it is written with mode 0600.

use burnline_io::hash::DigestKind;
use burnline_io::patch::Patch;
use sha2::{Digest, Sha256};
use std::io;
use zeroize::Zeroizing;

/// The result digest field of a delta that does not record one.
pub const NOT_RECORDED: [u8; 32] = [0; 32];

/// The magic at the start of every delta.
pub const MAGIC: &[u8; 8] = b"BLDELTA1";
const HEAD: usize = 88;

/// A parsed delta.
#[derive(Debug)]
pub struct Delta {
    /// Length of the base and of the result.
    pub image_size: u64,
    /// SHA-256 of the base it applies to.
    pub base_sha256: [u8; 32],
    /// The digest of the result (or [`NOT_RECORDED`]).
    pub image_digest: [u8; 32],
    /// Its kind.
    pub image_kind: DigestKind,
    /// The records, sorted by offset.
    pub patches: Vec<Patch>,
}

/// The kind field's value for `kind`.
fn kind_code(kind: DigestKind) -> u32 {
    match kind {
        DigestKind::Sha256 => 0,
        DigestKind::Blake3 => 1,
    }
}

/// The kind a kind field's value names.
fn kind_of(code: u32) -> io::Result<DigestKind> {
    match code {
        0 => Ok(DigestKind::Sha256),
        1 => Ok(DigestKind::Blake3),
        other => Err(bad(format!(
            "delta's result digest kind (bytes 84..88) is {other}: only 0 (sha256) and 1 (blake3) are known"
        ))),
    }
}

/// Serializes a delta whose result has the `image_kind` digest
/// `image_digest`. `patches` must be sorted and not overlap.
pub fn encode(
    image_size: u64,
    base_sha256: &[u8; 32],
    image_kind: DigestKind,
    image_digest: &[u8; 32],
    patches: &[Patch],
) -> io::Result<Zeroizing<Vec<u8>>> {
    let body: usize = patches.iter().map(|p| 12 + p.bytes.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(HEAD + body + 32));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&image_size.to_le_bytes());
    out.extend_from_slice(base_sha256);
    out.extend_from_slice(image_digest);
    let count =
        u32::try_from(patches.len()).map_err(|_| io::Error::other("too many delta records"))?;
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&kind_code(image_kind).to_le_bytes());
    for p in patches {
        let len = u32::try_from(p.bytes.len())
            .map_err(|_| io::Error::other("delta record over 4 GiB"))?;
        out.extend_from_slice(&p.offset.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&p.bytes);
    }
    let sum: [u8; 32] = Sha256::digest(&out[..]).into();
    out.extend_from_slice(&sum);
    Ok(out)
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Whether `bytes` start like a delta.
pub fn is_delta(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Parses and checks a delta: trailer checksum, record bounds and order.
pub fn decode(bytes: &[u8]) -> io::Result<Delta> {
    if !is_delta(bytes) {
        return Err(bad("not a burnline delta (bad magic)"));
    }
    if bytes.len() < HEAD + 32 {
        return Err(bad("truncated delta"));
    }
    let (data, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(data).as_slice() != sum {
        return Err(bad(
            "delta checksum mismatch: the file is truncated or corrupted",
        ));
    }
    let image_size = u64_at(data, 8);
    let mut base_sha256 = [0u8; 32];
    base_sha256.copy_from_slice(&data[16..48]);
    let mut image_digest = [0u8; 32];
    image_digest.copy_from_slice(&data[48..80]);
    let count = u32_at(data, 80);
    let image_kind = kind_of(u32_at(data, 84))?;
    let mut pos = HEAD;
    let mut patches = Vec::new();
    let mut end_prev = 0u64;
    for i in 0..count {
        if pos + 12 > data.len() {
            return Err(bad(format!("delta record {i} is truncated")));
        }
        let offset = u64_at(data, pos);
        let len = u32_at(data, pos + 8) as usize;
        pos += 12;
        if pos + len > data.len() {
            return Err(bad(format!("delta record {i} is truncated")));
        }
        if offset < end_prev
            || offset
                .checked_add(len as u64)
                .is_none_or(|e| e > image_size)
        {
            return Err(bad(format!(
                "delta record {i} is out of order or past the image end"
            )));
        }
        end_prev = offset + len as u64;
        patches.push(Patch {
            offset,
            bytes: Zeroizing::new(data[pos..pos + len].to_vec()),
        });
        pos += len;
    }
    if pos != data.len() {
        return Err(bad("delta has trailing bytes after its records"));
    }
    Ok(Delta {
        image_size,
        base_sha256,
        image_digest,
        image_kind,
        patches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let p = vec![
            Patch {
                offset: 0,
                bytes: Zeroizing::new(vec![1, 2, 3]),
            },
            Patch {
                offset: 4096,
                bytes: Zeroizing::new(vec![9; 600]),
            },
        ];
        let enc = encode(8192, &[1; 32], DigestKind::Sha256, &[2; 32], &p).expect("encode");
        assert_eq!(&enc[84..88], &[0; 4], "sha256 keeps the old zero field");
        let d = decode(&enc).expect("decode");
        assert_eq!(d.patches, p);
        assert_eq!(
            (d.image_size, d.base_sha256, d.image_digest, d.image_kind),
            (8192, [1; 32], [2; 32], DigestKind::Sha256)
        );
        assert!(decode(&enc[..enc.len() - 1]).is_err());
        let mut bad = enc.to_vec();
        bad[100] ^= 1;
        assert!(decode(&bad).is_err());
    }

    /// Re-seals `bytes` (after an edit) with a fresh trailer.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let n = bytes.len() - 32;
        let sum: [u8; 32] = Sha256::digest(&bytes[..n]).into();
        bytes[n..].copy_from_slice(&sum);
        bytes
    }

    #[test]
    fn kind_field_names_blake3_and_refuses_unknown() {
        let enc = encode(4096, &[1; 32], DigestKind::Blake3, &[3; 32], &[]).expect("encode");
        assert_eq!(&enc[84..88], &[1, 0, 0, 0]);
        let d = decode(&enc).expect("decode");
        assert_eq!(
            (d.image_kind, d.image_digest),
            (DigestKind::Blake3, [3; 32])
        );
        let mut seven = enc.to_vec();
        seven[84] = 7;
        let err = decode(&reseal(seven)).expect_err("kind 7");
        assert!(err.to_string().contains("84..88"), "{err}");
    }
}
