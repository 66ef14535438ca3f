"""What the endpoints share: the limits, the two locks, the caches, the training melodies and the
loaded models (:class:`ServerState`, one per app, handed to each endpoint by :func:`get_state`).

The models are shared read-only by all requests; inference is serialised by one process-wide
lock (:data:`INFER_LOCK`), the score by a second (:data:`RENDER_LOCK`: music21 and verovio keep
global state); a request that cannot get a lock within :data:`LOCK_TIMEOUT_S` seconds gets a
503 instead of hanging (:func:`locked`)."""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from urllib.parse import quote

import numpy as np
from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ..api import Melody, Model
from ..atomic import jsonable
from ..data import HOLD, N_STEPS, REST
from ..emotions import NAMES
from ..errors import EmovaeError
from ..limits import MAX_PATH_POINTS, MAX_SEED, MAX_SPREAD, MIN_TEMPERATURE
from ..limits import WEB_MAX_COUNT as MAX_COUNT
from ..limits import WEB_MAX_JITTER as MAX_JITTER
from ..limits import WEB_MAX_TEMPERATURE as MAX_TEMPERATURE

__all__ = [
    "WEB_DIR",
    "MAX_UPLOAD_BYTES",
    "MAX_BODY_BYTES",
    "MAX_WEB_BARS",
    "MAX_TOKENS",
    "MAX_COUNT",
    "MAX_TEMPERATURE",
    "MIN_TEMPERATURE",
    "MAX_JITTER",
    "MAX_SPREAD",
    "MAX_SEED",
    "MAX_PATH_POINTS",
    "WEB_SAMPLE_RATE",
    "LOCK_TIMEOUT_S",
    "WAV_CACHE_BYTES",
    "INFER_LOCK",
    "RENDER_LOCK",
    "ServerState",
    "get_state",
    "locked",
    "svg_of",
    "melody_id",
    "tokens_of_id",
    "safe_name",
    "message",
]

WEB_DIR = Path(__file__).parent.parent / "web"
MAX_UPLOAD_BYTES = 64 * 1024  # a MIDI file (a 4-bar melody is about 200 bytes)
MAX_BODY_BYTES = 128 * 1024  # any request body (the upload's multipart wrapping included)
MAX_WEB_BARS = 64  # bars of a path melody, an upload, the tokens given
MAX_TOKENS = MAX_WEB_BARS * 16
WEB_SAMPLE_RATE = 22050
LOCK_TIMEOUT_S = 60.0
WAV_CACHE_BYTES = 32 * 1024 * 1024  # recently rendered WAVs (the browser may fetch one twice)

INFER_LOCK = threading.Lock()  # encode/decode: one at a time, process-wide
RENDER_LOCK = threading.Lock()  # music21 + verovio (global state)

_NAME_RE = re.compile(r"[^A-Za-z0-9_.+-]+")
_RANGE_RE = re.compile(r"bytes=(\d{0,12})-(\d{0,12})")  # one byte range (others: the whole file)


# ---------------------------------------------------------------------------- helpers


def locked(lock: threading.Lock, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` holding ``lock``; a 503 if no turn comes within LOCK_TIMEOUT_S."""
    if not lock.acquire(timeout=LOCK_TIMEOUT_S):
        raise HTTPException(503, f"the model is busy: no turn within {LOCK_TIMEOUT_S:g} s; try again")
    try:
        return fn(*args, **kwargs)
    finally:
        lock.release()


def svg_of(tokens) -> str:
    """The score (SVG) of raw tokens, one at a time."""
    from ..render import to_svg

    return locked(RENDER_LOCK, to_svg, tokens)


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


def safe_name(name: str, default: str = "melody") -> str:
    stem = _NAME_RE.sub("_", name).strip("._")[:80]
    return stem or default


def message(exc: Exception, *replace: tuple[str, str]) -> str:
    """The first line of an exception's message, with ``(old, new)`` replacements."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for old, new in replace:
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------------------- caches


class LRU:
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


class Training:
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
                from ..data import load_dataset

                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # polyphonic files reduced to their top line
                        self.data = load_dataset(self.root)
                except EmovaeError as exc:
                    self.reason = f"training melodies not readable: {message(exc)}"
            return self.data

    def points_for(self, key: str, model: Model) -> np.ndarray | None:
        data = self.dataset()
        if data is None:
            return None
        with self.lock:
            if key not in self.points:
                self.points[key] = locked(INFER_LOCK, model.trained.encode, data.tokens, data.labels)
            return self.points[key]


def training_root(data_root) -> tuple[Path | None, str | None]:
    """The data set folder for the training dots and, where there is none, why."""
    if data_root is not None:
        root = Path(data_root).expanduser()
        if not root.is_dir():
            raise EmovaeError(f"{root}: no such directory (the data set folder holding e1..e4)")
        return root, None
    env = os.environ.get("EMOVAE_DATA")
    if not env:
        from ..corpus import default_dir, is_built

        if is_built(default_dir()):  # the training set rebuilt by `emovae data build`
            return default_dir(), None
        return None, "no training melodies: set $EMOVAE_DATA, pass --data, or run `emovae data build` to show them"
    root = Path(env).expanduser()
    if not root.is_dir():
        return None, f"no training melodies: $EMOVAE_DATA={env} is not a directory"
    return root, None


# ---------------------------------------------------------------------------- the state


class ServerState:
    """One app's models (``{key: Model}``, the first the default), training melodies and WAV
    cache, with what every endpoint does with them: pick a model, turn a melody into JSON,
    answer with a WAV."""

    def __init__(self, models: dict[str, Model], data_root=None):
        if not models:
            raise EmovaeError("create_app: give at least one model")
        for key, model in models.items():
            if not isinstance(model, Model) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", str(key)):
                raise EmovaeError(f"create_app: model {key!r} must be an emovae.api.Model under a short key")
        self.models = models
        self.default_key = next(iter(models))
        self.training = Training(*training_root(data_root))
        self.wav_cache = LRU(WAV_CACHE_BYTES)

    def pick(self, key: str | None) -> tuple[str, Model]:
        """The key and model asked for (None: the default); 422 for an unknown key."""
        key = self.default_key if key is None else key
        if key not in self.models:
            raise HTTPException(422, f"model {key!r}: unknown; use one of {', '.join(self.models)}")
        return key, self.models[key]

    def as_json(self, m: Melody, key: str, *, svg: bool = True, **extra) -> dict:
        """A melody as the API returns it (the package docstring lists the fields)."""
        tokens = np.asarray(m.tokens, dtype=np.int64)
        mid = melody_id(tokens)
        name = safe_name(m.name)
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
            "musicxml_url": f"/api/melody/{mid}.musicxml?name={quote(name)}",
            "svg": svg_of(tokens) if svg else None,
        }
        out.update({k: v for k, v in m.info.items() if k not in out})
        out.update(extra)
        return jsonable(out)

    def wav_response(self, tokens, synth: str, bpm: int = 120, byte_range: str | None = None) -> Response:
        """The audio of raw tokens at ``bpm`` (cached by melody, synthesizer and tempo); with a
        ``Range: bytes=a-b`` header (one range) the part asked for (206), so a browser can seek."""
        from ..render import to_wav

        cache_key = (melody_id(tokens), synth, bpm)
        data = self.wav_cache.get(cache_key)
        if data is None:
            if len(tokens) > MAX_TOKENS:
                raise HTTPException(400, f"melody of {len(tokens) // 16} bars: audio is served up to {MAX_WEB_BARS}")
            data = to_wav(tokens, synth=synth, sample_rate=WEB_SAMPLE_RATE, bpm=bpm)
            self.wav_cache.put(cache_key, data)
        headers = {"Cache-Control": "private, max-age=3600", "Accept-Ranges": "bytes"}
        part = _RANGE_RE.fullmatch((byte_range or "").strip())
        if part and (part[1] or part[2]):
            size = len(data)
            if part[1]:
                start, end = int(part[1]), min(int(part[2]) if part[2] else size - 1, size - 1)
            else:  # the last n bytes
                start, end = max(0, size - int(part[2])), size - 1
            if start <= end < size:
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                return Response(data[start : end + 1], status_code=206, media_type="audio/wav", headers=headers)
        return Response(data, media_type="audio/wav", headers=headers)

    def training_or_404(self, index: int | None = None):
        """The training data set (and a valid ``index`` into it), else a 404 saying why not."""
        data = self.training.dataset()
        if data is None:
            raise HTTPException(404, self.training.reason or "no training melodies")
        if index is not None and not 0 <= index < len(data.paths):
            raise HTTPException(404, f"training melody {index}: no such index (0..{len(data.paths) - 1})")
        return data


async def get_state(request: Request) -> ServerState:
    """The FastAPI dependency: the app's :class:`ServerState` (async: no threadpool hop)."""
    return request.app.state.emovae
