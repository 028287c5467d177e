"""The HTTP layer: the connection handler a worker thread runs, and the handlers behind it.

No processes and no threads are created here; the engine calls `ConnectionHandler`s (see
httpdw.mpm.api, the one engine module this layer may import). Protocol code that does no I/O
is kept apart so it can be tested and fuzzed with bytes in, bytes out.
"""
