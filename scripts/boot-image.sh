#!/usr/bin/env bash
# Makes what the boot test (tests/boot.rs) boots under QEMU: a small Debian 12
# rootfs with systemd as an ext4 image, holding the freshly built
# burnline-bootstrap, the example units (examples/) and the boot test's
# guest files (tests/boot-guest/: the edge stand-in, DHCP, power-off and probe
# units), plus the Debian cloud kernel and a busybox initramfs that loads
# virtio's block driver.
#
#   scripts/boot-image.sh OUT_DIR BOOTSTRAP_BIN CA_PEM
#
# writes OUT_DIR/rootfs.ext4, OUT_DIR/vmlinuz and OUT_DIR/initrd.img. The
# slow parts are cached in $BOOT_TEST_CACHE (default target/boot-test/cache),
# each under a key of its inputs: the mmdebstrap tarball (its command line
# and the host's apt sources), the kernel package (its version) and the
# initramfs (the kernel version, the init script and busybox). Needs root
# (chroot, file ownership in the image) and the Debian packages mmdebstrap,
# zstd, busybox-static, e2fsprogs and systemd; a missing one stops it with
# the package to install.
#
# With BOOT_ARCH=arm64 it makes the same for `qemu-system-aarch64 -M virt`:
# an arm64 rootfs (mmdebstrap --architectures=arm64, configured through
# qemu-user: it registers qemu-aarch64 with binfmt_misc when missing and
# removes that entry again, leaving binfmt_misc as it found it), which also
# brings Debian's arm64 cloud kernel and an arm64 busybox-static for the
# initramfs (taken out of the rootfs, so the host needs no arm64 apt
# lists); BOOTSTRAP_BIN is then the aarch64 build. Needs qemu-user-static.
set -Eeuo pipefail
# Any failure names its line and command: a CI log is often all there is.
trap 'echo "boot-image.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $?)" >&2' ERR

die() {
  echo "boot-image.sh: $*" >&2
  exit 1
}

[ $# -eq 3 ] || die "usage: scripts/boot-image.sh OUT_DIR BOOTSTRAP_BIN CA_PEM"
out=$1
bootstrap=$2
ca=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${BOOT_TEST_CACHE:-$repo/target/boot-test/cache}
guest=$repo/tests/boot-guest
arch=${BOOT_ARCH:-amd64}
case $arch in amd64 | arm64) ;; *) die "BOOT_ARCH must be amd64 or arm64, not $arch" ;; esac

for pair in mmdebstrap:mmdebstrap zstd:zstd busybox:busybox-static mke2fs:e2fsprogs \
  systemctl:systemd dpkg-deb:dpkg apt-get:apt sha256sum:coreutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || die "${pair%%:*} is missing: apt-get install ${pair#*:} (scripts/test.sh does)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (chroot and file ownership in the image)"
if ldd "$(command -v busybox)" >/dev/null 2>&1; then
  die "$(command -v busybox) is linked dynamically; the initramfs needs apt-get install busybox-static"
fi
[ -x "$bootstrap" ] || die "$bootstrap: no such program (cargo build --release --workspace)"
[ -f "$ca" ] || die "$ca: no such CA file"
mkdir -p "$cache" "$out"
# One builder at a time per cache.
exec 9>"$cache/.lock"
flock 9

key() { sha256sum | cut -c1-16; }

# 1. The Debian rootfs tarball.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
[ -f "$sources" ] || die "no apt sources on this host (/etc/apt/sources.list.d/debian.sources)"
include=systemd,systemd-sysv,udev,kmod
[ "$arch" = arm64 ] && include=$include,linux-image-cloud-arm64,busybox-static
mm=(mmdebstrap --variant=essential "--include=$include"
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  "--dpkgopt=path-exclude=/usr/share/man/*" "--dpkgopt=path-exclude=/usr/share/doc/*"
  "--dpkgopt=path-exclude=/usr/share/locale/*" --quiet bookworm)
# The arm64 kernel package would have initramfs-tools build an initramfs
# under emulation (minutes of qemu-user); the boot uses the one made below,
# so update-initramfs is diverted to `true` before the kernel is installed.
[ "$arch" = arm64 ] && mm+=(--architectures=arm64
  '--essential-hook=chroot "$1" dpkg-divert --quiet --local --no-rename --divert /usr/sbin/update-initramfs.distrib --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"')
rootfs_key=$({ printf '%s\n' "${mm[@]}"; cat "$sources"; } | key)
tarball=$cache/rootfs-$rootfs_key.tar.zst
if [ ! -f "$tarball" ]; then
  echo "boot-image.sh: building the Debian $arch rootfs (mmdebstrap, a minute for amd64, more for arm64)" >&2
  tmp=$cache/.rootfs.tar
  rm -f "$tmp"
  binfmt=/proc/sys/fs/binfmt_misc
  registered=
  if [ "$arch" = arm64 ]; then
    conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [ -f "$conf" ] || die "$conf is missing: apt-get install qemu-user-static"
    mounted=
    if ! mountpoint -q "$binfmt"; then
      mount -t binfmt_misc binfmt_misc "$binfmt" || die "cannot mount binfmt_misc (needs root)"
      mounted=1
    fi
    if [ ! -e "$binfmt/qemu-aarch64" ]; then
      cat "$conf" >"$binfmt/register"
      registered=1
    fi
    # Leave binfmt_misc as it was found, whatever happens.
    restore_binfmt() {
      if [ -n "$registered" ]; then echo -1 >"$binfmt/qemu-aarch64"; fi
      if [ -n "$mounted" ]; then umount "$binfmt"; fi
      registered= mounted=
    }
    trap restore_binfmt EXIT
  fi
  "${mm[@]}" "$tmp" "$sources" >"$cache/mmdebstrap.log" 2>&1 ||
    { tail -n 30 "$cache/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $cache/mmdebstrap.log)"; }
  if [ "$arch" = arm64 ]; then
    restore_binfmt
    trap - EXIT
  fi
  zstd -q -T0 -3 --rm -f "$tmp" -o "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
fi

# 2. The Debian cloud kernel: the package the metapackage depends on (for
# arm64, the one in the rootfs, with its arm64 busybox).
if [ "$arch" = arm64 ]; then
  kpkg=linux-image-cloud-arm64
  kver_pkg=$rootfs_key
  kdir=$cache/kernel-arm64-$rootfs_key
  if [ ! -f "$kdir/done" ]; then
    rm -rf "$kdir" && mkdir -p "$kdir/deb/lib" "$kdir/x"
    tar --zstd -x -f "$tarball" -C "$kdir/x" --wildcards './boot/vmlinuz-*' './usr/lib/modules/*' ./usr/bin/busybox
    mv "$kdir/x/boot" "$kdir/deb/boot"
    mv "$kdir/x/usr/lib/modules" "$kdir/deb/lib/modules"
    mv "$kdir/x/usr/bin/busybox" "$kdir/busybox"
    rm -rf "$kdir/x"
    touch "$kdir/done"
  fi
  initrd_busybox=$kdir/busybox
else
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$kpkg" ] || die "apt knows no linux-image-cloud-amd64: run apt-get update"
kver_pkg=$(apt-cache policy "$kpkg" | awk '/Candidate:/{print $2}')
kdir=$cache/kernel-$kpkg-$kver_pkg
if [ ! -f "$kdir/done" ]; then
  echo "boot-image.sh: fetching $kpkg $kver_pkg" >&2
  rm -rf "$kdir" && mkdir -p "$kdir/deb"
  (cd "$kdir" && apt-get download -qq "$kpkg=$kver_pkg" 2>/dev/null) || die "apt-get download $kpkg failed"
  dpkg-deb -x "$kdir"/*.deb "$kdir/deb"
  rm -f "$kdir"/*.deb
  touch "$kdir/done"
fi
initrd_busybox=$(command -v busybox)
fi
kver=$(basename "$(ls -d "$kdir"/deb/lib/modules/*)")
mods=$kdir/deb/lib/modules/$kver/kernel
cp "$kdir/deb/boot/vmlinuz-$kver" "$out/vmlinuz"

# 3. The initramfs: busybox, the init script, virtio's block modules.
blk_mods=(drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
  drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko
  drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko)
initrd_key=$({ echo "$kpkg $kver_pkg"; cat "$guest/init"; sha256sum "$initrd_busybox"; } | key)
initrd=$cache/initrd-$initrd_key.img
if [ ! -f "$initrd" ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" "$tmp/lib/modules"
  cp "$initrd_busybox" "$tmp/bin/busybox"
  install -m 0755 "$guest/init" "$tmp/init"
  # arm64's kernel has some of them built in (the init script says so).
  for m in "${blk_mods[@]}"; do
    [ "$arch" = arm64 ] && [ ! -f "$mods/$m" ] && continue
    cp "$mods/$m" "$tmp/lib/modules/"
  done
  (cd "$tmp" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp")
  rm -rf "$tmp"
  mv "$initrd.tmp" "$initrd"
fi
cp "$initrd" "$out/initrd.img"

# 4. The rootfs image: the tarball, the network driver, the bootstrap, the
# example units as they are, and the guest files.
root=$out/rootfs
rm -rf "$root" && mkdir -p "$root"
tar --zstd -x -f "$tarball" -C "$root"
if [ "$arch" = arm64 ]; then
  # The kernel package put its modules in and ran depmod; the rootfs needs
  # no kernel or initramfs of its own.
  rm -rf "$root"/boot/*
else
net_mods=(drivers/net/net_failover.ko net/core/failover.ko drivers/net/virtio_net.ko)
for m in "${blk_mods[@]}" "${net_mods[@]}"; do
  [ -f "$mods/$m" ] || die "$kpkg has no $m"
  install -D -m 0644 "$mods/$m" "$root/lib/modules/$kver/kernel/$m"
done
cp "$kdir/deb/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
chroot "$root" /sbin/depmod "$kver"
fi

# The bootstrap and the example units, as docs/device-integration.md shows
# for a Debian rootfs.
install -m 0755 "$bootstrap" "$root/usr/bin/burnline-bootstrap"
install -D -m 0644 "$ca" "$root/etc/burnline/ca.pem"
install -m 0644 "$repo/examples/burnline-bootstrap.service" "$root/etc/systemd/system/"
install -D -m 0755 "$repo/examples/burnline-bootstrap-at-boot" "$root/usr/libexec/burnline-bootstrap-at-boot"
install -D -m 0644 "$repo/examples/linkedge.service.d-burnline.conf" \
  "$root/etc/systemd/system/linkedge.service.d/burnline.conf"
# The device is found by the partition's name (the unit's default).
cat >"$root/etc/default/burnline-bootstrap" <<EOF
BURNLINE_OPTIONS="--ca-file /etc/burnline/ca.pem"
EOF
for u in linkedge.service boot-test-poweroff.service boot-test-probe.service; do
  install -m 0644 "$guest/$u" "$root/etc/systemd/system/"
done
install -m 0755 "$guest/edge-stand-in" "$root/usr/local/bin/edge-stand-in"
install -m 0755 "$guest/probe" "$root/usr/local/bin/probe"
install -D -m 0644 "$guest/10-dhcp.network" "$root/etc/systemd/network/10-dhcp.network"
install -D -m 0644 "$guest/udev-trigger.conf" \
  "$root/etc/systemd/system/systemd-udev-trigger.service.d/boot-test.conf"
# A fixed machine id: the root is mounted read-only, so it is no first boot.
echo 5e1f0c0ab0b74c1d9a3c1e1b2d3f4a5b >"$root/etc/machine-id"
systemctl --root="$root" --quiet enable burnline-bootstrap.service linkedge.service systemd-networkd.service
# Nothing the boot test does not need, since every process costs a lot under
# emulation: no login prompts, no units for a writable root (it is mounted
# read-only), no kernel file systems nobody uses, and no generators but the
# one that reads systemd.wants= from the kernel command line.
systemctl --root="$root" --quiet mask getty.target getty-static.service \
  serial-getty@ttyS0.service serial-getty@ttyAMA0.service systemd-user-sessions.service \
  dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  sys-kernel-config.mount sys-fs-fuse-connections.mount modprobe@.service \
  systemd-modules-load.service systemd-network-generator.service systemd-remount-fs.service \
  systemd-random-seed.service systemd-sysctl.service systemd-tmpfiles-setup-dev.service \
  systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer systemd-journal-flush.service \
  systemd-update-utmp.service systemd-update-utmp-runlevel.service \
  systemd-ask-password-console.path systemd-ask-password-wall.path \
  dpkg-db-backup.timer fstrim.timer
mkdir -p "$root/etc/systemd/system-generators"
for g in "$root"/usr/lib/systemd/system-generators/*; do
  [ "$(basename "$g")" = systemd-debug-generator ] ||
    ln -sf /dev/null "$root/etc/systemd/system-generators/$(basename "$g")"
done

size_mib=$(($(du -sm "$root" | cut -f1) * 5 / 4 + 16))
rm -f "$out/rootfs.ext4"
mke2fs -q -t ext4 -L rootfs -d "$root" "$out/rootfs.ext4" "${size_mib}M"
rm -rf "$root"
echo "boot-image.sh: $out/rootfs.ext4 (${size_mib} MiB), kernel $kver" >&2
