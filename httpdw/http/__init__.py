"""The HTTP layer: the connection handler a worker thread runs, and the handlers behind it.

No processes and no threads are created here; the engine calls `ConnectionHandler`s (see
httpdw.mpm.api, the one engine module this layer may import). Protocol code that does no I/O
is kept apart so it can be tested and fuzzed with bytes in, bytes out.

Modules:
    parser      httptools (llhttp) behind a sans-IO interface: heads, limits, body framing
    connection  the ConnectionHandler: keep-alive, pipelining, timeouts, 100-continue, writing responses
    exchange    Request, Response and a virtual server's per-child state, passed between the modules here
    content     what a request gets: mapping, access checks, the default handler, directories, TRACE
    replies     error answers (ErrorDocument included) and the absolute URLs they name
    sending     file bodies: sendfile(2), memory maps (mapcache keeps them), reads; multipart ranges
    wire        a blocking socket whose every wait is bounded (kernel timeouts); quickcalls: GIL-held calls
    filesystems which filesystems sendfile(2) may read from when EnableSendfile is not set
    mapping     URL normalisation, Alias/Redirect, the section walk and merge
    access      Require trees, Order/Allow/Deny, Satisfy
    static      file metadata cache, ETag/Last-Modified, conditional requests, ranges
    autoindex   mod_autoindex's plain listing
    mime        TypesConfig + AddType/ForceType/AddCharset/AddEncoding/AddLanguage/AddHandler
    accesslog   LogFormat compiler, CustomLog/TransferLog files and pipes
    errors      status lines and Apache's default error pages
    response    Date, Server banner (ServerTokens), status lines
    status      the server-status handler (pages from httpdw.mpm.status_text)
    server      make_handler_factory(config): the engine's entry point

The site model itself (virtual hosts, sections, per-directory settings) is httpdw.config.site.
"""
from httpdw.http.server import make_handler_factory

__all__ = ["make_handler_factory"]
