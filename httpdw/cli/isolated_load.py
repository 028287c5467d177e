"""Load the config in a short-lived forked process, so that the serving parent never holds the config layer.

Reading a config imports the grammar (lark and its regex module), the loader, the validator, the worker
rules, and builds trees and tables that are garbage once the `ServerConfig` exists. Done in the parent,
all of it would stay resident there, and since a forked child starts with every anonymous page of its
parent, it would be counted again in every child (~5 MiB per process). So the load runs in a forked
child that pickles the finished `LoadedConfig` (config + messages) back over a pipe and exits; the parent
only unpickles the result. The first load at start and every reload on a restart go through here.

The engine reads the config twice at start, as Apache does: a first pass (console wording) and a
second one with the first pass's ServerLimit/ThreadLimit pinned (error-log wording of the same
warnings). The loader process computes both while it has everything imported, and the second result
is handed out once, to the call that asks for exactly those limits; any later call loads afresh.

Whatever goes wrong in the loader process becomes an error message (the start fails, a restart keeps
the running configuration), as an exception of the loader does in-process. Only a result that cannot
be pickled (a bug) falls back, with a warning, to loading in this process, where it works, only with a
bigger footprint.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
from dataclasses import dataclass, field
from typing import Callable

from httpdw.mpm.loaded_config import LoadedConfig

#: (opts, first_limits) -> LoadedConfig, as httpdw.cli.server.load_with_check
Loader = Callable[..., LoadedConfig]

log = logging.getLogger("httpdw.cli")

#: the signals whose (queueing) handlers the parent installs: the loader process dies of them instead
_PARENT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH, signal.SIGCHLD)


@dataclass
class IsolatedLoader:
    """A `Loader` that runs `load` in a forked process (see the module docstring)."""

    load: Loader
    #: what this process does while the loader process works on the *first* load (called once, if given):
    #: a start imports the engine and the HTTP layer meanwhile, so that the two overlap on two cores
    meanwhile: Callable[[], None] | None = None
    #: the second start-up pass computed by the first load: ((first_limits, opts), result); used once
    _ahead: tuple[tuple, LoadedConfig] | None = field(default=None, repr=False)

    def __call__(self, opts, first_limits: tuple[int, int] | None) -> LoadedConfig:
        if self._ahead is not None:
            key, result = self._ahead
            self._ahead = None
            if key == (first_limits, opts):
                return result
        meanwhile, self.meanwhile = self.meanwhile, None
        try:
            results = run_in_child(lambda: self._passes(opts, first_limits), meanwhile)
        except UnpicklableResult as e:
            log.warning("the config loader process could not hand over its result (%s); loading in this process", e)
            return self.load(opts, first_limits)
        if len(results) == 2:
            self._ahead = ((_own_limits(results[0]), opts), results[1])
        return results[0]

    def _passes(self, opts, first_limits: tuple[int, int] | None) -> list[LoadedConfig]:
        """In the loader process: the asked-for load, and after a first pass its second pass too."""
        first = self.load(opts, first_limits)
        if first_limits is not None or first.config is None:
            return [first]
        return [first, self.load(opts, _own_limits(first))]


def _own_limits(loaded: LoadedConfig) -> tuple[int, int] | None:
    """The (ServerLimit, ThreadLimit) a parent built with this config pins for its reloads."""
    if loaded.config is None:
        return None
    return loaded.config.mpm.server_limit, loaded.config.mpm.thread_limit


class UnpicklableResult(Exception):
    """The loader process's result could not be pickled (a bug: a ServerConfig must pickle)."""


def run_in_child(work: Callable[[], list[LoadedConfig]],
                 meanwhile: Callable[[], None] | None = None) -> list[LoadedConfig]:
    """Run `work` in a forked process and return what it returned; `meanwhile` runs here in the meantime.

    A failure of the process (fork refused, killed, crashed) is returned as one LoadedConfig with the
    error; UnpicklableResult is raised when the result could not be pickled."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError as e:
        os.close(r)
        os.close(w)
        return [_failure(f"could not fork the config loader: ({e.errno}){e.strerror}")]
    if pid == 0:
        os.close(r)
        _child(work, w)    # never returns
    os.close(w)
    try:
        if meanwhile is not None:
            meanwhile()
        data = _read_all(r)
    finally:
        os.close(r)     # if `meanwhile` raised, the loader process gets EPIPE and ends: reap it either way
        status = _wait(pid)
    return _decode(data, status)


def _child(work: Callable[[], list[LoadedConfig]], w: int) -> None:
    """The loader process: default signal dispositions, do the work, write the pickle, _exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)    # the parent's self-pipe is not ours to write
        for signum in _PARENT_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        results = work()
        try:
            payload = pickle.dumps(("ok", results), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - reported to the parent, which then loads in-process
            payload = pickle.dumps(("unpicklable", repr(e)))
        _write_all(w, payload)
        code = 0
    except BaseException as e:  # noqa: BLE001 - a loader bug becomes the parent's error message
        try:
            _write_all(w, pickle.dumps(("error", f"{type(e).__name__}: {e}")))
        except BaseException:  # noqa: BLE001 - nothing left to report with; the exit status says it
            pass
    finally:
        os._exit(code)


def _decode(data: bytes, status: int) -> list[LoadedConfig]:
    try:
        kind, value = pickle.loads(data)
    except Exception:  # noqa: BLE001 - no (complete) answer: the process died; say how
        return [_failure(f"the config loader process {_how_it_ended(status)}")]
    if kind == "ok":
        return value
    if kind == "unpicklable":
        raise UnpicklableResult(value)
    return [_failure(value)]


def _failure(why: str) -> LoadedConfig:
    return LoadedConfig(None, [("error", f"httpdw: reading the configuration failed: {why}")])


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.WEXITSTATUS(status)} without a result"


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _wait(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0    # reaped elsewhere already (the parent reaps only in its main loop, so not expected)
