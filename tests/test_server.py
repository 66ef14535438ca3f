"""The web API (emovae.server) in-process with FastAPI's TestClient: every endpoint, every bad
input a 4xx with a one-line JSON error, concurrent requests, a schemathesis fuzz of
/openapi.json finding no 5xx, and `emovae serve` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install 'emovae[web]')")

from fastapi.testclient import TestClient

from emovae import server
from emovae.api import Model, load
from emovae.data import HOLD, REST, midi_bytes, token_hash
from emovae.emotions import quadrant_of_point
from emovae.errors import EmovaeError

EXAMPLES = 8  # schemathesis examples per operation and mode (valid / invalid data)
QUADRANT_POINTS = {"happy": (2.0, 1.5), "angry": (-2.5, 2.0), "sad": (-1.5, -2.5), "relaxed": (3.0, -1.0)}


def _data_root() -> Path | None:
    root = os.environ.get("EMOVAE_DATA")
    return Path(root) if root and Path(root).is_dir() else None


@pytest.fixture(scope="module")
def models():
    return {"emoreg": load("emoreg"), "base": load("base")}


@pytest.fixture(scope="module")
def client(models):
    app = server.create_app(models, data_root=_data_root())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _error(response, status: int) -> str:
    """The response has this status and a JSON body {"error": one line}; returns the line."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]
    return body["error"]


def _melody_tokens(bars: int = 4) -> list[int]:
    """A hand-made melody: C D E F G quarter notes and a half-note rest pattern, repeated."""
    bar = [60, HOLD, HOLD, HOLD, 62, HOLD, HOLD, HOLD, 64, HOLD, 65, HOLD, 67, HOLD, REST, REST]
    return bar * bars


# ---------------------------------------------------------------------------- page and info


def test_page_and_its_files_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="plane"' in page.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith("/static/") or r.startswith("data:") for r in refs), refs
    for ref in refs:
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref
    script = client.get("/static/app.js").text
    assert "http://" not in script.replace("http://www.w3.org/2000/svg", "") and "https://" not in script
    # the style sheet comes inlined (no request before the first paint), the same rules as the file's
    style = client.get("/static/style.css").text
    assert "/static/style.css" not in page.text and style.strip() in page.text


def test_info_lists_models_and_limits(client):
    info = client.get("/api/info").json()
    assert [m["key"] for m in info["models"]] == ["emoreg", "base"]
    assert info["default_model"] == "emoreg" and info["plane_limit"] == 8.0
    assert info["limits"]["upload_bytes"] == 64 * 1024
    assert [q["emotion"] for q in info["quadrants"]] == ["happy", "angry", "sad", "relaxed"]


def test_openapi_schema_is_valid_json(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/at", "/api/at.wav", "/api/path", "/api/upload", "/api/transform", "/api/training"):
        assert path in spec["paths"], path


# ---------------------------------------------------------------------------- generating


@pytest.mark.parametrize("emotion", list(QUADRANT_POINTS))
def test_at_gives_the_melody_of_the_point(client, models, emotion):
    v, a = QUADRANT_POINTS[emotion]
    r = client.post("/api/at", json={"valence": v, "arousal": a})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["emotion"] == emotion and m["point"] == [v, a] and m["model"] == "emoreg"
    expected = models["emoreg"].at(v, a)
    assert m["tokens"] == expected.tokens.tolist()
    assert m["notes"] == [list(n) for n in expected.notes]
    assert m["svg"].lstrip().startswith("<svg")
    wav = client.get(m["wav_url"])
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(wav.content)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, server.WEB_SAMPLE_RATE)
        assert w.getnframes() == round(8.5 * server.WEB_SAMPLE_RATE)  # 64 steps * 0.125 s + 0.5 s tail
    midi = client.get(m["midi_url"])
    assert midi.status_code == 200 and midi.content == midi_bytes(expected.tokens)
    assert m["name"] in midi.headers["content-disposition"]
    svg = client.get(m["svg_url"])
    assert svg.status_code == 200 and svg.text.startswith(m["svg"].split(">", 1)[0])  # the same page size
    assert svg.text.count('class="note"') == m["svg"].count('class="note"') > 0  # the same score (ids aside)


def test_at_wav_is_the_audio_of_the_same_melody(client):
    ask = {"valence": -1.2, "arousal": 0.7, "seed": 3, "temperature": 0.8}
    m = client.post("/api/at", json={**ask, "svg": False}).json()
    assert m["svg"] is None
    direct = client.get("/api/at.wav", params=ask)
    assert direct.status_code == 200
    assert direct.content == client.get(m["wav_url"]).content


def test_emotion_override_base_model_and_temperature(client, models):
    r = client.post("/api/at", json={"valence": 1, "arousal": 1, "emotion": "sad", "model": "base"}).json()
    assert r["emotions"] == ["sad"] and r["model"] == "base"
    assert r["tokens"] == models["base"].at(1, 1, emotion="sad").tokens.tolist()
    argmax = [client.post("/api/at", json={"valence": 1, "arousal": 1, "seed": s}).json()["tokens"] for s in (0, 1)]
    assert argmax[0] == argmax[1]  # at temperature 0 the seed does not matter
    hot = [
        client.post("/api/at", json={"valence": 1, "arousal": 1, "seed": s, "temperature": 2.0}).json()["tokens"]
        for s in (0, 1, 2)
    ]
    assert len({tuple(t) for t in hot}) > 1  # sampled: the seeds differ
    again = client.post("/api/at", json={"valence": 1, "arousal": 1, "seed": 1, "temperature": 2.0}).json()
    assert again["tokens"] == hot[1]  # and each is reproducible


def test_jitter_moves_the_point_within_its_quadrant(client):
    base = {"valence": 0.3, "arousal": -0.2, "jitter": 1.5}
    points = [client.post("/api/at", json={**base, "seed": s, "svg": False}).json() for s in range(6)]
    assert len({tuple(p["point"]) for p in points}) == 6
    for p in points:
        assert p["emotion"] == "relaxed" and quadrant_of_point(*p["point"]) == 3 and p["clicked"] == [0.3, -0.2]
    same = client.post("/api/at", json={**base, "seed": 4, "svg": False}).json()
    assert same["point"] == points[4]["point"]


def test_generate_n_melodies(client, models):
    r = client.post("/api/generate", json={"emotion": "angry", "n": 3, "seed": 5, "svg": False})
    assert r.status_code == 200
    ms = r.json()["melodies"]
    expected = models["emoreg"].generate("angry", 3, seed=5)
    assert [m["tokens"] for m in ms] == [e.tokens.tolist() for e in expected]
    assert all(m["emotion"] == "angry" for m in ms)


# ---------------------------------------------------------------------------- samplers
FITTED_MEANS = {"happy": (3.0, 3.0), "angry": (-3.0, 3.0), "sad": (-3.0, -3.0), "relaxed": (3.0, -3.0)}


def _twin(model: Model, **attrs) -> Model:
    """The same network under a new TrainedModel object, some attributes changed."""
    import copy

    trained = copy.copy(model.trained)
    for k, v in attrs.items():
        setattr(trained, k, v)
    return Model(trained)


@pytest.fixture(scope="module")
def sampler_client(models):
    """ "fitted": emoreg with a density fitted to points around (+-3, +-3) (sd 0.3); "plain": none;
    "nohash": neither a density nor the training melodies' hashes."""
    from emovae.samplers import FittedSampler

    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(c, 0.3, (50, 2)) for c in FITTED_MEANS.values()])
    fitted = FittedSampler.fit(pts, np.repeat(np.arange(4), 50))
    twins = {
        "fitted": _twin(models["emoreg"], sampler=fitted),
        "plain": _twin(models["emoreg"], sampler=None),
        "nohash": _twin(models["emoreg"], sampler=None, training_hashes=frozenset()),
    }
    with TestClient(server.create_app(twins, data_root=None), raise_server_exceptions=False) as c:
        c.models = twins
        yield c


def test_info_says_which_samplers_each_model_offers(sampler_client):
    info = {m["key"]: m for m in sampler_client.get("/api/info").json()["models"]}
    assert info["fitted"]["samplers"] == ["paper", "fitted"] and info["fitted"]["default_sampler"] == "fitted"
    assert info["plain"]["samplers"] == ["paper"] and info["plain"]["default_sampler"] == "paper"
    assert info["plain"]["copy_guard"] is True and info["nohash"]["copy_guard"] is False
    assert sampler_client.get("/api/info").json()["limits"]["spread"] == 10


def test_generate_draws_with_the_models_default_sampler(sampler_client):
    ask = {"emotion": "sad", "n": 3, "seed": 2, "svg": False}
    r = sampler_client.post("/api/generate", json={**ask, "model": "fitted"}).json()
    assert r["sampler"] == "fitted" and r["spread"] == 1.0 and r["unique"] is False
    expected = sampler_client.models["fitted"].generate("sad", 3, seed=2, sampler="fitted")
    assert [m["tokens"] for m in r["melodies"]] == [e.tokens.tolist() for e in expected]
    for m in r["melodies"]:  # around the fitted mean (sd 0.3), not the paper's N((-2, -2), 2^2)
        assert m["sampler"] == "fitted" and np.allclose(m["point"], FITTED_MEANS["sad"], atol=1.5)
    plain = sampler_client.post("/api/generate", json={**ask, "model": "plain"}).json()
    assert plain["sampler"] == "paper" and plain["spread"] is None
    paper = sampler_client.models["plain"].generate("sad", 3, seed=2, sampler="paper")
    assert [m["tokens"] for m in plain["melodies"]] == [e.tokens.tolist() for e in paper]


def test_generate_with_an_explicit_sampler_and_spread(sampler_client):
    ask = {"emotion": "happy", "n": 4, "seed": 7, "svg": False, "model": "fitted"}
    paper = sampler_client.post("/api/generate", json={**ask, "sampler": "paper"}).json()
    assert paper["sampler"] == "paper" and paper["spread"] is None
    expected = sampler_client.models["fitted"].generate("happy", 4, seed=7, sampler="paper")
    assert [m["point"] for m in paper["melodies"]] == [list(e.point) for e in expected]
    assert [m["tokens"] for m in paper["melodies"]] == [e.tokens.tolist() for e in expected]
    wide = sampler_client.post("/api/generate", json={**ask, "sampler": "fitted", "spread": 4}).json()
    narrow = sampler_client.post("/api/generate", json={**ask, "sampler": "fitted"}).json()
    centre = sampler_client.models["fitted"].trained.sampler.means[0]  # happy
    for w, n in zip(wide["melodies"], narrow["melodies"]):  # the same normal draws, 4 times as far out
        np.testing.assert_allclose(np.array(w["point"]) - centre, 4 * (np.array(n["point"]) - centre), atol=1e-3)
    assert wide["spread"] == 4.0


def test_fitted_on_a_model_without_one_is_a_400(sampler_client):
    msg = _error(sampler_client.post("/api/generate", json={"model": "plain", "sampler": "fitted"}), 400)
    assert "'plain'" in msg and "fitted sampler" in msg and "paper" in msg


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"sampler": "fitted", "spread": 0}, "spread"),
        ({"sampler": "fitted", "spread": -1}, "spread"),
        ({"sampler": "fitted", "spread": 10.5}, "spread"),
        ({"spread": "wide"}, "spread"),
        ({"sampler": "gaussian"}, "sampler"),
        ({"unique": "maybe"}, "unique"),
    ],
)
def test_bad_sampler_requests_get_422(sampler_client, body, named):
    assert named in _error(sampler_client.post("/api/generate", json={"model": "fitted", **body}), 422)


def test_a_nan_spread_is_a_422(sampler_client):
    body = '{"model": "fitted", "sampler": "fitted", "spread": NaN}'
    r = sampler_client.post("/api/generate", content=body, headers={"content-type": "application/json"})
    assert "spread" in _error(r, 422)


def test_unique_draws_no_melody_of_the_training_set(sampler_client, models):
    ask = {"emotion": "relaxed", "n": 6, "seed": 3, "svg": False, "model": "plain"}
    first = sampler_client.post("/api/generate", json=ask).json()["melodies"]
    # a model whose "training set" is exactly these six melodies: the guard must draw others
    seen = frozenset(token_hash(m["tokens"]) for m in first)
    guarded = _twin(models["emoreg"], sampler=None, training_hashes=seen)
    with TestClient(server.create_app({"guarded": guarded}, data_root=None)) as c:
        again = c.post("/api/generate", json={**ask, "model": "guarded"}).json()["melodies"]
        assert [m["tokens"] for m in again] == [m["tokens"] for m in first]  # unique is off by default
        r = c.post("/api/generate", json={**ask, "model": "guarded", "unique": True}).json()
    assert r["unique"] is True and not {token_hash(m["tokens"]) for m in r["melodies"]} & seen
    # the bundled model's own hashes (its training melodies): none of them drawn
    trained = sampler_client.models["plain"].trained
    for seed in (0, 1):
        r = sampler_client.post("/api/generate", json={**ask, "seed": seed, "n": 16, "unique": True}).json()
        assert not trained.copies(np.array([m["tokens"] for m in r["melodies"]])).any()


def test_unique_on_a_model_without_hashes_is_a_400(sampler_client):
    msg = _error(sampler_client.post("/api/generate", json={"model": "nohash", "unique": True}), 400)
    assert "'nohash'" in msg and "hashes" in msg


def test_path_gives_a_16_bar_melody_along_the_points(client, models):
    pts = [[2, 2], [-2, 2], [-2, -2], [2, -2]]
    r = client.post("/api/path", json={"points": pts, "bars": 16, "seed": 1})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["bars"] == 16 and len(m["tokens"]) == 256 and len(m["points"]) == 4
    assert m["emotions"] == ["happy", "angry", "sad", "relaxed"]
    assert m["tokens"] == models["emoreg"].path([tuple(p) for p in pts], bars=16, seed=1).tokens.tolist()
    assert client.get(m["wav_url"]).status_code == 200


# ---------------------------------------------------------------------------- bad input

BAD_AT = [
    ('{"valence": NaN, "arousal": 0}', "valence"),
    ('{"valence": 0, "arousal": Infinity}', "arousal"),
    ('{"valence": -Infinity, "arousal": 0}', "valence"),
    ('{"valence": 8.01, "arousal": 0}', "valence"),
    ('{"valence": 0, "arousal": -9}', "arousal"),
    ('{"valence": 1e999, "arousal": 0}', "valence"),
    ('{"valence": "abc", "arousal": 0}', "valence"),
    ('{"valence": null, "arousal": 0}', "valence"),
    ('{"arousal": 0}', "valence"),
    ('{"valence": 0, "arousal": 0, "temperature": -1}', "temperature"),
    ('{"valence": 0, "arousal": 0, "temperature": NaN}', "temperature"),
    ('{"valence": 0, "arousal": 0, "temperature": 2.2e-309}', "temperature"),  # found by the fuzz: 500 once
    ('{"valence": 0, "arousal": 0, "temperature": 0.0005}', "temperature"),
    ('{"valence": 0, "arousal": 0, "seed": -1}', "seed"),
    ('{"valence": 0, "arousal": 0, "seed": 100000000000000000000000000000}', "seed"),
    ('{"valence": 0, "arousal": 0, "emotion": "bored"}', "emotion"),
    ('{"valence": 0, "arousal": 0, "model": "gpt"}', "model"),
    ('{"valence": 0, "arousal": 0, "colour": "red"}', "colour"),
    ('{"valence": 0, "arousal": 0', "body"),
    ("[1, 2]", "body"),
]


@pytest.mark.parametrize(("body", "named"), BAD_AT)
def test_bad_point_requests_get_422_naming_the_field(client, body, named):
    r = client.post("/api/at", content=body, headers={"content-type": "application/json"})
    assert named in _error(r, 422)


@pytest.mark.parametrize(
    "query",
    [
        "valence=nan&arousal=0",
        "valence=0&arousal=inf",
        "valence=-Infinity&arousal=0",
        "valence=1e400&arousal=0",
        "valence=9&arousal=0",
        "valence=0",
        "valence=0&arousal=0&temperature=nan",
        "valence=0&arousal=0&synth=fluid",
    ],
)
def test_bad_query_strings_get_422(client, query):
    _error(client.get(f"/api/at.wav?{query}"), 422)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"emotion": "sad", "n": 17}, "n"),
        ({"emotion": "sad", "n": 0}, "n"),
        ({"emotion": "sad", "n": 10**30}, "n"),
        ({"emotion": "sad", "n": 2.5}, "n"),
        ({"emotion": "joy"}, "emotion"),
    ],
)
def test_bad_generate_requests(client, body, named):
    assert named in _error(client.post("/api/generate", json=body), 422)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"points": [[1, 1]] * 1000}, "at most 64"),
        ({"points": []}, "points"),
        ({"points": [[1, 1, 1]]}, "points"),
        ({"points": [[1, 9]]}, "points"),
        ({"points": [[1, 1]], "bars": 6}, "bars"),
        ({"points": [[1, 1]], "bars": 0}, "bars"),
        ({"points": [[1, 1]], "bars": 128}, "bars"),
        ({"points": "happy,sad"}, "points"),
    ],
)
def test_bad_paths(client, body, named):
    assert named in _error(client.post("/api/path", json=body), 422)


def test_a_path_of_1000_points_is_refused_fast(client):
    start = time.perf_counter()
    pts = np.random.default_rng(0).uniform(-3, 3, (1000, 2)).tolist()
    _error(client.post("/api/path", json={"points": pts}), 422)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("tokens", "named"),
    [
        ([60] * 63, "tokens"),
        ([60] * 65, "multiple of 64"),
        ([60] * 63 + [130], "tokens"),
        ([60] * 63 + [-1], "tokens"),
        ([60] * (64 * 65), "tokens"),
    ],
)
def test_bad_tokens(client, tokens, named):
    assert named in _error(client.post("/api/transform", json={"tokens": tokens, "to": "sad"}), 422)
    assert named in _error(client.post("/api/encode", json={"tokens": tokens}), 422)


def test_a_pitch_no_octave_brings_in_is_a_400(client):
    tokens = [0, HOLD, 127, HOLD] * 16
    msg = _error(client.post("/api/encode", json={"tokens": tokens}), 400)
    assert "pitch" in msg.lower() or "vocabulary" in msg.lower()


@pytest.mark.parametrize(
    "url",
    [
        "/api/melody/zz.wav",
        "/api/melody/0.wav",
        "/api/melody/00.wav",
        "/api/melody/" + "82" * 64 + ".wav",
        "/api/melody/" + "3c" * 65 + ".mid",
        "/api/melody/" + "3c" * 64 + ".mid?name=a%2Fb",
        "/api/nothing",
        "/api/training/-1.wav",
        "/api/training/99999",
        "/api/training?model=x%20y",
    ],
)
def test_bad_urls_get_4xx_json(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert r.json()["error"]


def test_wrong_method_is_405_json(client):
    _error(client.get("/api/at"), 405)


def test_body_over_the_limit_is_413(client):
    big = json.dumps({"valence": 0, "arousal": 0, "pad": "x" * (server.MAX_BODY_BYTES + 10)})
    _error(client.post("/api/at", content=big, headers={"content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b" " * 8192

    r = client.post("/api/at", content=chunks(), headers={"content-type": "application/json"})
    _error(r, 413)


def test_busy_model_is_a_503_not_a_hang(client, monkeypatch):
    monkeypatch.setattr(server.state, "LOCK_TIMEOUT_S", 0.05)
    with server.state.INFER_LOCK:
        start = time.perf_counter()
        msg = _error(client.post("/api/at", json={"valence": 1, "arousal": 1}), 503)
    assert "busy" in msg and time.perf_counter() - start < 5


# ---------------------------------------------------------------------------- uploads


def _midi_with_notes_until(bars: int) -> bytes:
    import mido

    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track += [
        mido.Message("note_on", note=60, velocity=64, time=0),
        mido.Message("note_off", note=60, time=96),
        mido.Message("note_on", note=64, velocity=64, time=bars * 4 * 96),
        mido.Message("note_off", note=64, time=96),
    ]
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_upload_places_a_midi_file_and_moves_it_to_each_quadrant(client, models):
    data = midi_bytes(_melody_tokens(8))
    r = client.post("/api/upload", files={"file": ("my tune.mid", data, "audio/midi")})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["file"] == "my_tune.mid" and m["bars"] == 8 and len(m["points"]) == 2
    assert m["tokens"] == _melody_tokens(8)
    expected = models["emoreg"].encode(np.asarray(_melody_tokens(8)))
    np.testing.assert_allclose(m["points"], expected.points, atol=1e-5)
    assert len(m["verdicts"]) == 2 and m["placements"][0]["label_given"] is False
    for to, (sv, sa) in {"happy": (1, 1), "angry": (-1, 1), "sad": (-1, -1), "relaxed": (1, -1)}.items():
        t = client.post("/api/transform", json={"tokens": m["tokens"], "to": to})
        assert t.status_code == 200, t.text
        moved = t.json()
        assert moved["emotions"] == [to, to] and len(moved["tokens"]) == 128
        for (v, a), (v0, a0) in zip(moved["points"], m["points"]):
            assert (v, a) == pytest.approx((sv * abs(v0), sa * abs(a0)), abs=1e-5)  # mirrored into the quadrant


def test_upload_with_a_label_and_the_base_model(client):
    data = midi_bytes(_melody_tokens(4))
    r = client.post("/api/upload", files={"file": ("x.mid", data)}, data={"model": "base", "emotion": "sad"})
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "base" and r.json()["placements"][0]["label_given"] is True
    again = client.post("/api/encode", json={"tokens": r.json()["tokens"], "emotion": "sad", "model": "base"})
    assert again.json()["points"] == r.json()["points"]


def test_upload_short_polyphonic_warns_in_the_json(client):
    import mido

    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track += [
        mido.Message("note_on", note=60, velocity=64, time=0),
        mido.Message("note_on", note=64, velocity=64),
        mido.Message("note_off", note=60, time=192),
        mido.Message("note_off", note=64),
    ]
    buf = io.BytesIO()
    mid.save(file=buf)
    r = client.post("/api/upload", files={"file": ("chord.mid", buf.getvalue())})
    assert r.status_code == 200, r.text
    warnings = " ".join(r.json()["warnings"])
    assert "polyphonic" in warnings and "shorter than 4 bars" in warnings
    assert "emovae-upload" not in warnings and "chord.mid" in warnings  # no temporary path leaks


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("notes.txt", b"hello, not a MIDI file", 415, "not a MIDI file"),
        ("x.mid", b"", 400, "empty"),
        ("x.mid", b"MThd\x00\x00\x00\x06\x00\x01", 400, "not a readable MIDI file"),
        ("x.mid", b"MThd" + bytes(range(256)) * 8, 400, "x.mid"),
        ("big.mid", b"MThd" + b"\x00" * (64 * 1024), 413, "65536 bytes"),
        ("long.mid", None, 400, "bars"),
        ("silent.mid", "silent", 400, "no notes"),
    ],
)
def test_bad_uploads_get_4xx(client, name, data, status, says):
    if data is None:
        data = _midi_with_notes_until(server.MAX_WEB_BARS + 10)
    elif data == "silent":
        import mido

        mid = mido.MidiFile()
        mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
        buf = io.BytesIO()
        mid.save(file=buf)
        data = buf.getvalue()
    assert says in _error(client.post("/api/upload", files={"file": (name, data)}), status)


def test_upload_needs_a_file_field(client):
    _error(client.post("/api/upload", data={"model": "emoreg"}), 422)
    _error(client.post("/api/upload", content=b"MThd", headers={"content-type": "audio/midi"}), 422)


def test_a_huge_delta_time_is_refused_before_it_is_laid_out(client):
    start = time.perf_counter()
    msg = _error(client.post("/api/upload", files={"file": ("far.mid", _midi_with_notes_until(10**6))}), 400)
    assert "bar" in msg and time.perf_counter() - start < 3


# ---------------------------------------------------------------------------- training dots


def test_upload_shows_the_melody_under_each_of_the_four_labels(client, models):
    """The encoder reads the label too: the answer has the point under each label (its quadrant),
    the label chosen (given, else the classifier's, else the deepest) and why, in one line."""
    tokens = _melody_tokens(8)
    r = client.post("/api/upload", files={"file": ("four.mid", midi_bytes(tokens))})
    assert r.status_code == 200, r.text
    m = r.json()
    four = m["label_placements"]
    assert [p["emotion"] for p in four] == ["happy", "angry", "sad", "relaxed"]
    assert [p["label"] for p in four] == ["e1", "e2", "e3", "e4"]
    for p in four:
        expected = models["emoreg"].encode(np.asarray(tokens), emotion=p["emotion"]).points
        np.testing.assert_allclose(p["points"], expected, atol=1e-3)
        assert p["quadrants"] == [f"Q{quadrant_of_point(*pt) + 1}" for pt in expected]
        assert p["point"] == p["points"][0] and p["quadrant"] == p["quadrants"][0]
        assert p["in_own_quadrant"] == (p["quadrant"] == f"Q{p['label'][1]}")
    assert sum(p["chosen"] for p in four) == 1
    chosen = next(p for p in four if p["chosen"])
    assert m["chosen_emotion"] == chosen["emotion"] and len(m["chosen_emotions"]) == 2 and m["label_matters"]
    assert m["placements"][0]["label"] == chosen["label"]
    np.testing.assert_allclose(m["points"][0], chosen["point"], atol=1e-3)  # the melody's point is the chosen one
    because = m["chosen_because"]
    assert "\n" not in because
    if m["placements"][0]["classifier_probabilities"]:
        assert re.fullmatch(rf"{chosen['emotion']} by the emotion classifier \(p [01]\.\d\d\)", because)
    else:
        assert because.startswith("emotion unknown: ")
    # a label given: that placement is chosen, and /api/encode answers the same four
    given = client.post("/api/upload", files={"file": ("four.mid", midi_bytes(tokens))}, data={"emotion": "angry"})
    g = given.json()
    assert g["chosen_emotion"] == "angry" and g["chosen_because"] == "angry: the label given"
    assert [p["chosen"] for p in g["label_placements"]] == [False, True, False, False]
    np.testing.assert_allclose(g["points"], four[1]["points"], atol=1e-3)
    again = client.post("/api/encode", json={"tokens": tokens, "emotion": "angry"}).json()
    assert again["label_placements"] == g["label_placements"] and again["chosen_emotion"] == "angry"


@pytest.mark.skipif(_data_root() is None, reason="needs $EMOVAE_DATA (the data set)")
def test_a_sad_training_melody_is_placed_as_sad_with_the_classifiers_word(client):
    """e3/bwv10.7 (sad) was once placed in Q4 relaxed silently: now the classifier's label is
    used and said, and its four placements are there to see."""
    path = _data_root() / "e3" / "bwv10.7.mxl.mid"
    m = client.post("/api/upload", files={"file": (path.name, path.read_bytes())}).json()
    assert m["chosen_emotion"] == "sad" and m["chosen_because"].startswith("sad by the emotion classifier (p ")
    sad = m["label_placements"][2]
    assert sad["chosen"] and sad["quadrant"] == "Q3" and m["emotion"] == "sad"


def _wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def test_wav_routes_take_a_tempo(client):
    mid = client.post("/api/encode", json={"tokens": _melody_tokens(4)}).json()["id"]
    at = {"valence": 2.0, "arousal": 1.0}
    for url, params in ((f"/api/melody/{mid}.wav", {}), ("/api/at.wav", at)):
        default = _wav_seconds(client.get(url, params=params).content)
        assert default == pytest.approx(64 * 0.125 + 0.5, abs=0.01)
        assert _wav_seconds(client.get(url, params={**params, "bpm": 120}).content) == pytest.approx(default)
        assert _wav_seconds(client.get(url, params={**params, "bpm": 60}).content) == pytest.approx(16.5, abs=0.01)
        assert _wav_seconds(client.get(url, params={**params, "bpm": 180}).content) == pytest.approx(
            64 * 60 / 180 / 4 + 0.5, abs=0.01
        )
        for bad in ("59", "181", "fast", "120.5"):
            assert "bpm" in _error(client.get(url, params={**params, "bpm": bad}), 422)
    if _data_root() is not None:
        assert _wav_seconds(client.get("/api/training/3.wav", params={"bpm": 60}).content) > 16


def test_musicxml_route(client):
    m = client.post("/api/encode", json={"tokens": _melody_tokens(4)}).json()
    assert m["musicxml_url"].startswith(f"/api/melody/{m['id']}.musicxml?name=")
    r = client.get(f"/api/melody/{m['id']}.musicxml", params={"name": "my_tune"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.recordare.musicxml+xml")
    assert r.headers["content-disposition"] == 'attachment; filename="my_tune.musicxml"'
    assert "<score-partwise" in r.text and r.text.count("<note") >= 20
    _error(client.get("/api/melody/00.musicxml"), 404)
    _error(client.get(f"/api/melody/{m['id']}.musicxml", params={"name": "a b"}), 422)


def test_training_dots_are_the_models_points(client, models):
    if _data_root() is None:
        pytest.skip("EMOVAE_DATA is not set to the data set (no training dots)")
    from emovae.data import load_dataset

    data = load_dataset(_data_root())
    for key in ("emoreg", "base"):
        r = client.get(f"/api/training?model={key}").json()
        assert r["available"] and len(r["dots"]) == len(data.paths) == 344
        pts = models[key].trained.encode(data.tokens, data.labels)
        np.testing.assert_allclose([d["point"] for d in r["dots"]], pts, atol=1e-3)
        assert r["dots"][0]["file"] == f"{data.paths[0].parent.name}/{data.paths[0].name}"
        assert [d["label"] for d in r["dots"]] == [f"e{lab + 1}" for lab in data.labels]
    one = client.get("/api/training/100?svg=false").json()
    assert one["tokens"] == data.tokens[100].tolist() and one["file"].endswith(data.paths[100].name)
    wav = client.get("/api/training/100.wav")
    assert wav.status_code == 200 and wav.content == client.get(one["wav_url"]).content
    _error(client.get(f"/api/training/{len(data.paths)}.wav"), 404)


def test_without_data_there_are_no_dots(models, monkeypatch, tmp_path):
    monkeypatch.delenv("EMOVAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no rebuilt set either
    c = TestClient(server.create_app(models))
    r = c.get("/api/training").json()
    assert r["available"] is False and r["dots"] == [] and "EMOVAE_DATA" in r["reason"]
    assert "emovae data build" in r["reason"]
    assert "EMOVAE_DATA" in _error(c.get("/api/training/0.wav"), 404)
    assert c.get("/api/info").json()["training"]["available"] is False


def test_create_app_refuses_a_missing_data_folder_and_no_models(models, tmp_path):
    with pytest.raises(EmovaeError, match="no such directory"):
        server.create_app(models, data_root=tmp_path / "nope")
    with pytest.raises(EmovaeError, match="at least one model"):
        server.create_app({})


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_requests_all_succeed_and_match_sequential_ones(client, models):
    points = [(-3 + 0.5 * k, 2.5 - 0.4 * k) for k in range(12)]
    expected = {p: models["emoreg"].at(*p).tokens.tolist() for p in points}
    results, errors = {}, []

    def worker(chunk):
        try:
            for p in chunk:
                r = client.post("/api/at", json={"valence": p[0], "arousal": p[1], "svg": k_svg(p)})
                w = client.get(r.json()["wav_url"])
                assert r.status_code == 200 and w.status_code == 200
                results[p] = r.json()["tokens"]
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    def k_svg(p):
        return points.index(p) % 3 == 0

    threads = [threading.Thread(target=worker, args=(points[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == expected


# ---------------------------------------------------------------------------- schema fuzz


def test_schema_fuzz_finds_no_server_error(models):
    """schemathesis against /openapi.json: generated valid and invalid requests for every
    operation (a bounded number each); none may get a 5xx."""
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error

    app = server.create_app(models, data_root=None)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 12
    failures: list[str] = []
    for op in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                response = case.call()
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                    )
                case.validate_response(response, checks=[not_a_server_error])

            try:
                check()
            except Unsatisfiable:
                assert mode is schemathesis.GenerationMode.NEGATIVE, op.path  # nothing to make invalid
    assert not failures


# ---------------------------------------------------------------------------- serve


def test_serve_refuses_a_taken_port_and_a_bad_host():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(EmovaeError, match=f"127.0.0.1:{port}: cannot listen"):
            server.serve(None, host="127.0.0.1", port=port)
    with pytest.raises(EmovaeError, match="host"):
        server.serve(None, host="no-such-host.invalid", port=8000)


def test_emovae_serve_prints_the_address_and_answers(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("EMOVAE_DATA", None)  # no dots: faster start
    proc = subprocess.Popen(
        [sys.executable, "-m", "emovae.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        import httpx

        info = httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=10).json()
        assert info["default_model"] == "plane" and [m["key"] for m in info["models"]] == ["plane", "emoreg", "base"]
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/at",
            content=b'{"valence": 1, "arousal": Infinity}',
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert r.status_code == 422
    finally:
        proc.send_signal(2)  # Ctrl+C
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "server stopped" in out


def test_wav_answers_a_byte_range_so_the_player_can_seek(client):
    mid = client.post("/api/encode", json={"tokens": _melody_tokens(4)}).json()["id"]
    whole = client.get(f"/api/melody/{mid}.wav")
    assert whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    part = client.get(f"/api/melody/{mid}.wav", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = client.get(f"/api/melody/{mid}.wav", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    for odd in ("bytes=5-2", f"bytes={size}-", "lines=1-2", "bytes=1-2,4-5"):
        r = client.get(f"/api/melody/{mid}.wav", headers={"Range": odd})
        assert r.status_code == 200 and r.content == whole.content  # a range it cannot serve: the whole file
