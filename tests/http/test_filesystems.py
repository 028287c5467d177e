"""EnableSendfile unset: sendfile(2) for files on local filesystems only (httpdw.http.filesystems)."""
from __future__ import annotations

import os
import sys

import pytest

from httpdw.http import filesystems
from httpdw.http.filesystems import LOCAL_FILESYSTEMS, filesystem_type, sendfile_safe

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="statfs f_type is Linux's")


def _mount_types() -> dict[str, str]:
    """mount point -> filesystem type, from /proc/self/mountinfo (a second, independent reading)."""
    out = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = left.split()[4].replace("\\040", " ")
            out[point] = right.split()[0]
    return out


def _mount_point(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


@linux_only
@pytest.mark.parametrize("where", ["tmp", "proc", "dev/shm"])
def test_filesystem_type_agrees_with_the_mount_table(tmp_path, where):
    path = {"tmp": str(tmp_path), "proc": "/proc/self", "dev/shm": "/dev/shm"}[where]
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    kind = _mount_types()[_mount_point(path)]
    magic = filesystem_type(path)
    assert magic is not None
    if where == "proc":
        assert kind == "proc" and magic not in LOCAL_FILESYSTEMS     # not a disk: no sendfile
    elif kind in {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs"}:
        assert LOCAL_FILESYSTEMS[magic].find(kind.rstrip("234")) >= 0, (kind, hex(magic))


def test_an_unreadable_path_has_no_type_and_is_not_remembered(tmp_path, monkeypatch):
    missing = str(tmp_path / "gone")
    assert filesystem_type(missing) is None
    device = os.stat(tmp_path).st_dev
    monkeypatch.setattr(filesystems, "_by_device", {})
    assert sendfile_safe(missing, device) is False
    assert device not in filesystems._by_device          # the next file on that device asks again


@linux_only
def test_the_answer_is_kept_per_device(tmp_path, monkeypatch):
    f = tmp_path / "a"
    f.write_bytes(b"x")
    device = os.stat(f).st_dev
    monkeypatch.setattr(filesystems, "_by_device", {})
    first = sendfile_safe(str(f), device)
    assert first == (filesystem_type(str(f)) in LOCAL_FILESYSTEMS)
    monkeypatch.setattr(filesystems, "filesystem_type", lambda path: pytest.fail("asked twice"))
    assert sendfile_safe(str(f), device) is first


def test_network_and_fuse_filesystems_are_not_on_the_list():
    # NFS, SMB, CIFS, SMB2, FUSE, 9p, Ceph, AFS, VirtualBox shared folders (linux/magic.h and their drivers)
    for magic in (0x6969, 0x517B, 0xFF534D42, 0xFE534D42, 0x65735546, 0x01021997, 0x00C36400, 0x5346414F,
                  0x786F4256):
        assert magic not in LOCAL_FILESYSTEMS


def test_a_network_filesystem_is_served_as_apache_serves_it(tmp_path, monkeypatch):
    """Unset on a network filesystem: a memory map (Apache's default), not sendfile; On still forces it."""
    from http_helpers import Site, raw

    data = os.urandom(1 << 20)
    real = os.sendfile
    for switches, expect in (("", "mmap"), ("EnableSendfile On\n", "sendfile")):
        monkeypatch.setattr(filesystems, "filesystem_type", lambda path: 0x6969)     # NFS
        monkeypatch.setattr(filesystems, "_by_device", {})
        used = []
        monkeypatch.setattr(os, "sendfile", lambda *a: used.append("sendfile") or real(*a))
        (tmp_path / expect).mkdir()
        site = Site(tmp_path / expect)
        try:
            site.write("big.bin", data)
            site.start("DocumentRoot {docroot}\n" + switches)
            answer = raw(site.port, b"GET /big.bin HTTP/1.0\r\n\r\n", timeout=20)
            assert answer.partition(b"\r\n\r\n")[2] == data
            if expect == "mmap":
                assert not used and len(site.server.handler.maps) == 1
            else:
                assert used and len(site.server.handler.maps) == 0
        finally:
            site.close()
