#!/usr/bin/env python3
"""reflink-floor.py BASE N DIR [--no-sync]: the W1 floor on a reflink file
system (XFS).

The least any tool can do to leave N durable W1 images there: per device,
create a file, FICLONE the whole BASE image into it, and overwrite with fresh
bytes each 4 KiB block that holds something the device does not share with
the others (W1 geometry, ../shared/bench/README.md: the GPT header and
entries in block 0, the FAT volume serial in the bootstrap partition's boot
sector at 1 MiB, the credentials record at 17 MiB, the backup GPT entries
and header in the disk's last 17 KiB, one write from the first of those
blocks to the last, as that is one extent to allocate, not two); then one
sync. With --no-sync it stops before the sync: nothing is durable, and no
tool that makes its images durable can beat that time. One worker process per
core, as burnline uses. Nothing else: no names, no hashes, no manifest.
"""
import fcntl, os, sys, time

FICLONE = 0x40049409
base, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
durable = "--no-sync" not in sys.argv[4:]
size = os.path.getsize(base)
last = size // 4096 - 1
backup_entries = (size - 33 * 512) // 4096
# (first block, count) of each write
writes = [(0, 1), (256, 1), (17 * 256, 1), (backup_entries, last - backup_entries + 1)]
os.makedirs(d, exist_ok=True)
procs = os.cpu_count() or 1
t = time.perf_counter()
pids = []
for k in range(procs):
    pid = os.fork()
    if pid == 0:
        src = os.open(base, os.O_RDONLY)
        fresh = os.urandom(4096 * max(c for _, c in writes))
        for i in range(k, n, procs):
            fd = os.open(os.path.join(d, f"{i}.img"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.ioctl(fd, FICLONE, src)
            for b, c in writes:
                os.pwrite(fd, fresh[: c * 4096], b * 4096)
            os.close(fd)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit(f"reflink-floor.py: a worker failed ({status})")
if durable:
    os.sync()
print(f"reflink floor W1 N={n}: {time.perf_counter() - t:.3f} s ({len(writes)} writes a device, {'durable' if durable else 'not synced'})")
