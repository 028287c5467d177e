"""The least a CPython server of httpdw's shape holds: W6's floor (`python-floor` in the tables).

A parent that binds the port and forks 2 children; each child runs 25 worker threads and a listener
thread that hands accepted connections to them through a queue, and its main thread waits, as
httpdw's children do (27 threads a child, 55 in the tree). Only the standard library's socket,
threading and queue: no config, no HTTP parser, no logging, no scoreboard. It answers a GET of a file
under the document root with the file and closes the connection; that is all W6 asks of a server
(one 200, then idle). What httpdw holds beyond this tree is what its features cost in memory.

    python floor.py PORT DOCROOT
"""
import os
import queue
import signal
import socket
import sys
import threading

CHILDREN = 2
WORKERS = 25


def answer(conn: socket.socket, docroot: str) -> None:
    """Read one request head and send the file it names (404 when there is none)."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = conn.recv(65536)
        if not chunk:
            return
        head += chunk
    parts = head.split(b" ", 2)
    name = parts[1].decode("latin-1").lstrip("/") if len(parts) > 2 else ""
    path = os.path.realpath(os.path.join(docroot, name))
    try:
        if not path.startswith(docroot + os.sep):
            raise FileNotFoundError(path)
        with open(path, "rb") as f:
            body = f.read()
        status = b"200 OK"
    except OSError:
        body, status = b"not found\n", b"404 Not Found"
    conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\nConnection: close\r\n\r\n" + body)


def worker(jobs: queue.Queue, docroot: str) -> None:
    while True:
        conn = jobs.get()
        try:
            conn.settimeout(10)
            answer(conn, docroot)
        except OSError:
            pass
        finally:
            conn.close()


def listener(sock: socket.socket, jobs: queue.Queue) -> None:
    while True:
        conn, _ = sock.accept()
        jobs.put(conn)


def child(sock: socket.socket, docroot: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    jobs: queue.Queue = queue.Queue()
    for _ in range(WORKERS):
        threading.Thread(target=worker, args=(jobs, docroot), daemon=True).start()
    threading.Thread(target=listener, args=(sock, jobs), daemon=True).start()
    threading.Event().wait()


def main() -> None:
    port, docroot = int(sys.argv[1]), os.path.realpath(sys.argv[2])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(511)
    children = []
    for _ in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            try:
                child(sock, docroot)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
