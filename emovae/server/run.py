"""Running the app: :func:`serve` (``emovae serve``: until Ctrl+C), :class:`BackgroundServer`
(on a thread, for tests and benchmarks), :func:`warm` (the first click's costs paid up front)."""

from __future__ import annotations

import socket
import threading

from fastapi import FastAPI

from ..api import load
from ..errors import EmovaeError
from .app import create_app, load_bundled
from .state import INFER_LOCK, WEB_SAMPLE_RATE, locked, message, svg_of


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a one-line EmovaeError (port taken, bad host ...)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise EmovaeError(f"port {port!r}: a whole number 0..65535 is needed")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise EmovaeError(f"host {host!r}: cannot resolve ({message(exc)})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise EmovaeError(f"{host}:{port}: cannot listen ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock


def warm(app: FastAPI) -> None:
    """Do once what the first click would otherwise pay for: the training points under each
    model, a decode, a score and a WAV."""
    from ..render import to_wav

    for key, model in app.state.models.items():
        app.state.training.points_for(key, model)
        m = locked(INFER_LOCK, model.at, 1.0, 1.0)
        svg_of(m.tokens)
    to_wav(m.tokens, synth="numpy", sample_rate=WEB_SAMPLE_RATE)


class BackgroundServer:
    """A uvicorn server for an app on a thread (tests, benchmarks): ``.url``, ``.stop()``; a
    context manager. ``port=0`` picks a free port."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0):
        import uvicorn

        self.sock = listen(host, port)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        waited = 0.0
        while not self.server.started:
            if not self.thread.is_alive() or waited > timeout:
                self.stop()
                raise EmovaeError(f"{self.url}: the server did not start within {timeout:g} s")
            threading.Event().wait(0.02)
            waited += 0.02

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(checkpoint=None, *, host: str = "127.0.0.1", port: int = 8000, data_root=None) -> None:
    """Run the page and the API until Ctrl+C (blocks). ``checkpoint``: None, "plane", "emoreg"
    or "base" serve the bundled models (that one first, None: "plane"); a checkpoint file or run
    folder is served as "checkpoint", the bundled three beside it. Prints the address once it listens."""
    import uvicorn

    sock = listen(host, port)
    try:
        bundled = load_bundled()
        if checkpoint is None or str(checkpoint) in bundled:
            first = "plane" if checkpoint is None else str(checkpoint)
            models = {first: bundled[first], **{k: v for k, v in bundled.items() if k != first}}
        else:
            models = {"checkpoint": load(checkpoint), **bundled}
        app = create_app(models, data_root)
        warm(app)
        import torch

        torch.set_num_threads(1)  # one decode is faster on one thread (6 vs 10 ms), the other core renders
        bound_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"emovae: the emotion plane at http://{shown}:{bound_port}/ (models: {', '.join(models)}; Ctrl+C stops it)",
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn shuts down on Ctrl+C, then raises the signal again
            pass
    finally:
        sock.close()
