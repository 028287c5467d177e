"""The worker MPM engine: parent (control process), children, listener and worker threads, scoreboard.

It is handed a connection-handler factory and knows nothing of HTTP (as Apache's MPMs and
gunicorn's workers). The only module other layers may import from here is `httpdw.mpm.api`
(and the pure `httpdw.mpm.status_text` formatting, for mod_status).

Modules: parent (control loop, signals, restarts), child (threads of one child), maintenance (the
once-a-second spare-thread rules), scoreboard (shared memory), fdqueue (listener -> worker hand-over),
listeners (Listen sockets), mutex (accept mutex), privs (User/Group, core dumps), pidfile, single (-X),
status_text (mod_status output), build (version facts).

What each process-level directive does in httpdw:

* ``ThreadStackSize N``: ``threading.stack_size(N)`` in each child before its threads start; a value the
  platform refuses logs Apache's AH02435 warning (from every child) and the default is kept.
* ``CoreDumpDirectory DIR``: each child chdirs to DIR after dropping privileges and calls
  ``prctl(PR_SET_DUMPABLE, 1)`` so a crash of a setuid'd child can still dump core there.
* ``EnableExceptionHook On``: when a child dies from a signal (SIGSEGV, SIGABRT, ...), the parent writes a
  crash report to the error log: the signal, the slot and generation, and for each busy thread its state,
  client and request line, read from the scoreboard (what mod_whatkilledus would log).
* ``MaxMemFree N`` (KiB): Python has no per-thread allocator to cap. About once a second, a child that
  served connections since the last time calls glibc's ``malloc_trim(N KiB)``, which returns freed heap
  memory beyond N KiB to the operating system. ``MaxMemFree 0`` (Apache: unlimited) never trims. Memory
  held by Python's own small-object allocator is not affected.
* ``AcceptMutex`` / ``Mutex mpm-accept``: see httpdw.mpm.mutex for how each mechanism name maps onto a
  real one (``httpdw -V`` prints the table). With a single Listen no mutex is used, as in Apache.
* ``ScoreBoardFile FILE``: the scoreboard is a shared mapping of FILE (readable by ``httpdw status``);
  without it, anonymous shared memory. Either way it is sized ServerLimit x ThreadLimit at first start
  and kept across restarts. The file is removed at shutdown and replaced at start.
* ``MaxConnectionsPerChild`` counts connections (keep-alive requests on one connection count once).
* ``GracefulShutdownTimeout``: bounds a graceful stop (SIGWINCH); 0 waits for every connection.
* ``ListenCoresBucketsRatio``: accepted, and the config layer applies its start-time floors, but httpdw
  runs a single listener bucket (no SO_REUSEPORT duplicates). What buckets are for in Apache, not waking
  every child for each connection, httpdw gets from EPOLLEXCLUSIVE on the shared listening sockets.
* ``PidFile``: `-k` trusts a pid only if that process is an httpdw parent (its title), so a stale pid
  file whose number was reused by another process is reported "not running" instead of signalled.
"""
