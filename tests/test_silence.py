"""Silence is not placed on the plane: a melody without a note in its first 4 bars is refused with
one line by the API (encode, transform, interpolate), the command line and the web API alike, the
lines the MIDI reader gives such a file: "NAME: no notes", "NAME: no notes in the first 4 bars
(64 sixteenths)" when its notes come later."""

import contextlib
import io

import numpy as np
import pytest

import emovae
from emovae.api import Melody
from emovae.cli import main
from emovae.data import HOLD, REST, write_midi
from emovae.errors import EmovaeError

NONE = "no notes"
LATE = "no notes in the first 4 bars (64 sixteenths)"
TUNE = [60, HOLD, 62, HOLD, 64] + [REST] * 59


@pytest.fixture(scope="module")
def model():
    return emovae.load()


def _silences() -> list[tuple[np.ndarray, str]]:
    """(raw tokens, the line's ending) of melodies that must not be placed."""
    rests = np.full(64, REST, dtype=np.int64)
    holds = np.array([REST] * 32 + [HOLD] * 32, dtype=np.int64)  # a HOLD with no note is a rest
    long_rests = np.full(192, REST, dtype=np.int64)
    late = np.concatenate([rests, np.array(TUNE, dtype=np.int64)])  # notes in bars 5-8 only
    return [(rests, NONE), (holds, NONE), (long_rests, NONE), (late, LATE)]


def _line(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


def test_the_api_refuses_silence_everywhere_it_places_a_melody(model):
    for tokens, why in _silences():
        with pytest.raises(EmovaeError) as excinfo:
            model.encode(tokens)
        assert _line(excinfo) == f"melody: {why}"
        with pytest.raises(EmovaeError) as excinfo:
            model.encode(tokens, emotion="sad")  # a label given does not make silence placeable
        assert _line(excinfo) == f"melody: {why}"
        with pytest.raises(EmovaeError) as excinfo:
            model.transform(tokens, "happy")
        assert _line(excinfo) == f"melody: {why}"
        with pytest.raises(EmovaeError) as excinfo:
            model.interpolate(tokens, (2.0, 2.0), 3)
        assert _line(excinfo) == f"melody: {why}"
    with pytest.raises(EmovaeError) as excinfo:
        model.encode(Melody(np.full(64, REST), name="quiet"))
    assert _line(excinfo) == f"quiet: {NONE}"
    # a melody with a note in its first 4 bars is placed, a later silent segment too (as a file's)
    assert len(model.encode(np.array(TUNE + [REST] * 64)).points) == 2


@pytest.mark.parametrize("tokens, why", [(np.full(64, REST), NONE), (np.array([REST] * 64 + TUNE), LATE)])
def test_the_command_line_gives_the_same_line(model, tmp_path, tokens, why):
    write_midi(tokens, tmp_path / "quiet.mid")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["encode", str(tmp_path / "quiet.mid")])
    assert status == 2 and err.getvalue() == f"emovae: error: {tmp_path / 'quiet.mid'}: {why}\n"
    with pytest.raises(EmovaeError) as excinfo:  # the API reads the file to the same line
        model.encode(tmp_path / "quiet.mid")
    assert _line(excinfo) == f"{tmp_path / 'quiet.mid'}: {why}"


def test_the_web_api_refuses_silence_with_that_line(model):
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    from fastapi.testclient import TestClient

    from emovae import server

    app = server.create_app({"emoreg": model}, data_root=None)
    with TestClient(app, raise_server_exceptions=False) as client:
        for route, extra in (("/api/encode", {}), ("/api/transform", {"to": "happy"})):
            for tokens, why in _silences():
                r = client.post(route, json={"tokens": tokens.tolist(), **extra})
                assert r.status_code == 400, (route, r.status_code, r.text[:200])
                assert r.json() == {"error": f"melody: {why}"}, r.text
        assert client.post("/api/encode", json={"tokens": TUNE}).status_code == 200
