"""A static-file WSGI app for gunicorn: what a Python user would write, sending files with wsgi.file_wrapper
(gunicorn turns that into sendfile). Serves BENCH_DOCROOT; nothing outside it."""
import mimetypes
import os

DOCROOT = os.path.realpath(os.environ.get("BENCH_DOCROOT", "."))


def application(environ, start_response):
    path = os.path.realpath(os.path.join(DOCROOT, environ.get("PATH_INFO", "/").lstrip("/")))
    if os.path.isdir(path):
        path = os.path.join(path, "index.html")
    if not path.startswith(DOCROOT + os.sep) or not os.path.isfile(path):
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
    ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    handle = open(path, "rb")
    size = os.fstat(handle.fileno()).st_size
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](handle, 65536)
