"""The emotion plane in the browser: a local web page and a JSON API (FastAPI + uvicorn).

``emovae serve [checkpoint] [--host H] [--port P] [--data DIR]`` calls :func:`serve`, which
loads the models once, computes the training melodies' points, prints the address and runs
uvicorn until Ctrl+C. :func:`create_app` builds the same application for tests.

**Models.** ``create_app(models)`` takes ``{key: Model}``; the first key is the default.
Without models it loads the bundled CVAE-EmoReg ("emoreg", the default) and CVAE-Base
("base"). Every API call takes ``model`` (a key) to choose one; the page has a switch.

**Endpoints** (``/openapi.json`` is the schema; FastAPI's ``/docs`` page is switched off because
it loads its script from a CDN, and nothing here comes from the internet):

- ``GET /`` the page (``emovae/web/index.html``; ``/static/*`` its script and style sheet;
  nothing is loaded from the internet);
- ``GET /api/info`` models, plane limit, the limits below, whether training dots exist;
- ``POST /api/at`` {valence, arousal, emotion?, seed, temperature, jitter} -> one melody at the
  point (decoded with its quadrant's emotion unless ``emotion`` names another). At
  temperature 0 the point alone decides the melody, so "another one" asks for ``jitter`` > 0:
  the point is moved by a seeded N(0, jitter^2) offset, mirrored back into its quadrant;
- ``GET /api/at.wav?valence=&arousal=&...`` the same melody's audio at once: the page sets its
  ``<audio>`` to this URL on the click and fetches the JSON (marker, score, MIDI link) beside it;
- ``POST /api/generate`` {emotion, n, seed, temperature} -> n melodies sampled as the paper does;
- ``POST /api/path`` {points: [[v, a], ...], bars} -> one melody of ``bars`` bars following the path;
- ``POST /api/upload`` (multipart: ``file`` a MIDI file, ``model``, ``emotion``?) -> the file as
  a melody, placed on the plane (``placements``, ``verdicts``: see :func:`emovae.generation.place`);
- ``POST /api/encode`` {tokens, emotion?} -> the same placement for tokens (the page re-places
  an uploaded melody with the other model);
- ``POST /api/transform`` {tokens, to, emotion?, seed, temperature} -> the melody moved into the
  quadrant of ``to`` (:meth:`emovae.api.Model.transform`);
- ``GET /api/training?model=`` the training melodies' dots: point (under that model, encoded
  with their own label), label, emotion, file name, melody id;
  ``GET /api/training/{index}`` one of them as a melody, ``GET /api/training/{index}.wav`` its audio;
- ``GET /api/melody/{id}.wav`` / ``.mid`` / ``.svg``: a melody's audio, MIDI file and score.
  A melody's *id* is its raw tokens written as two hex digits a step, so these URLs need no
  server state (any melody the API returned, or any valid tokens, can be fetched).

A melody is returned as JSON: ``id``, ``name``, ``model``, ``bars``, ``emotion``/``emotions``,
``point``/``points`` (one per 4-bar segment), ``notes`` ([onset step, duration in steps, MIDI
pitch]), ``tokens``, ``svg`` (the score; ``"svg": false`` in the request leaves it out),
``midi_url``, ``wav_url``, ``svg_url``, ``seed``, ``temperature``. The page asks for ``"svg": false``
and fetches ``svg_url`` while the audio loads, so the score is off the path to the first sound.

**Audio.** The page's WAV is the NumPy synthesis (:func:`emovae.render.synthesize`) at
:data:`WEB_SAMPLE_RATE` Hz mono, about 25 ms for 4 bars, because FluidSynth takes 250-500 ms a
melody, more than the whole click-to-sound budget; ``?synth=auto`` asks for FluidSynth (piano
from a General MIDI soundfont) when it is installed.

**Limits** (each breach is a 4xx with a JSON ``{"error": "<one line>"}``, never a 500):
points within [-PLANE_LIMIT, PLANE_LIMIT] and finite (JSON ``NaN``/``Infinity`` and query
strings ``nan``/``inf`` are refused); ``n`` 1..:data:`MAX_COUNT`; ``temperature``
0 or :data:`MIN_TEMPERATURE`..:data:`MAX_TEMPERATURE`; ``seed`` 0..2^31-1; ``jitter`` 0..:data:`MAX_JITTER`; a path of 1 to
:data:`MAX_PATH_POINTS` points; ``bars`` a multiple of 4 up to :data:`MAX_WEB_BARS`; tokens
64..:data:`MAX_WEB_BARS` * 16 steps, a multiple of 64, each 0..129; an upload of at most
:data:`MAX_UPLOAD_BYTES` bytes (64 KiB: 413 beyond it), a MIDI file (415 otherwise) whose notes
end within :data:`MAX_WEB_BARS` bars; any request body at most :data:`MAX_BODY_BYTES` (413);
unknown fields are refused (422). Errors: 422 for a request that does not fit the schema, 400
for input the schema admits but emovae refuses (:class:`~emovae.errors.EmovaeError`: an
unreadable MIDI file, a pitch no octave brings into the vocabulary), 404 for an unknown path,
melody id or training index, 413, 415, and 503 when the model stays busy for
:data:`LOCK_TIMEOUT_S` seconds.

**Concurrency.** The endpoints are plain functions, so FastAPI runs each in its threadpool and
the event loop stays free (static files, queued requests). The models are shared read-only by
all requests; **inference is serialised** by one process-wide lock (:data:`_INFER_LOCK`:
encode and decode, one call at a time, each using PyTorch's own threads; a call takes a few
milliseconds, so queueing costs less than batching would win on 2 cores), the score by a second
lock (music21 and verovio keep global state), while the NumPy audio synthesis, MIDI writing and
JSON run in parallel. A request that cannot get a lock within :data:`LOCK_TIMEOUT_S` seconds
gets a 503 instead of hanging. Every response carries ``Server-Timing: app;dur=<ms>``, the
server's own time for it (``benchmarks/web_latency.py`` reads it).
"""

from __future__ import annotations

import io
import os
import re
import socket
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import numpy as np
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

from .api import Melody, Model, load
from .checkpoint import MIN_TEMPERATURE
from .data import HOLD, N_STEPS, REST
from .emotions import AROUSAL, LABELS, NAMES, PLANE_LIMIT, QUADRANTS, VALENCE, quadrant_of_point
from .errors import EmovaeError
from .generation import MAX_PATH_POINTS

__all__ = [
    "BackgroundServer",
    "create_app",
    "serve",
    "warm",
    "melody_id",
    "tokens_of_id",
    "MAX_UPLOAD_BYTES",
    "MAX_BODY_BYTES",
    "MAX_WEB_BARS",
    "MAX_COUNT",
    "MAX_TEMPERATURE",
    "MIN_TEMPERATURE",
    "MAX_JITTER",
    "MAX_PATH_POINTS",
    "WEB_SAMPLE_RATE",
]

WEB_DIR = Path(__file__).with_name("web")
MAX_UPLOAD_BYTES = 64 * 1024  # a MIDI file (a 4-bar melody is about 200 bytes)
MAX_BODY_BYTES = 128 * 1024  # any request body (the upload's multipart wrapping included)
MAX_WEB_BARS = 64  # bars of a path melody, an upload, the tokens given
MAX_TOKENS = MAX_WEB_BARS * 16
MAX_COUNT = 16  # melodies per /api/generate
MAX_TEMPERATURE = 3.0
MAX_JITTER = 2.0
MAX_SEED = 2**31 - 1
WEB_SAMPLE_RATE = 22050
LOCK_TIMEOUT_S = 60.0
WAV_CACHE_BYTES = 32 * 1024 * 1024  # recently rendered WAVs (the browser may fetch one twice)

_INFER_LOCK = threading.Lock()  # encode/decode: one at a time, process-wide
_RENDER_LOCK = threading.Lock()  # music21 + verovio (global state)

_NAME_RE = re.compile(r"[^A-Za-z0-9_.+-]+")

# ---------------------------------------------------------------------------- request schemas

Coordinate = Annotated[float, Field(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="seeds the sampling (temperature > 0) and jitter")]


def _check_temperature(t: float) -> float:
    if 0 < t < MIN_TEMPERATURE:  # logits / 1e-309 overflow to inf: the softmax would be NaN
        raise ValueError(f"temperature must be 0 (argmax) or from {MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}")
    return t


Temperature = Annotated[
    float,
    Field(
        ge=0.0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description="0 = argmax (the paper); from 0.001 sampling from softmax(logits / T)",
    ),
    AfterValidator(_check_temperature),
]
EmotionName = Literal["happy", "angry", "sad", "relaxed"]
_MODEL_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"
_MODEL_HELP = "a key of /api/info's models; default: the first"
ModelKey = Annotated[str | None, Field(pattern=_MODEL_PATTERN, description=_MODEL_HELP)]
ModelQuery = Annotated[str | None, Query(pattern=_MODEL_PATTERN, description=_MODEL_HELP)]
Token = Annotated[int, Field(ge=0, le=HOLD)]
Tokens = Annotated[
    list[Token],
    Field(
        min_length=N_STEPS,
        max_length=MAX_TOKENS,
        description="raw tokens: 0..127 onset, 128 rest, 129 hold; 64 per 4 bars",
    ),
]
MelodyId = Annotated[
    str,
    PathParam(
        pattern=r"^[0-9a-f]+$", max_length=2 * MAX_TOKENS, description="the melody's tokens as two hex digits a step"
    ),
]
SvgFlag = Annotated[bool, Field(description="include the SVG score")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelKey = None


class AtRequest(_Request):
    valence: Coordinate
    arousal: Coordinate
    emotion: EmotionName | None = Field(None, description="condition; default: the point's quadrant")
    seed: Seed = 0
    temperature: Temperature = 0.0
    jitter: Annotated[
        float,
        Field(
            ge=0.0,
            le=MAX_JITTER,
            allow_inf_nan=False,
            description="std of a seeded offset of the point, kept in its quadrant",
        ),
    ] = 0.0
    svg: SvgFlag = True


class GenerateRequest(_Request):
    emotion: EmotionName = "happy"
    n: Annotated[int, Field(ge=1, le=MAX_COUNT)] = 4
    seed: Seed = 0
    temperature: Temperature = 0.0
    svg: SvgFlag = True


class PathRequest(_Request):
    points: Annotated[
        list[tuple[Coordinate, Coordinate]],
        Field(min_length=1, max_length=MAX_PATH_POINTS, description="(valence, arousal) waypoints"),
    ]
    bars: Annotated[int, Field(ge=4, le=MAX_WEB_BARS, multiple_of=4)] = 16
    seed: Seed = 0
    temperature: Temperature = 0.0
    svg: SvgFlag = True


class _TokensRequest(_Request):
    tokens: Tokens

    @field_validator("tokens")
    @classmethod
    def _whole_segments(cls, tokens: list[int]) -> list[int]:
        if len(tokens) % N_STEPS:
            raise ValueError(f"{len(tokens)} steps: a multiple of {N_STEPS} (4 bars) is needed")
        return tokens


class EncodeRequest(_TokensRequest):
    emotion: EmotionName | None = Field(None, description="the label to encode with; default: tried under all four")
    svg: SvgFlag = False


class TransformRequest(_TokensRequest):
    to: EmotionName
    emotion: EmotionName | None = Field(None, description="the label to place the melody with; default: guessed")
    seed: Seed = 0
    temperature: Temperature = 0.0
    svg: SvgFlag = True


# ---------------------------------------------------------------------------- helpers


def _plain(obj):
    """JSON-ready copy: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def melody_id(tokens) -> str:
    """The id of a melody: its raw tokens as two lower-case hex digits a step."""
    return np.asarray(tokens, dtype=np.uint8).tobytes().hex()


def tokens_of_id(mid: str) -> np.ndarray:
    """Raw tokens from a melody id; 404 unless it is 64..MAX_TOKENS valid steps, a multiple of 64."""
    problem = None
    if len(mid) % 2 or not re.fullmatch(r"[0-9a-f]*", mid):
        problem = "two lower-case hex digits a step are needed"
    else:
        arr = np.frombuffer(bytes.fromhex(mid), dtype=np.uint8).astype(np.int64)
        if not N_STEPS <= arr.size <= MAX_TOKENS or arr.size % N_STEPS:
            problem = f"{arr.size} steps; a multiple of {N_STEPS} from {N_STEPS} to {MAX_TOKENS} is needed"
        elif (arr > HOLD).any():
            problem = f"a step above {HOLD} (tokens are 0..127 onset, {REST} rest, {HOLD} hold)"
    if problem:
        shown = mid if len(mid) <= 24 else mid[:20] + "..."
        raise HTTPException(404, f"melody id {shown!r}: not a melody ({problem})")
    return arr


def _locked(lock: threading.Lock, fn, *args, **kwargs):
    if not lock.acquire(timeout=LOCK_TIMEOUT_S):
        raise HTTPException(503, f"the model is busy: no turn within {LOCK_TIMEOUT_S:g} s; try again")
    try:
        return fn(*args, **kwargs)
    finally:
        lock.release()


def _svg(tokens) -> str:
    from .render import to_svg

    return _locked(_RENDER_LOCK, to_svg, tokens)


def _safe_name(name: str, default: str = "melody") -> str:
    stem = _NAME_RE.sub("_", name).strip("._")[:80]
    return stem or default


def _message(exc: Exception, *replace: tuple[str, str]) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for old, new in replace:
        text = text.replace(old, new)
    return text


class _LRU:
    """A small thread-safe cache of bytes, bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.size, self.items, self.lock = max_bytes, 0, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = value
            self.size += len(value)
            while self.size > self.max_bytes:
                _, old = self.items.popitem(last=False)
                self.size -= len(old)


class _Training:
    """The training melodies (read once, lazily) and their points under each model."""

    def __init__(self, root: Path | None, reason: str | None):
        self.root, self.reason = root, reason
        self.data = None
        self.points: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def dataset(self):
        if self.root is None:
            return None
        with self.lock:
            if self.data is None and self.reason is None:
                from .data import load_dataset

                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # polyphonic files reduced to their top line
                        self.data = load_dataset(self.root)
                except EmovaeError as exc:
                    self.reason = f"training melodies not readable: {_message(exc)}"
            return self.data

    def points_for(self, key: str, model: Model) -> np.ndarray | None:
        data = self.dataset()
        if data is None:
            return None
        with self.lock:
            if key not in self.points:
                self.points[key] = _locked(_INFER_LOCK, model.trained.encode, data.tokens, data.labels)
            return self.points[key]


def _training_root(data_root) -> tuple[Path | None, str | None]:
    if data_root is not None:
        root = Path(data_root).expanduser()
        if not root.is_dir():
            raise EmovaeError(f"{root}: no such directory (the data set folder holding e1..e4)")
        return root, None
    env = os.environ.get("EMOVAE_DATA")
    if not env:
        from .corpus import default_dir, is_built

        if is_built(default_dir()):  # the training set rebuilt by `emovae data build`
            return default_dir(), None
        return None, "no training melodies: set $EMOVAE_DATA, pass --data, or run `emovae data build` to show them"
    root = Path(env).expanduser()
    if not root.is_dir():
        return None, f"no training melodies: $EMOVAE_DATA={env} is not a directory"
    return root, None


# ---------------------------------------------------------------------------- the app


class _BodyLimit:
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


class _ServerTiming:
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


def _one_line_validation(exc: RequestValidationError) -> tuple[str, list[dict]]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        details.append({"loc": loc, "msg": str(err.get("msg", "invalid"))})
    text = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:4]) or "invalid request"
    if len(details) > 4:
        text += f" (and {len(details) - 4} more)"
    return text.replace("\n", " "), details


def _load_bundled() -> dict[str, Model]:
    return {"emoreg": load("emoreg"), "base": load("base")}


def create_app(models: dict[str, Model] | None = None, data_root=None) -> FastAPI:
    """The FastAPI application: the page and the JSON API (module docstring).

    ``models``: {key: Model}, the first key the default (None: the bundled "emoreg" and
    "base", loaded once here). ``data_root``: the data set folder for the training dots
    (None: $EMOVAE_DATA if it is a folder, else no dots); a given folder that does not exist
    raises EmovaeError."""
    models = _load_bundled() if models is None else dict(models)
    if not models:
        raise EmovaeError("create_app: give at least one model")
    for key, model in models.items():
        if not isinstance(model, Model) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", str(key)):
            raise EmovaeError(f"create_app: model {key!r} must be an emovae.api.Model under a short key")
    default_key = next(iter(models))
    training = _Training(*_training_root(data_root))
    wav_cache = _LRU(WAV_CACHE_BYTES)

    app = FastAPI(
        title="emovae: the emotion plane",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Click the valence-arousal plane and hear the melody there (CVAE-EmoReg / CVAE-Base).",
    )
    app.state.models, app.state.training = models, training
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(_ServerTiming)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        text, details = _one_line_validation(exc)
        return JSONResponse({"error": text, "detail": details}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(EmovaeError)
    async def _emovae(request: Request, exc: EmovaeError):
        return JSONResponse({"error": _message(exc)}, status_code=400)

    def pick(key: str | None) -> tuple[str, Model]:
        key = default_key if key is None else key
        if key not in models:
            raise HTTPException(422, f"model {key!r}: unknown; use one of {', '.join(models)}")
        return key, models[key]

    def as_json(m: Melody, key: str, *, svg: bool = True, **extra) -> dict:
        tokens = np.asarray(m.tokens, dtype=np.int64)
        mid = melody_id(tokens)
        name = _safe_name(m.name)
        out = {
            "id": mid,
            "name": name,
            "model": key,
            "bars": m.bars,
            "emotion": m.emotion,
            "emotions": [NAMES[e] for e in m.emotions],
            "point": list(m.point) if m.point else None,
            "points": [[float(v), float(a)] for v, a in m.points],
            "notes": [list(n) for n in m.notes],
            "tokens": tokens.tolist(),
            "midi_url": f"/api/melody/{mid}.mid?name={quote(name)}",
            "wav_url": f"/api/melody/{mid}.wav",
            "svg_url": f"/api/melody/{mid}.svg",
            "svg": _svg(tokens) if svg else None,
        }
        out.update({k: v for k, v in m.info.items() if k not in out})
        out.update(extra)
        return _plain(out)

    # -- page -----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    # -- API ------------------------------------------------------------------------------
    @app.get("/api/info", summary="Models, the plane, the limits")
    def info() -> dict:
        data = training.data
        return {
            "models": [{"key": k, "title": m.title, "default": k == default_key} for k, m in models.items()],
            "default_model": default_key,
            "plane_limit": PLANE_LIMIT,
            "quadrants": [
                {
                    "quadrant": QUADRANTS[e],
                    "emotion": NAMES[e],
                    "label": LABELS[e],
                    "valence_sign": VALENCE[e],
                    "arousal_sign": AROUSAL[e],
                }
                for e in range(4)
            ],
            "limits": {
                "upload_bytes": MAX_UPLOAD_BYTES,
                "body_bytes": MAX_BODY_BYTES,
                "bars": MAX_WEB_BARS,
                "count": MAX_COUNT,
                "temperature": MAX_TEMPERATURE,
                "jitter": MAX_JITTER,
                "path_points": MAX_PATH_POINTS,
                "seed": MAX_SEED,
            },
            "audio": {"synth": "numpy", "sample_rate": WEB_SAMPLE_RATE},
            "training": {
                "available": training.root is not None and training.reason is None,
                "count": None if data is None else len(data.paths),
                "reason": training.reason,
            },
        }

    def melody_at(model: Model, v: float, a: float, emotion, seed: int, temperature: float, jitter: float) -> Melody:
        if jitter > 0:
            dv, da = np.random.default_rng(seed).normal(0.0, jitter, 2)
            sv, sa = (1.0 if v >= 0 else -1.0), (1.0 if a >= 0 else -1.0)
            v, a = sv * min(abs(v + dv), PLANE_LIMIT), sa * min(abs(a + da), PLANE_LIMIT)
        emotion = emotion if emotion is not None else NAMES[quadrant_of_point(v, a)]
        return _locked(_INFER_LOCK, model.at, v, a, emotion=emotion, seed=seed, temperature=temperature)

    @app.post("/api/at", summary="The melody at a point of the plane")
    def at(req: AtRequest) -> dict:
        key, model = pick(req.model)
        m = melody_at(model, req.valence, req.arousal, req.emotion, req.seed, req.temperature, req.jitter)
        return as_json(m, key, svg=req.svg, seed=req.seed, clicked=[req.valence, req.arousal])

    @app.get(
        "/api/at.wav",
        summary="The audio of the melody at a point (the same melody as POST /api/at)",
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}},
    )
    def at_wav(
        valence: Annotated[float, Query(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)],
        arousal: Annotated[float, Query(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)],
        emotion: Annotated[EmotionName | None, Query()] = None,
        seed: Annotated[int, Query(ge=0, le=MAX_SEED)] = 0,
        temperature: Annotated[
            float, Query(ge=0.0, le=MAX_TEMPERATURE, allow_inf_nan=False), AfterValidator(_check_temperature)
        ] = 0.0,
        jitter: Annotated[float, Query(ge=0.0, le=MAX_JITTER, allow_inf_nan=False)] = 0.0,
        model: ModelQuery = None,
        synth: Literal["numpy", "auto"] = "numpy",
    ) -> Response:
        _, m = pick(model)
        return wav_response(melody_at(m, valence, arousal, emotion, seed, temperature, jitter).tokens, synth)

    @app.post("/api/generate", summary="n melodies of an emotion, sampled as the paper does")
    def generate(req: GenerateRequest) -> dict:
        key, model = pick(req.model)
        ms = _locked(_INFER_LOCK, model.generate, req.emotion, req.n, seed=req.seed, temperature=req.temperature)
        return {"melodies": [as_json(m, key, svg=req.svg, seed=req.seed) for m in ms]}

    @app.post("/api/path", summary="A melody whose emotion follows a path across the plane")
    def path(req: PathRequest) -> dict:
        key, model = pick(req.model)
        m = _locked(
            _INFER_LOCK,
            model.path,
            [tuple(p) for p in req.points],
            bars=req.bars,
            seed=req.seed,
            temperature=req.temperature,
        )
        return as_json(
            m, key, svg=req.svg, seed=req.seed, temperature=req.temperature, waypoints=[list(p) for p in req.points]
        )

    @app.post("/api/upload", summary=f"Place a MIDI file (at most {MAX_UPLOAD_BYTES // 1024} KiB) on the plane")
    def upload(
        file: Annotated[UploadFile, File(description=f"a MIDI file, at most {MAX_UPLOAD_BYTES} bytes")],
        model: Annotated[str | None, Form(pattern=_MODEL_PATTERN, description=_MODEL_HELP)] = None,
        emotion: Annotated[EmotionName | None, Form()] = None,
    ) -> dict:
        key, m = pick(model)
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(
                413,
                f"upload over {MAX_UPLOAD_BYTES} bytes ({MAX_UPLOAD_BYTES // 1024} KiB): "
                "a 4-bar melody is a few hundred bytes",
            )
        name = _safe_name(Path(file.filename or "upload.mid").name, "upload.mid")
        if not data:
            raise HTTPException(400, f"{name}: empty file")
        if not data.startswith(b"MThd"):
            raise HTTPException(415, f"{name}: not a MIDI file (a standard MIDI file starts with 'MThd')")
        _check_midi_length(data, name)
        if not name.lower().endswith((".mid", ".midi")):
            name += ".mid"
        with tempfile.TemporaryDirectory(prefix="emovae-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            caught: list[str] = []

            def place():
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    placed = m.encode(path, emotion=emotion)
                caught.extend(_message(w.message, (str(path), name), (tmp + os.sep, "")) for w in seen)
                return placed

            try:
                placed = _locked(_INFER_LOCK, place)
            except EmovaeError as exc:
                raise HTTPException(400, _message(exc, (str(path), name), (tmp + os.sep, ""))) from None
        if placed.bars > MAX_WEB_BARS:
            raise HTTPException(400, f"{name}: {placed.bars} bars; at most {MAX_WEB_BARS} are served here")
        return as_json(placed, key, seed=0, warnings=caught, file=name)

    @app.post("/api/encode", summary="Place a melody (tokens) on the plane")
    def encode(req: EncodeRequest) -> dict:
        key, model = pick(req.model)
        placed = _locked(_INFER_LOCK, model.encode, np.asarray(req.tokens, dtype=np.int64), emotion=req.emotion)
        return as_json(placed, key, svg=req.svg)

    @app.post("/api/transform", summary="Move a melody (tokens) into another quadrant")
    def transform(req: TransformRequest) -> dict:
        key, model = pick(req.model)
        m = _locked(
            _INFER_LOCK,
            model.transform,
            np.asarray(req.tokens, dtype=np.int64),
            req.to,
            emotion=req.emotion,
            temperature=req.temperature,
            seed=req.seed,
        )
        return as_json(m, key, svg=req.svg, seed=req.seed, temperature=req.temperature)

    def training_or_404(index: int | None = None):
        data = training.dataset()
        if data is None:
            raise HTTPException(404, training.reason or "no training melodies")
        if index is not None and not 0 <= index < len(data.paths):
            raise HTTPException(404, f"training melody {index}: no such index (0..{len(data.paths) - 1})")
        return data

    @app.get("/api/training", summary="The training melodies as dots on the plane")
    def training_dots(model: ModelQuery = None) -> dict:
        key, m = pick(model)
        data = training.dataset()
        if data is None:
            return {"available": False, "reason": training.reason, "model": key, "dots": []}
        points = training.points_for(key, m)
        dots = [
            {
                "index": i,
                "file": f"{p.parent.name}/{p.name}",
                "label": LABELS[int(lab)],
                "emotion": NAMES[int(lab)],
                "point": [round(float(v), 4), round(float(a), 4)],
                "id": melody_id(tok),
            }
            for i, (p, lab, (v, a), tok) in enumerate(zip(data.paths, data.labels, points, data.tokens))
        ]
        return {"available": True, "reason": None, "model": key, "dots": dots}

    @app.get(
        "/api/training/{index}.wav",
        summary="A training melody's audio (WAV)",
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}},
    )
    def training_wav(
        index: Annotated[int, PathParam(ge=0, le=100_000)], synth: Literal["numpy", "auto"] = "numpy"
    ) -> Response:
        data = training_or_404(index)
        return wav_response(data.tokens[index], synth)

    @app.get("/api/training/{index}", summary="A training melody, placed with its own label")
    def training_melody(
        index: Annotated[int, PathParam(ge=0, le=100_000)],
        model: ModelQuery = None,
        svg: Annotated[bool, Query()] = True,
    ) -> dict:
        key, m = pick(model)
        data = training_or_404(index)
        points = training.points_for(key, m)
        path = data.paths[index]
        mel = Melody(
            data.tokens[index],
            (int(data.labels[index]),),
            ((float(points[index][0]), float(points[index][1])),),
            _safe_name(path.stem),
        )
        return as_json(mel, key, svg=svg, file=f"{path.parent.name}/{path.name}", index=index)

    def wav_response(tokens, synth: str) -> Response:
        from .render import to_wav

        cache_key = (melody_id(tokens), synth)
        data = wav_cache.get(cache_key)
        if data is None:
            if len(tokens) > MAX_TOKENS:
                raise HTTPException(400, f"melody of {len(tokens) // 16} bars: audio is served up to {MAX_WEB_BARS}")
            data = to_wav(tokens, synth=synth, sample_rate=WEB_SAMPLE_RATE)
            wav_cache.put(cache_key, data)
        return Response(data, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"})

    @app.get(
        "/api/melody/{mid}.wav",
        summary="A melody's audio (WAV, 16-bit mono)",
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}},
    )
    def melody_wav(mid: MelodyId, synth: Literal["numpy", "auto"] = "numpy") -> Response:
        return wav_response(tokens_of_id(mid), synth)

    @app.get(
        "/api/melody/{mid}.mid",
        summary="A melody's MIDI file",
        response_class=Response,
        responses={200: {"content": {"audio/midi": {}}}},
    )
    def melody_midi(
        mid: MelodyId, name: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.+-]{1,100}$")] = "melody"
    ) -> Response:
        from .render import to_midi_bytes

        data = to_midi_bytes(tokens_of_id(mid))
        filename = name if name.lower().endswith(".mid") else name + ".mid"
        return Response(
            data, media_type="audio/midi", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )

    @app.get(
        "/api/melody/{mid}.svg",
        summary="A melody's score (SVG)",
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    def melody_svg(mid: MelodyId) -> Response:
        return Response(_svg(tokens_of_id(mid)), media_type="image/svg+xml")

    return app


def _check_midi_length(data: bytes, name: str) -> None:
    """Refuse (400) a MIDI file mido cannot parse, or whose notes end beyond MAX_WEB_BARS bars
    (checked before MusPy lays it out step by step, so a huge delta time cannot eat memory)."""
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido raises OSError, EOFError, ValueError, KeyError, IndexError ...
        raise HTTPException(400, f"{name}: not a readable MIDI file ({_message(exc)})") from None
    tpb = getattr(midi, "ticks_per_beat", 0)
    if not isinstance(tpb, int) or tpb <= 0:
        raise HTTPException(400, f"{name}: unsupported MIDI time division ({tpb!r} ticks per beat)")
    last = 0
    for track in midi.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type in ("note_on", "note_off"):
                last = max(last, now)
    bars = last * 4 / tpb / 16
    if bars > MAX_WEB_BARS:
        raise HTTPException(400, f"{name}: notes run to bar {bars:.0f}; at most {MAX_WEB_BARS} bars are served here")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a one-line EmovaeError (port taken, bad host ...)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise EmovaeError(f"port {port!r}: a whole number 0..65535 is needed")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise EmovaeError(f"host {host!r}: cannot resolve ({_message(exc)})") from None
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
    from .render import to_wav

    for key, model in app.state.models.items():
        app.state.training.points_for(key, model)
        m = _locked(_INFER_LOCK, model.at, 1.0, 1.0)
        _svg(m.tokens)
    to_wav(m.tokens, synth="numpy", sample_rate=WEB_SAMPLE_RATE)


class BackgroundServer:
    """A uvicorn server for an app on a thread (tests, benchmarks): ``.url``, ``.stop()``; a
    context manager. ``port=0`` picks a free port."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0):
        import uvicorn

        self.sock = _listen(host, port)
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
    """Run the page and the API until Ctrl+C (blocks). ``checkpoint``: None, "emoreg" or
    "base" serve both bundled models (that one first); a checkpoint file or run folder is
    served as "checkpoint", the bundled two beside it. Prints the address once it listens."""
    import uvicorn

    sock = _listen(host, port)
    try:
        bundled = _load_bundled()
        if checkpoint is None or str(checkpoint) in bundled:
            first = "emoreg" if checkpoint is None else str(checkpoint)
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
