"""The scoreboard: fixed-size records in shared memory, written by each thread for its own slot.

Layout (all little-endian-native `struct` records, one mmap):

    header   | process record × ServerLimit | worker record × (ServerLimit × ThreadLimit)

The mapping is created by the parent **before** it forks, sized from the *first* ServerLimit and ThreadLimit
(spec 1.5) and kept across restarts, so every child of every generation sees the same memory. It is either
anonymous (``MAP_SHARED | MAP_ANONYMOUS``, Apache's default) or backed by ``ScoreBoardFile`` so that another
process (``httpdw status``) can map it read-only.

No lock is taken on the request path: each worker thread writes only its own record, the parent writes
process records and the header. Readers (mod_status, maintenance) see each field as it was at some moment,
which is exactly Apache's guarantee too.
"""
from __future__ import annotations

import mmap
import os
import resource
import struct
import time

from httpdw.mpm import api

MAGIC = b"HDWSB001"

# header: magic, server_limit, thread_limit, daemons_limit, threads_per_child, running_generation,
# config_generation, parent pid, restart_time, start_time, children cpu user/system, server_built
_HEADER = struct.Struct("=8s iiii ii i dd dd 64s")
# process: pid, generation, quiescing, connections, times user/system
_PROCESS = struct.Struct("=i i B Q dd")
# worker: state, pid, generation, access_count, bytes_served, conn_count, conn_bytes, my_access_count,
# my_bytes_served, start_time, stop_time, duration_us, last_used, client, vhost, request
_WORKER = struct.Struct("=c i i QQ I Q QQ dd Q d 64s 64s 128s")

_STATE_CODE = {letter: letter.encode() for letter in api.STATE_LETTERS}

# offsets of the worker fields the request path updates one at a time
_W_STATE = 0
_W_PID = 1
_W_GEN = 5
_W_ACCESS = 9
_W_START = struct.calcsize("=c i i QQ I Q QQ")
_W_REQUEST_FIELDS = struct.Struct("=dd Q d 64s 64s 128s")
# the per-connection counters (conn_count, conn_bytes) and everything end_request() writes, from _W_ACCESS
_W_CONN_COUNTERS = struct.Struct("=I Q")
_W_ACCESS_FIELDS = struct.Struct("=QQ I Q QQ dd Q d")
_W_CLIENT = _W_START + 8 + 8 + 8 + 8
_W_CLIENT_FIELD = struct.Struct("=64s")   # (pads with NULs)
#: server names as the scoreboard stores them (a handful per config, asked on every request)
_vhost_names: dict[str, bytes] = {}


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _fixed(s: str, size: int) -> bytes:
    """Truncate to `size` bytes without cutting a UTF-8 sequence in half (Apache truncates too)."""
    if s.isascii():   # the usual case (IP addresses, host names, request lines): one encode, no re-decode
        return s[:size].encode("ascii")
    return s.encode("utf-8", "replace")[:size].decode("utf-8", "ignore").encode("utf-8")


#: Apache allows ServerLimit and ThreadLimit up to 20000 each, but the product is what costs: httpdw
#: refuses a scoreboard of more thread slots than this (about 340 MB) rather than exhaust memory.
MAX_THREAD_SLOTS = 1 << 20


def scoreboard_size(server_limit: int, thread_limit: int) -> int:
    """Bytes needed for ServerLimit × ThreadLimit (Apache's ap_calc_scoreboard_size)."""
    return _HEADER.size + server_limit * _PROCESS.size + server_limit * thread_limit * _WORKER.size


class ScoreboardError(Exception):
    """A scoreboard file that cannot be created or read."""


class Scoreboard:
    """The shared scoreboard. Create with `create()` (parent) or `attach()` (a reader such as `httpdw status`)."""

    def __init__(self, mem: mmap.mmap, server_limit: int, thread_limit: int, path: str | None) -> None:
        self.mem = mem
        self.server_limit = server_limit
        self.thread_limit = thread_limit
        self.path = path

    # -- creation -----------------------------------------------------------------------------------

    @classmethod
    def create(cls, server_limit: int, thread_limit: int, path: str | None = None) -> "Scoreboard":
        """Parent, first start: a fresh zeroed scoreboard (file replaced if one was left by a crash).

        A zeroed record reads as DEAD, so nothing is written here: a large ServerLimit x ThreadLimit
        costs address space, not start-up time."""
        if server_limit * thread_limit > MAX_THREAD_SLOTS:
            raise ScoreboardError(
                f"AH00004: Unable to create or access scoreboard: ServerLimit {server_limit} x ThreadLimit "
                f"{thread_limit} = {server_limit * thread_limit} thread slots, more than httpdw's "
                f"{MAX_THREAD_SLOTS}; lower ServerLimit or ThreadLimit")
        size = scoreboard_size(server_limit, thread_limit)
        if path is None:
            mem = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        else:
            try:
                # A stale file from a killed server is simply replaced: the header is rewritten below.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
                try:
                    os.ftruncate(fd, size)
                    mem = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
                finally:
                    os.close(fd)
            except OSError as e:
                raise ScoreboardError(f"AH00003: Fatal error: Invalid Scoreboard path {path}: {e.strerror}") from e
        board = cls(mem, server_limit, thread_limit, path)
        now = time.time()
        board._write_header(daemons_limit=0, threads_per_child=0, running_generation=0, config_generation=1,
                            parent_pid=os.getpid(), restart_time=now, start_time=now, cpu=(0.0, 0.0),
                            server_built="")
        return board

    @classmethod
    def attach(cls, path: str) -> "Scoreboard":
        """Map an existing scoreboard file read-only (a monitoring process)."""
        try:
            with open(path, "rb") as f:
                mem = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        except (OSError, ValueError) as e:
            raise ScoreboardError(f"cannot read scoreboard file {path}: {e}") from e
        if len(mem) < _HEADER.size or mem[:8] != MAGIC:
            raise ScoreboardError(f"{path} is not an httpdw scoreboard")
        _, sl, tl = _HEADER.unpack_from(mem, 0)[:3]
        if len(mem) < scoreboard_size(sl, tl):
            raise ScoreboardError(f"{path} is truncated")
        return cls(mem, sl, tl, path)

    def remove(self) -> None:
        """Shutdown: unmap and delete the file so a later start begins clean."""
        try:
            self.mem.close()
        except (BufferError, ValueError):
            pass
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    # -- header --------------------------------------------------------------------------------------

    def _header(self) -> tuple:
        return _HEADER.unpack_from(self.mem, 0)

    def _write_header(self, *, daemons_limit, threads_per_child, running_generation, config_generation,
                      parent_pid, restart_time, start_time, cpu, server_built) -> None:
        _HEADER.pack_into(self.mem, 0, MAGIC, self.server_limit, self.thread_limit, daemons_limit,
                          threads_per_child, running_generation, config_generation, parent_pid,
                          restart_time, start_time, cpu[0], cpu[1], _fixed(server_built, 64))

    def set_global(self, **changes) -> None:
        """Parent: update header fields by name (daemons_limit, running_generation, restart_time, ...)."""
        h = self._header()
        fields = dict(daemons_limit=h[3], threads_per_child=h[4], running_generation=h[5],
                      config_generation=h[6], parent_pid=h[7], restart_time=h[8], start_time=h[9],
                      cpu=(h[10], h[11]), server_built=_text(h[12]))
        fields.update(changes)
        self._write_header(**fields)

    @property
    def running_generation(self) -> int:
        return self._header()[5]

    @property
    def parent_pid(self) -> int:
        return self._header()[7]

    # -- process records (parent) --------------------------------------------------------------------

    def _process_offset(self, slot: int) -> int:
        return _HEADER.size + slot * _PROCESS.size

    def process(self, slot: int) -> api.ProcessScore:
        pid, gen, quiescing, conns, _, _ = _PROCESS.unpack_from(self.mem, self._process_offset(slot))
        return api.ProcessScore(pid=pid, generation=gen, quiescing=bool(quiescing), connections=conns)

    def set_process(self, slot: int, pid: int, generation: int, quiescing: bool = False) -> None:
        """Parent, after fork: the slot belongs to `pid` (the child writes its own thread records)."""
        _PROCESS.pack_into(self.mem, self._process_offset(slot), pid, generation, int(quiescing), 0, 0.0, 0.0)

    def set_quiescing(self, slot: int) -> None:
        off = self._process_offset(slot)
        self.mem[off + 8:off + 9] = b"\x01"

    def process_cpu(self, slot: int) -> tuple[float, float]:
        return _PROCESS.unpack_from(self.mem, self._process_offset(slot))[4:6]

    def update_process_accounting(self, slot: int, connections: int, cpu_user: float, cpu_system: float) -> None:
        """Child main thread, about once a second: connections handled and CPU used."""
        struct.pack_into("=Q dd", self.mem, self._process_offset(slot) + 9, connections, cpu_user, cpu_system)

    def clear_process(self, slot: int, threads: int | None = None) -> None:
        """Parent, after reaping: the slot's threads are DEAD and the pid cleared (spec 4.1).

        `threads`: how many thread records a child of this server can have used (the largest
        ThreadsPerChild so far); the others were never written."""
        pid, gen, _, conns, _, _ = _PROCESS.unpack_from(self.mem, self._process_offset(slot))
        _PROCESS.pack_into(self.mem, self._process_offset(slot), 0, gen, 0, conns, 0.0, 0.0)
        for t in range(min(threads or self.thread_limit, self.thread_limit)):
            off = self._worker_offset(slot, t)
            self.mem[off:off + 1] = b"."

    # -- worker records ------------------------------------------------------------------------------

    def _worker_offset(self, slot: int, thread: int) -> int:
        return (_HEADER.size + self.server_limit * _PROCESS.size
                + (slot * self.thread_limit + thread) * _WORKER.size)

    def worker_state(self, slot: int, thread: int) -> str:
        off = self._worker_offset(slot, thread)
        letter = self.mem[off:off + 1].decode("ascii", "replace")
        return letter if letter in api.STATE_LETTERS else api.DEAD

    def worker(self, slot: int, thread: int, cpu: tuple[float, float] = (0.0, 0.0)) -> api.WorkerScore:
        (state, pid, gen, access, bytes_served, conn_count, conn_bytes, my_access, my_bytes, start, stop,
         duration, last_used, client, vhost, request) = _WORKER.unpack_from(self.mem, self._worker_offset(slot, thread))
        letter = state.decode("ascii", "replace")
        return api.WorkerScore(
            state=letter if letter in api.STATE_LETTERS else api.DEAD, pid=pid, generation=gen,
            access_count=access, bytes_served=bytes_served, conn_count=conn_count, conn_bytes=conn_bytes,
            my_access_count=my_access, my_bytes_served=my_bytes, start_time=start, stop_time=stop,
            duration_us=duration, last_used=last_used, client=_text(client), vhost=_text(vhost),
            request=_text(request), times_user=cpu[0], times_system=cpu[1])

    def reset_workers(self, threads: int | None = None) -> None:
        """Hard restart: Apache builds a fresh scoreboard; we zero the records in place (the first
        `threads` of each slot: the largest ThreadsPerChild so far; the rest were never written)."""
        used = min(threads or self.thread_limit, self.thread_limit)
        blank = bytes(used * _WORKER.size)
        for slot in range(self.server_limit):
            off = self._process_offset(slot)
            self.mem[off:off + _PROCESS.size] = bytes(_PROCESS.size)
            start = self._worker_offset(slot, 0)
            self.mem[start:start + len(blank)] = blank

    def thread_slot(self, slot: int, thread: int, generation: int) -> "WorkerSlot":
        """A child's handle on one of its own thread records (api.Slot)."""
        return WorkerSlot(self, slot, thread, generation)

    # -- snapshot ------------------------------------------------------------------------------------

    def snapshot(self, slots: int | None = None, threads: int | None = None) -> api.ScoreboardSnapshot:
        """Copy everything out (no lock, as Apache's mod_status).

        `slots`/`threads` limit the copy to the first process slots and thread slots (the parent's
        once-a-second maintenance needs only daemons_limit x ThreadsPerChild); then `workers` has that
        shape instead of ServerLimit x ThreadLimit."""
        h = self._header()
        processes = [self.process(slot) for slot in range(self.server_limit)]
        workers = []
        n_threads = min(threads or self.thread_limit, self.thread_limit)
        for slot in range(min(slots or self.server_limit, self.server_limit)):
            cpu = self.process_cpu(slot)
            workers.append(tuple(self.worker(slot, t, cpu) for t in range(n_threads)))
        return api.ScoreboardSnapshot(
            server_limit=self.server_limit, thread_limit=self.thread_limit, daemons_limit=h[3],
            threads_per_child=h[4], running_generation=h[5], config_generation=h[6], restart_time=h[8],
            start_time=h[9], server_built=_text(h[12]), processes=tuple(processes), workers=tuple(workers),
            children_cpu_user=h[10], children_cpu_system=h[11])


class WorkerSlot:
    """api.Slot over one worker record. Only the owning thread calls these methods.

    Counters are kept in Python attributes too, so an update is one pack_into of the changed fields
    (no read-modify-write of shared memory)."""

    def __init__(self, board: Scoreboard, slot: int, thread: int, generation: int) -> None:
        self.board = board
        self.offset = board._worker_offset(slot, thread)
        self.slot = slot
        self.thread = thread
        self.stopping = lambda: False      # replaced by the child: READY/KEEPALIVE show as G while stopping
        self.access_count = 0
        self.bytes_served = 0
        self.conn_count = 0
        self.conn_bytes = 0
        prev = _WORKER.unpack_from(board.mem, self.offset)
        # the slot's whole-life counters survive process changes (Apache's my_access_count)
        self.my_access_count = prev[7]
        self.my_bytes_served = prev[8]
        self.duration_us = 0
        self.request_started = 0.0
        self._client, self._client_raw = "", b""
        _WORKER.pack_into(board.mem, self.offset, b"S", os.getpid(), generation, 0, 0, 0, 0,
                          self.my_access_count, self.my_bytes_served, 0.0, 0.0, 0, time.time(),
                          b"", b"", prev[15])

    def set_state(self, state: str) -> None:
        # (the cheap test first: this runs several times per request)
        if (state == api.READY or state == api.BUSY_KEEPALIVE) and self.stopping():
            state = api.GRACEFUL
        self.board.mem[self.offset:self.offset + 1] = _STATE_CODE.get(state, b".")

    def new_connection(self, client: str) -> None:
        """The worker took a connection: per-connection counters restart (Apache's conn_count/conn_bytes)."""
        self.conn_count = 0
        self.conn_bytes = 0
        _W_CONN_COUNTERS.pack_into(self.board.mem, self.offset + _W_ACCESS + 16, 0, 0)
        # encoded once per connection: every request of it records the same client
        self._client, self._client_raw = client, _fixed(client, 64)
        _W_CLIENT_FIELD.pack_into(self.board.mem, self.offset + _W_CLIENT, self._client_raw)

    def begin_request(self, request_line: str, client: str, vhost: str) -> None:
        self.request_started = now = time.time()
        self.set_state(api.BUSY_WRITE)
        client_raw = self._client_raw if client == self._client else _fixed(client, 64)
        vhost_raw = _vhost_names.get(vhost)
        if vhost_raw is None:
            vhost_raw = _fixed(vhost, 64)
            if len(_vhost_names) < 1024:
                _vhost_names[vhost] = vhost_raw
        _W_REQUEST_FIELDS.pack_into(self.board.mem, self.offset + _W_START, now, 0.0, self.duration_us, now,
                                    client_raw, vhost_raw, _fixed(request_line, 128))

    def end_request(self, bytes_sent: int) -> None:
        now = time.time()
        self.access_count += 1
        self.my_access_count += 1
        self.conn_count += 1
        self.bytes_served += bytes_sent
        self.my_bytes_served += bytes_sent
        self.conn_bytes += bytes_sent
        if self.request_started:
            self.duration_us += int((now - self.request_started) * 1_000_000)
        _W_ACCESS_FIELDS.pack_into(self.board.mem, self.offset + _W_ACCESS, self.access_count,
                         self.bytes_served, self.conn_count, self.conn_bytes, self.my_access_count,
                         self.my_bytes_served, self.request_started, now, self.duration_us, now)


def process_cpu_times() -> tuple[float, float]:
    """This process's user and system CPU seconds (what a child publishes for mod_status)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime
