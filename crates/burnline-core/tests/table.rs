//! The partition-table reader against the field's tools and against hostile
//! tables: a GPT written by sgdisk and an MBR with logical partitions
//! written by sfdisk read exactly as `sfdisk --json` lists them; headers
//! with a valid CRC32 and impossible fields, entries that end before they
//! start or past the device, EBR chains that loop or never end, and
//! thousands of random header fields are refused with a rule, never a
//! panic. A missing tool fails the test.

use burnline_core::table::{self, EntryKind, Kind, TableError};
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

fn tool(name: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(name);
    cmd.args(args);
    let out = match stdin {
        None => cmd.output(),
        Some(input) => {
            use std::io::Write;
            cmd.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = cmd.spawn().unwrap_or_else(|e| {
                panic!("{name} could not run ({e}): install the Debian packages gdisk and fdisk")
            });
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
            child.wait_with_output()
        }
    }
    .unwrap_or_else(|e| {
        panic!("{name} could not run ({e}): install the Debian packages gdisk and fdisk")
    });
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn image(dir: &Path, name: &str, kib: usize) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, vec![0u8; kib << 10]).expect("image");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8")
}

fn read(bytes: &[u8]) -> Result<table::Table, TableError> {
    table::read(&mut Cursor::new(bytes.to_vec()))
}

/// `sfdisk --json` of an image: (sector size, disk id, partitions as
/// (number, start sector, sectors, type, uuid, name)).
type Listed = (u64, String, Vec<(u32, u64, u64, String, String, String)>);

fn sfdisk_json(img: &Path) -> Listed {
    let v: serde_json::Value =
        serde_json::from_str(&tool("sfdisk", &["--json", s(img)], None)).expect("json");
    let t = &v["partitiontable"];
    let parts = t["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            let node = p["node"].as_str().expect("node");
            let number = node[s(img).len()..].parse().expect("number");
            let text = |k: &str| p[k].as_str().unwrap_or("").to_owned();
            (
                number,
                p["start"].as_u64().expect("start"),
                p["size"].as_u64().expect("size"),
                text("type"),
                text("uuid"),
                text("name"),
            )
        })
        .collect();
    (
        t["sectorsize"].as_u64().expect("sectorsize"),
        t["id"].as_str().expect("id").to_owned(),
        parts,
    )
}

fn as_listed(t: &table::Table) -> Listed {
    let ss = t.sector_size;
    let id = match t.kind {
        Kind::Gpt { disk_guid } => disk_guid.to_string().to_uppercase(),
        Kind::Mbr { disk_signature } => format!("0x{disk_signature:08x}"),
    };
    let parts = t
        .partitions
        .iter()
        .map(|p| {
            let (ty, uuid) = match p.kind {
                EntryKind::Gpt { type_guid, guid } => (
                    type_guid.to_string().to_uppercase(),
                    guid.to_string().to_uppercase(),
                ),
                EntryKind::Mbr { sys } => (format!("{sys:x}"), String::new()),
            };
            (
                p.number,
                p.start / ss,
                p.size / ss,
                ty,
                uuid,
                p.name.clone(),
            )
        })
        .collect();
    (ss, id, parts)
}

#[test]
fn a_gpt_written_by_sgdisk_reads_as_sfdisk_lists_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = image(dir.path(), "gpt.img", 16 << 10);
    tool(
        "sgdisk",
        &[
            "-n",
            "1:2048:+1M",
            "-c",
            "1:boot",
            "-t",
            "1:0700",
            "-n",
            "2:0:+2M",
            "-c",
            "2:creds",
            "-t",
            "2:8300",
            "-n",
            "4:0:0",
            "-c",
            "4:data",
            "-t",
            "4:8302",
            s(&img),
        ],
        None,
    );
    let bytes = std::fs::read(&img).expect("read");
    let t = read(&bytes).expect("a valid GPT");
    assert_eq!(as_listed(&t), sfdisk_json(&img));
    assert_eq!(t.partitions.len(), 3);
    assert_eq!(t.device_size, 16 << 20);
    // The same through a real file.
    let mut f = std::fs::File::open(&img).expect("open");
    assert_eq!(
        as_listed(&table::read(&mut f).expect("reads")),
        as_listed(&t)
    );
}

#[test]
fn an_mbr_with_logical_partitions_reads_as_sfdisk_lists_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = image(dir.path(), "mbr.img", 16 << 10);
    tool(
        "sfdisk",
        &["-q", s(&img)],
        Some(
            "label: dos\nstart=2048, size=2048, type=83\nstart=4096, size=2048, type=83\n\
             start=6144, size=2048, type=c\nstart=8192, size=20000, type=5\n\
             start=10240, size=1024, type=83\nsize=2048, type=83\n",
        ),
    );
    let bytes = std::fs::read(&img).expect("read");
    let t = read(&bytes).expect("a valid MBR");
    assert_eq!(as_listed(&t), sfdisk_json(&img));
    assert_eq!(
        t.partitions.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
}

/// Sets bytes of the GPT header at `lba` (512-byte sectors) and fixes its CRC32.
fn patch_header(bytes: &mut [u8], lba: usize, at: usize, value: &[u8]) {
    let h = &mut bytes[lba * 512..lba * 512 + 92];
    h[at..at + value.len()].copy_from_slice(value);
    h[16..20].fill(0);
    let crc = crc32fast::hash(h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
}

/// Sets bytes of entry `index` (from 0) of the primary entry array and fixes
/// both CRC32s.
fn patch_entry(bytes: &mut [u8], index: usize, at: usize, value: &[u8]) {
    let h = 512;
    let array = u64::from_le_bytes(bytes[h + 72..h + 80].try_into().expect("8")) as usize * 512;
    let count = u32::from_le_bytes(bytes[h + 80..h + 84].try_into().expect("4")) as usize;
    let e = array + index * 128 + at;
    bytes[e..e + value.len()].copy_from_slice(value);
    let crc = crc32fast::hash(&bytes[array..array + count * 128]);
    patch_header(bytes, 1, 88, &crc.to_le_bytes());
}

/// A 256 KiB GPT image by sgdisk: `creds` at LBA 40 (16 KiB), the rest `data`.
fn sgdisk_image(dir: &Path) -> Vec<u8> {
    let img = image(dir, "gpt.img", 256);
    tool(
        "sgdisk",
        &["-n", "1:40:+16K", "-c", "1:creds", "-n", "2:0:0", s(&img)],
        None,
    );
    std::fs::read(&img).expect("read")
}

fn gpt_rule(r: Result<table::Table, TableError>) -> String {
    match r {
        Err(TableError::Gpt(rule)) => rule,
        other => panic!("not refused as a GPT: {other:?}"),
    }
}

#[test]
fn entries_that_end_before_they_start_or_past_the_device_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = sgdisk_image(dir.path());
    let mut bad = good.clone();
    // Entry 1: last LBA below its first.
    patch_entry(&mut bad, 0, 40, &30u64.to_le_bytes());
    match read(&bad) {
        Err(TableError::Entry { number: 1, rule }) => {
            assert_eq!(rule, "it ends (LBA 30) before it starts (LBA 40)")
        }
        other => panic!("{other:?}"),
    }
    let mut bad = good.clone();
    patch_entry(&mut bad, 1, 40, &(u64::MAX / 2).to_le_bytes());
    match read(&bad) {
        Err(TableError::Entry { number: 2, rule }) => {
            assert!(rule.contains("beyond any device"), "{rule}")
        }
        other => panic!("{other:?}"),
    }
    let mut bad = good.clone();
    patch_entry(&mut bad, 1, 40, &600u64.to_le_bytes());
    match read(&bad) {
        Err(TableError::Entry { number: 2, rule }) => assert!(
            rule.starts_with("it ends past the end of the device (262144 bytes)"),
            "{rule}"
        ),
        other => panic!("{other:?}"),
    }
    // A bad entry-array CRC32 is the crate's to find.
    let mut bad = good.clone();
    bad[2 * 512 + 200] ^= 1;
    assert!(gpt_rule(read(&bad)).contains("CRC"));
}

#[test]
fn a_truncated_gpt_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = sgdisk_image(dir.path());
    // The signature is there, the rest of the header is not.
    assert!(gpt_rule(read(&good[..520])).contains("ends inside the header"));
    // Half a device: the entries are there, the usable LBAs are not.
    assert!(gpt_rule(read(&good[..good.len() / 2])).contains("usable LBAs"));
}

#[test]
fn random_header_fields_with_valid_crcs_never_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = sgdisk_image(dir.path());
    let last = good.len() / 512 - 1;
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let fields = [
        (12, 4),
        (24, 8),
        (32, 8),
        (40, 8),
        (48, 8),
        (72, 8),
        (80, 4),
        (84, 4),
    ];
    let mut refused = 0;
    for i in 0..3000 {
        let mut bad = good.clone();
        // Break the primary header's CRC now and then, so the backup is used.
        let lba = if i % 3 == 0 {
            bad[512 + 16] ^= 1;
            last
        } else {
            1
        };
        for _ in 0..1 + next() % 3 {
            let (at, len) = fields[(next() % fields.len() as u64) as usize];
            let v = match next() % 4 {
                0 => next(),
                1 => next() % 64,
                2 => u64::MAX - next() % 4,
                _ => 128 << (next() % 6),
            };
            patch_header(&mut bad, lba, at, &v.to_le_bytes()[..len]);
        }
        match read(&bad) {
            Ok(t) => {
                for p in &t.partitions {
                    assert!(p.start + p.size <= bad.len() as u64, "{p:?}");
                }
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 2000, "only {refused} refused");
}

/// A 1 MiB MBR image whose extended partition at LBA 1 holds EBRs linked by
/// `next(i)` (relative LBA of the EBR after EBR `i`, 0 to end).
fn ebr_chain(links: usize, next: impl Fn(usize) -> u32) -> Vec<u8> {
    let mut b = vec![0u8; 1 << 20];
    let entry = |b: &mut [u8], at: usize, sys: u8, start: u32, sectors: u32| {
        b[at + 4] = sys;
        b[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
        b[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
    };
    entry(&mut b, 446, 0x05, 1, 2047);
    b[510..512].copy_from_slice(&[0x55, 0xAA]);
    let mut rel = 0usize;
    for i in 0..links {
        let at = (1 + rel) * 512;
        entry(&mut b, at + 446, 0x83, 1, 1);
        entry(&mut b, at + 462, 0x05, next(i), 2);
        b[at + 510..at + 512].copy_from_slice(&[0x55, 0xAA]);
        rel = next(i) as usize;
        if rel == 0 {
            break;
        }
    }
    b
}

fn mbr_rule(r: Result<table::Table, TableError>) -> String {
    match r {
        Err(TableError::Mbr(rule)) => rule,
        other => panic!("not refused as an MBR: {other:?}"),
    }
}

#[test]
fn ebr_chains_that_loop_or_never_end_are_refused() {
    // Three logical partitions, each one sector after its EBR.
    let t = read(&ebr_chain(
        3,
        |i| if i < 2 { 2 * (i as u32 + 1) } else { 0 },
    ))
    .expect("valid");
    assert_eq!(
        t.partitions
            .iter()
            .map(|p| (p.number, p.start / 512))
            .collect::<Vec<_>>(),
        [(1, 1), (5, 2), (6, 4), (7, 6)]
    );
    // A link back to itself.
    let rule = mbr_rule(read(&ebr_chain(2, |_| 2)));
    assert!(rule.contains("links back"), "{rule}");
    // 200 links forward: more than are followed.
    let rule = mbr_rule(read(&ebr_chain(200, |i| 2 * (i as u32 + 1))));
    assert!(rule.contains("more than 128 logical partitions"), "{rule}");
    // A logical partition whose start overflows a u32 when added to its EBR's.
    let mut b = ebr_chain(1, |_| 0);
    b[512 + 446 + 8..512 + 446 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    match read(&b) {
        Err(TableError::Entry { number: 5, rule }) => {
            assert!(rule.contains("past the end of the device"), "{rule}")
        }
        other => panic!("{other:?}"),
    }
    // An EBR past the end of the device.
    let mut b = ebr_chain(1, |_| 0);
    b[512 + 462 + 4] = 0x05;
    b[512 + 462 + 8..512 + 462 + 12].copy_from_slice(&4_000_000u32.to_le_bytes());
    let rule = mbr_rule(read(&b));
    assert!(rule.contains("missing or invalid"), "{rule}");
}
