"""What a child does to itself before it runs a thread: drop privileges, set up core dumps.

As in Apache (os/unix/unixd.c), privileges are dropped only when the process runs as root; an unprivileged
start keeps its own user and ignores User/Group. Failure is fatal for the child (APEXIT_CHILDFATAL), and
that makes the parent stop instead of forking in a loop.
"""
from __future__ import annotations

import ctypes
import functools
import grp
import os
import pwd

PR_SET_DUMPABLE = 4


class PrivilegeError(Exception):
    """The child could not become User/Group; the message is Apache's."""


def resolve_user(user: str) -> tuple[int, str, int]:
    """`User` value ("www-data" or "#33") -> (uid, name, primary gid). Raises PrivilegeError."""
    try:
        entry = pwd.getpwuid(int(user[1:])) if user.startswith("#") else pwd.getpwnam(user)
    except (KeyError, ValueError):
        if user.startswith("#") and user[1:].isdigit():
            uid = int(user[1:])
            raise PrivilegeError(f"AH02155: getpwuid: couldn't determine user name from uid {uid}, "
                                 "you probably need to modify the User directive") from None
        raise PrivilegeError(f"AH00543: httpdw: bad user name {user}") from None
    return entry.pw_uid, entry.pw_name, entry.pw_gid


def resolve_group(group: str) -> int:
    """`Group` value ("www-data" or "#33") -> gid. Raises PrivilegeError."""
    if group.startswith("#") and group[1:].isdigit():
        return int(group[1:])
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise PrivilegeError(f"AH00544: httpdw: bad group name {group}") from None


def drop_privileges(user: str | None, group: str | None) -> bool:
    """Become User/Group with their supplementary groups (initgroups). Returns True if it changed anything."""
    if os.geteuid() != 0 or (user is None and group is None):
        return False
    uid, name, primary_gid = resolve_user(user) if user else (None, None, None)
    gid = resolve_group(group) if group else primary_gid
    if uid == 0:
        raise PrivilegeError("Error:\tApache has not been designed to serve pages while\n\trunning as root.  "
                             "There are known race conditions that\n\twill allow any local user to read any "
                             "file on the system.\n\tIf you still desire to serve pages as root then\n\t"
                             "add -DBIG_SECURITY_HOLE to the CFLAGS env variable\n\tand then rebuild the server.")
    try:
        os.setgid(gid)
    except OSError as e:
        raise PrivilegeError(f"({e.errno}){e.strerror}: AH02156: setgid: unable to set group id to Group {gid}") from e
    if name is not None:
        try:
            os.initgroups(name, gid)
        except OSError as e:
            raise PrivilegeError(f"({e.errno}){e.strerror}: AH02157: initgroups: unable to set groups for User "
                                 f"{name} and Group {gid}") from e
        try:
            os.setuid(uid)
        except OSError as e:
            raise PrivilegeError(f"({e.errno}){e.strerror}: AH02162: setuid: unable to change to uid: {uid}") from e
    return True


def setup_core_dumps(directory: str) -> None:
    """CoreDumpDirectory: chdir there and stay dumpable after setuid (Linux clears the flag on setuid)."""
    try:
        os.chdir(directory)
    except OSError as e:
        raise PrivilegeError(f"({e.errno}){e.strerror}: AH02159: Can't chdir to {directory}") from e
    set_dumpable()


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (find_library runs ldconfig: far too slow to repeat)."""
    try:
        return ctypes.CDLL(None, use_errno=True)   # the running process's own symbols include libc's
    except OSError:
        from ctypes.util import find_library  # here: it brings shutil, tempfile, bz2, lzma ... along
        name = find_library("c")
        return ctypes.CDLL(name, use_errno=True) if name else None


def set_dumpable() -> bool:
    """prctl(PR_SET_DUMPABLE, 1) through libc; False where there is no prctl (not Linux)."""
    libc = _libc()
    prctl = getattr(libc, "prctl", None) if libc is not None else None
    return prctl is not None and prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0


def malloc_trim(pad: int) -> bool:
    """glibc malloc_trim(pad): give freed heap memory beyond `pad` bytes back to the OS (see MaxMemFree)."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    return bool(trim(ctypes.c_size_t(pad))) if trim is not None else False
