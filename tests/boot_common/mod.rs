//! The boot test's harness (`tests/boot.rs`): what all boots share, made
//! once per run ([`shared`]: the test CA, the rootfs, kernel and initramfs
//! of `scripts/boot-image.sh`, KVM or not), the platform as the guest sees
//! it ([`platform`]: the emulator behind QEMU's one forwarded address), one
//! boot of an image ([`vm`]) and the QEMU monitor it sets breakpoints with
//! ([`qmp`]).

pub mod platform;
pub mod qmp;
pub mod shared;
pub mod vm;
