"""The emotion plane in the browser: a local web page and a JSON API (FastAPI + uvicorn).

``emovae serve [checkpoint] [--host H] [--port P] [--data DIR]`` calls :func:`serve`, which
loads the models once, computes the training melodies' points, prints the address and runs
uvicorn until Ctrl+C. :func:`create_app` builds the same application for tests.

**Models.** ``create_app(models)`` takes ``{key: Model}``; the first key is the default.
Without models it loads the bundled CVAE-Plane ("plane", the default), CVAE-EmoReg
("emoreg") and CVAE-Base ("base"). Every API call takes ``model`` (a key) to choose one; the page has a switch.

**Endpoints** (``/openapi.json`` is the schema; FastAPI's ``/docs`` page is switched off because
it loads its script from a CDN, and nothing here comes from the internet):

- ``GET /`` the page (``emovae/web/index.html``; ``/static/*`` its script and style sheet;
  nothing is loaded from the internet);
- ``GET /api/info`` models (with their samplers), plane limit, the limits below, whether training
  dots exist;
- ``POST /api/at`` {valence, arousal, emotion?, seed, temperature, jitter} -> one melody at the
  point (decoded with its quadrant's emotion unless ``emotion`` names another). At
  temperature 0 the point alone decides the melody, so "another one" asks for ``jitter`` > 0:
  the point is moved by a seeded N(0, jitter^2) offset, mirrored back into its quadrant;
- ``GET /api/at.wav?valence=&arousal=&...`` the same melody's audio at once: the page sets its
  ``<audio>`` to this URL on the click and fetches the JSON (marker, score, MIDI link) beside it;
- ``POST /api/generate`` {emotion, n, seed, temperature, sampler, spread, unique} -> n melodies of
  the emotion, their points drawn by ``sampler`` ("paper": around the quadrant centre, or
  "fitted": the density fitted to the model's training codes, widened by ``spread``, 0 < spread
  <= 10; default: the model's ``default_sampler``) and, with ``unique`` (the copy guard), none
  equal to a training melody where the model holds their hashes (:mod:`emovae.samplers`; a
  sampler or guard the model lacks is a 400). ``/api/info`` lists each model's ``samplers``,
  ``default_sampler`` and ``copy_guard``;
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
0 or :data:`MIN_TEMPERATURE`..:data:`MAX_TEMPERATURE`; ``seed`` 0..2^32-1; ``jitter`` 0..:data:`MAX_JITTER`; a path of 1 to
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
all requests; **inference is serialised** by one process-wide lock (:data:`~emovae.server.state.INFER_LOCK`:
encode and decode, one call at a time, each using PyTorch's own threads; a call takes a few
milliseconds, so queueing costs less than batching would win on 2 cores), the score by a second
lock (music21 and verovio keep global state), while the NumPy audio synthesis, MIDI writing and
JSON run in parallel. A request that cannot get a lock within :data:`LOCK_TIMEOUT_S` seconds
gets a 503 instead of hanging. Every response carries ``Server-Timing: app;dur=<ms>``, the
server's own time for it (``benchmarks/web_latency.py`` reads it).

**Layout** (a new endpoint is a function in the router of its group; a new group is a module
with a ``router`` and one line in :data:`emovae.server.app.ROUTERS`):

- :mod:`~emovae.server.state` the limits, the locks, the caches, :class:`ServerState` (the
  models, the training melodies; ``pick``, ``as_json``, ``wav_response``) and ``get_state``,
  the dependency that hands it to each endpoint;
- :mod:`~emovae.server.schemas` the request schemas;
- the routers: :mod:`~emovae.server.page` (``/``, ``/static``), :mod:`~emovae.server.info`,
  :mod:`~emovae.server.plane` (``at``, ``at.wav``, ``generate``), :mod:`~emovae.server.paths`,
  :mod:`~emovae.server.placing` (``upload``, ``encode``, ``transform``),
  :mod:`~emovae.server.training`, :mod:`~emovae.server.melodies`;
- :mod:`~emovae.server.app` :func:`create_app`, the middleware and the error handlers;
- :mod:`~emovae.server.run` :func:`serve`, :class:`BackgroundServer`, :func:`warm`.
"""

from __future__ import annotations

from .app import create_app
from .run import BackgroundServer, serve, warm
from .state import (
    MAX_BODY_BYTES,
    MAX_COUNT,
    MAX_JITTER,
    MAX_PATH_POINTS,
    MAX_SPREAD,
    MAX_TEMPERATURE,
    MAX_UPLOAD_BYTES,
    MAX_WEB_BARS,
    MIN_TEMPERATURE,
    WEB_SAMPLE_RATE,
    melody_id,
    tokens_of_id,
)

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
    "MAX_SPREAD",
    "MAX_PATH_POINTS",
    "WEB_SAMPLE_RATE",
]
