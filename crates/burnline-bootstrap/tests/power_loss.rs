//! A device that loses power while it updates its credential record. The
//! update is replayed against a simulated disk that stops after every prefix
//! of the writes, at every 512-byte sector boundary, and with a torn sector
//! (part new bytes, part old, part garbage). After each simulated power loss a
//! record must be readable, and it must be the old one or the new one; once
//! the new record has verified, no later power loss loses the DeviceSecret,
//! and once it is copied into the other slot too, one damaged slot does not
//! either.

use burnline_bootstrap::store::{self, OtherSlot, Partition, Storage};
use burnline_bootstrap::validate::accept;
use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record::{self, SlotId};
use burnline_core::secret::Secret;
use std::io;

const PART: Partition = Partition {
    offset: 4096,
    size: 8192,
};

/// A disk that records the writes made to it.
#[derive(Clone)]
struct SimDisk {
    bytes: Vec<u8>,
    writes: Vec<(u64, Vec<u8>)>,
}

impl Storage for SimDisk {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let o = offset as usize;
        buf.copy_from_slice(&self.bytes[o..o + buf.len()]);
        Ok(())
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let o = offset as usize;
        self.bytes[o..o + buf.len()].copy_from_slice(buf);
        self.writes.push((offset, buf.to_vec()));
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn creds(ds: Option<&str>, ps: Option<&str>) -> Vec<u8> {
    Credentials {
        product_key: "a1X2bEnP82z".into(),
        device_name: "gw-power-01".into(),
        device_secret: ds.map(Secret::from),
        product_secret: ps.map(Secret::from),
        region: Some("cn-shanghai".into()),
        endpoint: None,
        keep_product_secret: false,
        register_via: None,
    }
    .to_json()
    .to_vec()
}

fn fresh_disk(payload: &[u8]) -> SimDisk {
    let mut bytes = vec![0u8; 16384];
    let slot = record::encode(1, payload, PART.size / 2).expect("fits");
    bytes[PART.offset as usize..PART.offset as usize + slot.len()].copy_from_slice(&slot);
    SimDisk {
        bytes,
        writes: Vec::new(),
    }
}

fn active_payload(d: &SimDisk) -> Option<Vec<u8>> {
    store::read_active(d, PART, &accept)
        .ok()
        .map(|a| a.payload.to_vec())
}

/// What the bootstrap does after registering: the new record into the
/// other slot, verified, then copied into the first slot as well. Returns
/// how many writes the first step made.
fn store_and_copy(d: &mut SimDisk, payload: &[u8]) -> usize {
    let active = store::read_active(d, PART, &accept).expect("a record");
    let stored = store::write_next(d, PART, &active, payload).expect("stored");
    let first = d.writes.len();
    let copied = store::mirror(d, PART, &stored)
        .expect("copied")
        .expect("a copy to make");
    assert_eq!(copied.other, OtherSlot::Same);
    first
}

/// Every crash state of an update from `before` (already on `disk`) to
/// `after` ([`store_and_copy`]): returns how many were checked.
fn crash_everywhere(disk: &SimDisk, after: &[u8]) -> usize {
    let before = active_payload(disk).expect("a record before the update");
    let mut done = disk.clone();
    done.writes.clear();
    let first = store_and_copy(&mut done, after);
    assert!(
        first >= 1 && done.writes.len() > first,
        "{:?}",
        done.writes.len()
    );
    assert_eq!(active_payload(&done).as_deref(), Some(after));
    let mut checked = 0;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for k in 0..done.writes.len() {
        let (off, data) = &done.writes[k];
        let sectors = data.len().div_ceil(512);
        for s in 0..=sectors {
            // Writes 0..k complete, write k cut after `s` whole sectors, and
            // variants where sector `s` is torn.
            for torn in 0..4 {
                if torn > 0 && s == sectors {
                    continue;
                }
                let mut d = disk.clone();
                for (o, w) in &done.writes[..k] {
                    d.write_at(w, *o).expect("replay");
                }
                let cut = (s * 512).min(data.len());
                d.write_at(&data[..cut], *off).expect("prefix");
                if torn > 0 {
                    let start = cut;
                    let end = (cut + 512).min(data.len());
                    let mid = start + (end - start) / 2;
                    #[allow(clippy::needless_range_loop)] // i also decides old or new
                    for i in start..end {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let o = *off as usize + i;
                        d.bytes[o] = match (torn, i < mid) {
                            (1, true) => data[i],   // new, then old
                            (2, true) => rng as u8, // garbage, then old
                            (3, true) => data[i],   // new, then garbage
                            (3, false) => rng as u8,
                            _ => d.bytes[o],
                        };
                    }
                }
                let got = active_payload(&d).unwrap_or_else(|| {
                    panic!(
                        "no readable record after power loss at write {k}, sector {s}, torn {torn}"
                    )
                });
                assert!(
                    got == before || got == after,
                    "a record that is neither old nor new at write {k}, sector {s}, torn {torn}"
                );
                // While the copy is written, the verified record holds.
                assert!(
                    k < first || got == after,
                    "the new record was lost while it was copied: write {k}, sector {s}, torn {torn}"
                );
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn power_loss_during_registration_store_never_loses_a_record() {
    let old = creds(None, Some("7jluWm1zql7bt8qK"));
    let new = creds(Some("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe"), None);
    let disk = fresh_disk(&old);
    let n = crash_everywhere(&disk, &new);
    assert!(n >= 4, "only {n} crash states");

    // After the new record verified, a later update (say a re-key) that loses
    // power anywhere still leaves a record holding a DeviceSecret.
    let mut registered = disk.clone();
    store_and_copy(&mut registered, &new);
    let newer = creds(Some("Xq3LmN8pRt5VwYz2Ab4Cd6Ef8Gh0Ij1K"), None);
    crash_everywhere(&registered, &newer);
}

#[test]
fn the_only_valid_slot_is_never_written() {
    let old = creds(None, Some("7jluWm1zql7bt8qK"));
    let mut d = fresh_disk(&old);
    let half = (PART.offset + PART.size / 2) as usize;
    let slot_a = d.bytes[PART.offset as usize..half].to_vec();
    let active = store::read_active(&d, PART, &accept).expect("slot A");
    let stored = store::write_next(
        &mut d,
        PART,
        &active,
        &creds(Some("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe"), None),
    )
    .expect("store");
    assert_eq!(stored.slot, SlotId::B);
    assert!(d
        .writes
        .iter()
        .all(|(o, w)| *o >= half as u64 && *o + w.len() as u64 <= PART.offset + PART.size));
    assert_eq!(&d.bytes[PART.offset as usize..half], &slot_a[..]);
    // The next update goes back to slot A, which is no longer the only valid one.
    let before_b = d.bytes[half..(PART.offset + PART.size) as usize].to_vec();
    d.writes.clear();
    let active = store::read_active(&d, PART, &accept).expect("slot B");
    store::write_next(
        &mut d,
        PART,
        &active,
        &creds(Some("Xq3LmN8pRt5VwYz2Ab4Cd6Ef8Gh0Ij1K"), None),
    )
    .expect("store");
    assert!(d.writes.iter().all(|(o, _)| *o < half as u64));
    assert_eq!(
        &d.bytes[half..(PART.offset + PART.size) as usize],
        &before_b[..]
    );
}

#[test]
fn a_flipped_bit_in_either_slot_lets_the_other_win() {
    let a_payload = creds(None, Some("7jluWm1zql7bt8qK"));
    let triple = creds(Some("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe"), None);
    let mut d = fresh_disk(&a_payload);
    store_and_copy(&mut d, &triple);
    let active = store::read_active(&d, PART, &accept).expect("a record");
    assert_eq!(
        (active.slot, active.sequence, &active.other),
        (SlotId::A, 3, &OtherSlot::Same)
    );
    let len = record::slot_len(triple.len()) as usize;
    for (slot, at) in [
        (SlotId::A, PART.offset as usize),
        (SlotId::B, (PART.offset + PART.size / 2) as usize),
    ] {
        for bit in 0..len * 8 {
            let mut p = d.clone();
            p.bytes[at + bit / 8] ^= 1 << (bit % 8);
            let active = store::read_active(&p, PART, &accept)
                .unwrap_or_else(|e| panic!("bit {bit} of slot {slot:?}: {e}"));
            assert_eq!(
                (active.slot, &active.payload[..]),
                (slot.other(), &triple[..]),
                "bit {bit} of slot {slot:?}: the triple did not survive"
            );
            assert!(
                matches!(active.other, OtherSlot::Damaged(_)),
                "bit {bit} of slot {slot:?}: {:?}",
                active.other
            );
            assert!(
                active
                    .other_text()
                    .starts_with(&format!("slot {slot:?} is damaged (")),
                "{}",
                active.other_text()
            );
            // The next boot's copy mends the damaged slot: the other slot
            // may then be damaged in turn.
            if bit % 61 == 0 {
                let mended = store::mirror(&mut p, PART, &active)
                    .expect("copied")
                    .expect("a copy to make");
                assert_eq!((mended.slot, mended.other), (slot, OtherSlot::Same));
                let other_at = if slot == SlotId::A {
                    (PART.offset + PART.size / 2) as usize
                } else {
                    PART.offset as usize
                };
                p.bytes[other_at + 70] ^= 0x10;
                let survivor = store::read_active(&p, PART, &accept).expect("the mended slot");
                assert_eq!((survivor.slot, &survivor.payload[..]), (slot, &triple[..]));
            }
        }
    }
}
