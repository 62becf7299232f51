"""Serving the app with uvicorn on 127.0.0.1 only, on a socket bound first so a busy port is one clear error."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import uvicorn

from autoreward.errors import AutorewardError
from autoreward.web.app import create_app

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port), or an AutorewardError naming ``--port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise AutorewardError(
                f"port {port} on {HOST} is already in use (another `autoreward serve`?): pass --port N for another"
            ) from None
        raise AutorewardError(f"cannot listen on {HOST}:{port} ({err.strerror}): pass --port N for another") from None
    sock.listen(128)
    return sock


def server(store_root: str | Path, sock: socket.socket) -> uvicorn.Server:
    """A uvicorn server for the run store at ``store_root`` that will listen on ``sock``."""
    config = uvicorn.Config(create_app(store_root), log_level="warning", access_log=False)
    return uvicorn.Server(config)


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"
