//! The boot test's harness (`tests/boot.rs`): what all boots share, made
//! once per run ([`shared`]: the test CA, the rootfs, kernel and initramfs
//! of `scripts/boot-image.sh`, KVM or not), the platform as the guest sees
//! it ([`platform`]: the emulator behind QEMU's one forwarded address), one
//! boot of an image ([`vm`]) and the QEMU monitor it sets breakpoints with
//! ([`qmp`]). `tests/boot.rs` boots x86-64 and `tests/boot_arm64.rs`
//! arm64 with it, each using a part of it; hence the `allow(dead_code)`.

#![allow(dead_code, reason = "each boot test binary uses a part of the harness")]

pub mod platform;
pub mod qmp;
pub mod shared;
pub mod vm;
