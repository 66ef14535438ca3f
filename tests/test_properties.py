"""Property-based tests (hypothesis): the token round trip through MIDI files and the MIDI reader
on arbitrary bytes (the command line's number and point parsing: tests/test_cli.py).

A *valid* token sequence is 64 raw tokens in which a HOLD follows only an onset or another HOLD
(a note goes on), at least one note sounds, and whatever the notes leave is padded with REST at
the end. Any other sequence is read back in its *canonical* form: a HOLD with no note to extend
(at the start, after a REST) is a rest."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from emovae.data import HOLD, N_STEPS, REST, read_melody, read_segments, write_midi
from emovae.errors import EmovaeError

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("properties")


# ------------------------------------------------------------------ tokens -> MIDI -> tokens

pitches = st.integers(0, 127)
note = st.tuples(pitches, st.integers(1, 16))  # (pitch, steps)
rest = st.tuples(st.none(), st.integers(1, 16))


@st.composite
def valid_tokens(draw):
    """64 raw tokens: notes and rests in a row, at least one note, padded with REST at the end."""
    items = draw(st.lists(st.one_of(note, note, rest), min_size=1, max_size=24))
    assume(any(p is not None for p, _ in items))
    out = []
    for pitch, n in items:
        out += [REST] * n if pitch is None else [pitch] + [HOLD] * (n - 1)
    out = out[:N_STEPS]
    assume(any(t < REST for t in out))
    return np.array(out + [REST] * (N_STEPS - len(out)), dtype=np.int64)


def canonical(tokens: np.ndarray) -> np.ndarray:
    """A HOLD with no note to extend (at the start, after a REST) is a rest."""
    out = tokens.copy()
    sounding = False
    for k, t in enumerate(tokens):
        if t < REST:
            sounding = True
        elif t == REST or not sounding:
            out[k] = REST
            sounding = False
    return out


def read_back(tokens, path):
    write_midi(tokens, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid melody is read back without a word
        return read_melody(path)


@SETTINGS
@given(tokens=valid_tokens())
@example(tokens=np.array([60] + [REST] * 63, dtype=np.int64))  # one step, then silence
@example(tokens=np.array([REST] * 63 + [127], dtype=np.int64))  # the last step only
@example(tokens=np.array([60, 60, HOLD, 60] + [REST] * 60, dtype=np.int64))  # repeated onsets of a pitch
def test_valid_tokens_survive_the_round_trip_through_a_midi_file(folder, tokens):
    assert read_back(tokens, folder / "valid.mid").tolist() == tokens.tolist()


@SETTINGS
@given(tokens=st.lists(st.integers(0, 129), min_size=N_STEPS, max_size=N_STEPS).map(np.array))
def test_any_tokens_come_back_in_canonical_form(folder, tokens):
    expected = canonical(tokens)
    assume((expected < REST).any())  # no notes: nothing to write
    assert read_back(tokens, folder / "any.mid").tolist() == expected.tolist()


@SETTINGS
@given(segments=st.lists(valid_tokens(), min_size=1, max_size=4))
def test_longer_melodies_come_back_segment_by_segment(folder, segments):
    tokens = np.concatenate(segments)
    write_midi(tokens, folder / "long.mid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_segments(folder / "long.mid")
    last = max(k for k, seg in enumerate(segments) if (seg < REST).any())  # trailing silent segments dropped
    assert back.tolist() == [canonical(s).tolist() for s in segments[: last + 1]]


# ------------------------------------------------------------------ the reader on arbitrary bytes


def _assert_read_fails_cleanly_or_reads(path, data: bytes):
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tokens = read_melody(path)
        except EmovaeError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message and "\x1b" not in message
            return
    assert tokens.shape == (N_STEPS,) and tokens.dtype == np.int64
    assert ((tokens >= 0) & (tokens <= HOLD)).all() and (tokens < REST).any()


@SETTINGS
@given(data=st.binary(max_size=300))
def test_read_melody_on_arbitrary_bytes(folder, data):
    _assert_read_fails_cleanly_or_reads(folder / "bytes.mid", data)


@SETTINGS
@given(body=st.binary(max_size=200), fmt=st.integers(0, 2), tracks=st.integers(0, 3), division=st.integers(0, 0xFFFF))
def test_read_melody_on_a_midi_header_and_arbitrary_tracks(folder, body, fmt, tracks, division):
    header = (
        b"MThd"
        + (6).to_bytes(4, "big")
        + fmt.to_bytes(2, "big")
        + tracks.to_bytes(2, "big")
        + division.to_bytes(2, "big")
    )
    track = b"MTrk" + len(body).to_bytes(4, "big") + body
    _assert_read_fails_cleanly_or_reads(folder / "header.mid", header + track * max(tracks, 1))


@pytest.fixture(scope="module")
def good_midi(folder):
    tokens = np.array([60, HOLD, 62, HOLD, 64, HOLD, HOLD, HOLD] * 8, dtype=np.int64)
    write_midi(tokens, folder / "good.mid")
    return (folder / "good.mid").read_bytes()


@SETTINGS
@given(data=st.data())
def test_read_melody_on_a_damaged_midi_file(folder, good_midi, data):
    blob = bytearray(good_midi)
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=6), label="flips"
    )
    for at, value in flips:
        blob[at] = value
    _assert_read_fails_cleanly_or_reads(folder / "damaged.mid", bytes(blob[:cut]))
