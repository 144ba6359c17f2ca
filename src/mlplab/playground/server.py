"""Serve the playground with uvicorn on a socket bound here first, so a taken port is one clear error."""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser
from collections.abc import Callable
from types import FrameType

import uvicorn

from mlplab.errors import ConfigError
from mlplab.playground.app import create_app
from mlplab.playground.session import SessionStore


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one. A ConfigError if it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"--host {host}: cannot resolve it ({e.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use; choose another with --port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, which also ends the open event streams when asked to stop (Ctrl-C)."""

    def __init__(self, config: uvicorn.Config, store: SessionStore) -> None:
        super().__init__(config)
        self.store = store

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.store.stopping.set()
        super().handle_exit(sig, frame)


def warm_up() -> None:
    """Train one epoch of the default run, so the compiled kernels are loaded (or compiled, once per machine)
    before the first page presses Play."""
    from mlplab.playground.session import new_run
    from mlplab.playground.settings import Settings

    run = new_run(Settings(), None)
    run.trainer.epochs = 1
    s = run.prepared.splits
    run.trainer.fit(s.X_train, s.y_train)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True,
          announce: Callable[[str], None] = print, max_sessions: int = 16, idle_timeout: float = 1800.0) -> None:
    """Run the playground until interrupted; ``announce`` gets the URL once the socket is bound."""
    sock = bind(host, port)
    url = url_of(sock)
    store = SessionStore(max_sessions=max_sessions, idle_timeout=idle_timeout)
    app = create_app(store)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3,
                            lifespan="on")
    server = _Server(config, store)
    threading.Thread(target=warm_up, name="playground-warm-up", daemon=True).start()
    announce(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.close_all()
