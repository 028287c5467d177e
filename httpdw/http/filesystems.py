"""Which filesystems a static file may be sent from with sendfile(2) when EnableSendfile is not set.

Apache 2.4 turned sendfile off by default because of where it goes wrong, not because it is slow:
on a network-mounted DocumentRoot (NFS, SMB/CIFS, FUSE, VirtualBox shared folders) the kernel may send
stale or wrong bytes, since it cannot serve such a file through its own cache (Apache's EnableSendfile
documentation). On a local disk, sendfile sends the same bytes as a memory map does, and costs the
server a third of the CPU: the page cache goes to the socket without a copy through the process.

So httpdw leaves the choice to the admin when EnableSendfile is written (On: always, Off: never), and
otherwise uses sendfile only for files whose filesystem is on the list below of local ones, read from
statfs(2)'s f_type. Anything else (unknown, network, FUSE, not Linux) is sent as Apache's default
sends it: from a memory map (EnableMMAP On) or by reading.
"""
from __future__ import annotations

import sys

#: statfs f_type of local filesystems (linux/magic.h): sendfile reads their page cache directly
LOCAL_FILESYSTEMS = {
    0xEF53: "ext2/ext3/ext4",
    0x58465342: "xfs",
    0x9123683E: "btrfs",
    0x01021994: "tmpfs",
    0x858458F6: "ramfs",
    0x794C7630: "overlay",
    0x2FC12FC1: "zfs",
    0xF2F52010: "f2fs",
    0xCA451A4E: "bcachefs",
    0x73717368: "squashfs",
    0xE0F5E1E2: "erofs",
    0x00009660: "iso9660",
    0x15013346: "udf",
    0x00004D44: "vfat",
    0x2011BAB0: "exfat",
    0x3153464A: "jfs",
    0x52654973: "reiserfs",
    0x00003434: "nilfs2",
}

try:    # Linux only: the f_type values above are Linux's
    if not sys.platform.startswith("linux"):
        raise ImportError("not Linux")
    import ctypes
    _statfs = ctypes.CDLL(None, use_errno=True).statfs
except (ImportError, OSError, AttributeError):
    _statfs = None

#: struct statfs is 120 bytes on 64-bit Linux (84 on 32-bit); f_type, a long, comes first
_STATFS_SIZE = 256

#: st_dev -> sendfile_safe's answer (a dict store is atomic under the GIL: threads need no lock)
_by_device: dict[int, bool] = {}


def filesystem_type(path: str) -> int | None:
    """statfs(2)'s f_type for the filesystem holding `path`, or None when it cannot be read."""
    if _statfs is None:
        return None
    buf = ctypes.create_string_buffer(_STATFS_SIZE)
    if _statfs(path.encode("utf-8", "surrogateescape"), buf) != 0:
        return None
    return ctypes.c_ulong.from_buffer(buf).value & 0xFFFFFFFF    # magic numbers are 32-bit


def sendfile_safe(path: str, device: int) -> bool:
    """True when `path`, a file on `device` (its st_dev), lies on a local filesystem. Asked once per
    device: a device holds one filesystem."""
    known = _by_device.get(device)
    if known is None:
        fstype = filesystem_type(path)
        if fstype is None:          # the file went away meanwhile, or no statfs: ask again next time
            return False
        known = _by_device[device] = fstype in LOCAL_FILESYSTEMS
    return known
