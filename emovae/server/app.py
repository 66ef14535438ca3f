"""The app factory: :func:`create_app` wires the shared state, the middleware, the error
handlers and the routers (one module per group of endpoints) into one FastAPI application."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..api import Model, load
from ..errors import EmovaeError
from . import info, melodies, page, paths, placing, plane, training
from .state import MAX_BODY_BYTES, ServerState, message

# in this order: the order of /openapi.json's paths (and of matching, where two could match)
ROUTERS = (info, plane, paths, placing, training, melodies)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 (by Content-Length at once,
    else when the streamed body passes the limit)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_big = f"request body over {self.limit} bytes ({self.limit // 1024} KiB)"
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0 or declared > self.limit:
                msg = too_big if declared > self.limit else "bad Content-Length header"
                response = JSONResponse({"error": msg}, status_code=413 if declared > self.limit else 400)
                return await response(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, too_big)
            return message

        return await self.app(scope, limited, send)


class ServerTiming:
    """ASGI middleware: a ``Server-Timing: app;dur=<ms>`` header on every response (the time from
    the request's arrival to the response's start: all of the work for these responses)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - start) * 1000
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.2f}".encode())],
                }
            await send(message)

        return await self.app(scope, receive, timed)


def one_line_validation(exc: RequestValidationError) -> tuple[str, list[dict]]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        details.append({"loc": loc, "msg": str(err.get("msg", "invalid"))})
    text = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:4]) or "invalid request"
    if len(details) > 4:
        text += f" (and {len(details) - 4} more)"
    return text.replace("\n", " "), details


async def _invalid(request: Request, exc: RequestValidationError):
    text, details = one_line_validation(exc)
    return JSONResponse({"error": text, "detail": details}, status_code=422)


async def _http(request: Request, exc: HTTPException):
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def _emovae(request: Request, exc: EmovaeError):
    return JSONResponse({"error": message(exc)}, status_code=400)


def load_bundled() -> dict[str, Model]:
    """The bundled models, the default first: {"plane", "emoreg", "base"}."""
    return {"plane": load("plane"), "emoreg": load("emoreg"), "base": load("base")}


def create_app(models: dict[str, Model] | None = None, data_root=None) -> FastAPI:
    """The FastAPI application: the page and the JSON API (the package docstring).

    ``models``: {key: Model}, the first key the default (None: the bundled "plane",
    "emoreg" and "base", loaded once here). ``data_root``: the data set folder for the training dots
    (None: $EMOVAE_DATA if it is a folder, else no dots); a given folder that does not exist
    raises EmovaeError."""
    models = load_bundled() if models is None else dict(models)
    state = ServerState(models, data_root)

    app = FastAPI(
        title="emovae: the emotion plane",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Click the valence-arousal plane and hear the melody there (CVAE-Plane / CVAE-EmoReg / CVAE-Base).",
    )
    app.state.emovae = state
    app.state.models, app.state.training = state.models, state.training
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(ServerTiming)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(EmovaeError, _emovae)

    if state.training.root is not None:  # the emotion classifier for uploads without a label, fitted
        import threading  # once per process, off the request path (emovae.verdict caches it)

        from ..verdict import classifier

        threading.Thread(target=classifier, args=(state.training.root,), daemon=True).start()
    app.include_router(page.router)
    app.mount("/static", page.static_files(), name="static")
    for module in ROUTERS:
        app.include_router(module.router)
    return app
