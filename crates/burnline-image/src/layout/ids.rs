//! Deterministic IDs. Disk and partition GUIDs, the MBR disk signature and FAT
//! volume serials are derived with HMAC-SHA256 the way systemd-repart derives
//! its UUIDs, from a per-device seed: HMAC-SHA256(recipe seed, DeviceName),
//! first 16 bytes. The same recipe and device always get the same IDs, and
//! two devices never share them.

use super::Layout;
use crate::recipe::part_type::PartType;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn v4(b: [u8; 32]) -> Uuid {
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    u[6] = (u[6] & 0x0F) | 0x40;
    u[8] = (u[8] & 0x3F) | 0x80;
    Uuid::from_bytes(u)
}

/// The per-device seed.
pub fn device_seed(seed: &[u8; 16], device_name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&hmac(seed, &[device_name.as_bytes()])[..16]);
    out
}

/// The disk GUID for a seed.
pub fn disk_guid(seed: &[u8; 16]) -> Uuid {
    v4(hmac(seed, &[b"disk-uuid"]))
}

/// The GUID of the `k`-th partition (0-based) of type `type_guid`.
pub fn partition_guid(seed: &[u8; 16], type_guid: &Uuid, k: u64) -> Uuid {
    if k == 0 {
        v4(hmac(seed, &[type_guid.as_bytes()]))
    } else {
        v4(hmac(seed, &[type_guid.as_bytes(), &k.to_le_bytes()]))
    }
}

/// The file-system UUID of a partition.
pub fn fs_uuid(partition: &Uuid) -> Uuid {
    v4(hmac(partition.as_bytes(), &[b"file-system-uuid"]))
}

/// The FAT volume serial of a partition.
pub fn fat_serial(partition: &Uuid) -> u32 {
    let b = fs_uuid(partition);
    let b = b.as_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Every ID one device's disk carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIds {
    /// GPT disk GUID (for MBR: the seed's disk GUID, recorded in the manifest).
    pub disk_guid: Uuid,
    /// One per partition, in layout order. For MBR, a derived ID that only
    /// seeds the FAT serial.
    pub partition_guids: Vec<Uuid>,
    /// MBR disk signature.
    pub mbr_signature: u32,
}

impl DeviceIds {
    /// Derives a device's IDs.
    pub fn derive(recipe_seed: &[u8; 16], device_name: &str, layout: &Layout) -> Self {
        let seed = device_seed(recipe_seed, device_name);
        let mut counts: Vec<(Uuid, u64)> = Vec::new();
        let partition_guids = layout
            .partitions
            .iter()
            .map(|p| {
                let type_guid = match p.part_type {
                    PartType::Gpt(g) => g,
                    // MBR has no type GUIDs: name the slot instead.
                    PartType::Mbr(_) => Uuid::from_u128(p.index as u128 + 1),
                };
                let k = match counts.iter_mut().find(|(t, _)| *t == type_guid) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        counts.push((type_guid, 0));
                        0
                    }
                };
                partition_guid(&seed, &type_guid, k)
            })
            .collect();
        let sig = hmac(&seed, &[b"mbr-disk-signature"]);
        DeviceIds {
            disk_guid: disk_guid(&seed),
            partition_guids,
            mbr_signature: u32::from_le_bytes([sig[0], sig[1], sig[2], sig[3]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_repart_vector() {
        let seed: [u8; 16] = hex::decode("0123456789abcdef0123456789abcdef")
            .expect("hex")
            .try_into()
            .expect("16 bytes");
        assert_eq!(
            disk_guid(&seed).to_string(),
            "6913f4b6-6690-4a57-a202-f1b53c56dbdf"
        );
        let esp = Uuid::parse_str("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").expect("uuid");
        let linux = Uuid::parse_str("0fc63daf-8483-4772-8e79-3d69d8477de4").expect("uuid");
        assert_eq!(
            partition_guid(&seed, &esp, 0).to_string(),
            "b2d552b0-45db-4678-b34f-066168609d1a"
        );
        assert_eq!(
            partition_guid(&seed, &linux, 0).to_string(),
            "3ed50935-b785-4a2a-879d-dd4c00395d47"
        );
        assert_eq!(
            partition_guid(&seed, &linux, 1).to_string(),
            "ff20ebae-a7df-4fb5-ac96-557ee3704996"
        );
    }

    #[test]
    fn devices_differ() {
        let seed = [7u8; 16];
        assert_ne!(
            device_seed(&seed, "gw-000001"),
            device_seed(&seed, "gw-000002")
        );
    }
}
