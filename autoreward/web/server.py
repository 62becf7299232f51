"""Serving the app with uvicorn on a socket bound first (127.0.0.1 unless ``--host``), so that a busy port is one
clear error; a non-local host needs a token (``web.access``)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import uvicorn

from autoreward.errors import AutorewardError
from autoreward.web.app import create_app

HOST = "127.0.0.1"


def bind(port: int, host: str = HOST) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port), or an AutorewardError naming the option."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as err:
        sock.close()
        if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
            raise AutorewardError(
                f"port {port} on {host} is already in use (another `autoreward serve`?): pass --port N for another"
            ) from None
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise AutorewardError(f"cannot listen on {host}:{port} ({why}): pass --port N or --host ADDRESS") from None
    sock.listen(128)
    return sock


def server(store_root: str | Path, sock: socket.socket, token: str | None = None) -> uvicorn.Server:
    """A uvicorn server for the run store at ``store_root`` that will listen on ``sock`` (requiring ``token``)."""
    config = uvicorn.Config(create_app(store_root, token), log_level="warning", access_log=False)
    return uvicorn.Server(config)


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"
