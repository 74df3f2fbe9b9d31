#!/usr/bin/env python3
"""slow-card.py BACKING MOUNTDIR WRITE_MBPS READ_MBPS

A simulated SD card for the flashing benchmark: a FUSE file system that
exposes BACKING (a sparse file, the card's contents) as MOUNTDIR/card and
lets bytes through at most WRITE_MBPS / READ_MBPS (10^6 bytes a second, each
direction its own token bucket), the way a card's controller does.
`losetup --find --show MOUNTDIR/card` then gives a block device as slow as
the card. Runs in the foreground until unmounted (`umount MOUNTDIR`).

Why FUSE: this machine's kernel has no device-mapper, and its blkio cgroup is
v1, which throttles only I/O a task submits itself: buffered writes reach
the disk from the kernel's flusher threads and pass unthrottled. A loop
device over a throttled FUSE file slows every byte the card sees, however
it was written. The file is opened with direct_io so that reads reach the
card (the loop device keeps its own page cache in front, as a real card's
block device does).

Needs root, libfuse2 and fusepy (scripts/bench.sh installs fusepy into
target/bench-tools/venv).
"""

import errno
import os
import stat
import sys
import threading
import time

from fuse import FUSE, FuseOSError, Operations


# An idle gap shorter than this between two requests is not charged: it is
# the simulator's own cost (a FUSE round trip through Python and the loop
# driver, about 0.3 ms a request), which a card's controller does not add to
# its rated speed. The card still never moves more than its rate: each
# request's slot starts no earlier than the previous one's end.
SLACK = 0.002


class Bucket:
    """Lets `rate` bytes a second through; callers wait their turn."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.free_at = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n):
        with self.lock:
            now = time.monotonic()
            start = self.free_at if now - self.free_at < SLACK else now
            self.free_at = start + n / self.rate
            until = self.free_at
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class Card(Operations):
    def __init__(self, backing, write_rate, read_rate):
        self.fd = os.open(backing, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.writes = Bucket(write_rate)
        self.reads = Bucket(read_rate)

    def getattr(self, path, fh=None):
        now = time.time()
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_atime=now, st_mtime=now, st_ctime=now)
        if path == "/card":
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=self.size, st_atime=now, st_mtime=now, st_ctime=now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "card"]

    def open(self, path, flags):
        if path != "/card":
            raise FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        size = max(0, min(size, self.size - offset))
        self.reads.take(size)
        return os.pread(self.fd, size, offset)

    def write(self, path, data, offset, fh):
        if offset + len(data) > self.size:
            raise FuseOSError(errno.ENOSPC)
        self.writes.take(len(data))
        return os.pwrite(self.fd, data, offset)

    def truncate(self, path, length, fh=None):
        if length != self.size:
            raise FuseOSError(errno.EINVAL)

    def fsync(self, path, datasync, fh):
        os.fsync(self.fd)
        return 0

    def flush(self, path, fh):
        return 0


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[0])
    backing, mountdir, wmbps, rmbps = sys.argv[1:]
    card = Card(backing, float(wmbps) * 1e6, float(rmbps) * 1e6)
    FUSE(card, mountdir, foreground=True, nothreads=False, direct_io=True,
         big_writes=True, max_write=131072, max_read=131072)


if __name__ == "__main__":
    main()
