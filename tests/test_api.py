"""The melody API (emovae.load, Model, Melody) and the generation rules under it."""

import numpy as np
import pytest

import emovae
from emovae.data import HOLD, REST, read_segments, write_midi
from emovae.errors import EmovaeError, EmovaeWarning
from emovae.generation import check_bars, fit_vocabulary, interpolate_points, path_points, transform_point


@pytest.fixture(scope="module")
def model():
    return emovae.load()


def steps(*notes, length=64):
    """Raw tokens from (pitch, steps) pairs; pitch None = rest; padded with rests to ``length``."""
    out = []
    for pitch, n in notes:
        out += [REST] * n if pitch is None else [pitch] + [HOLD] * (n - 1)
    return np.array(out + [REST] * (length - len(out)), dtype=np.int64)


def test_load_generate_and_outputs(model, tmp_path):
    sad = model.generate(emotion="sad", n=4, seed=1, temperature=0)
    assert len(sad) == 4 and all(m.emotion == "sad" and m.bars == 4 for m in sad)
    assert all(m.point[0] < 6 and m.tokens.shape == (64,) for m in sad)
    again = model.generate(emotion="sad", n=4, seed=1)
    assert all(np.array_equal(a.tokens, b.tokens) for a, b in zip(sad, again))
    m = sad[0]
    assert m.notes and all(0 <= s < 64 and d >= 1 for s, d, _ in m.notes)
    paths = m.save(tmp_path / "x", "midi,svg,wav,musicxml")
    assert [p.suffix for p in paths] == [".mid", ".svg", ".wav", ".musicxml"]
    assert read_segments(tmp_path / "x.mid").shape == (1, 64)
    assert "<svg" in m.to_svg() and m.to_wav(synth="numpy")[:4] == b"RIFF" and m.midi_bytes()[:4] == b"MThd"


def test_at_a_point_takes_its_quadrants_emotion(model):
    m = model.at(2.0, -1.5)
    assert m.emotion == "relaxed" and m.point == (2.0, -1.5)
    assert model.at(-2, 2, emotion="happy").emotion == "happy"
    several = model.at(1, 1, n=3, temperature=1.0, seed=4)
    assert len(several) == 3 and len({tuple(x.tokens) for x in several}) > 1
    for bad in ((9, 0), (float("nan"), 0), ("a", 1)):
        with pytest.raises(EmovaeError, match="off the plane"):
            model.at(*bad)
    assert model.at(np.float32(1), np.float64(1)).emotion == "happy"  # numpy scalars are numbers


def test_encode_places_each_four_bar_segment(model, tmp_path, monkeypatch):
    melody = np.concatenate([steps((60, 4), (62, 4), (64, 8)), steps((55, 16), (53, 16))])
    write_midi(melody, tmp_path / "two.mid")
    monkeypatch.setenv("EMOVAE_DATA", str(tmp_path / "no-data"))  # no classifier: the emotion is unknown
    placed = model.encode(tmp_path / "two.mid")
    assert len(placed.points) == 2 and len(placed.info["placements"]) == 2
    pl = placed.info["placements"][0]
    assert pl["unknown"] and pl["found_emotion"] is None
    assert set(pl["points_by_label"]) == {"e1", "e2", "e3", "e4"}
    # the chosen label is the one whose point lies deepest inside its own quadrant
    depth = {
        lab: min(s_v * p[0], s_a * p[1])
        for (lab, p), (s_v, s_a) in zip(pl["points_by_label"].items(), ((1, 1), (-1, 1), (-1, -1), (1, -1)))
    }
    assert pl["label"] == max(depth, key=depth.get)
    given = model.encode(tmp_path / "two.mid", emotion="sad")
    assert given.info["placements"][0]["label_given"] and given.info["placements"][0]["label"] == "e3"


def test_short_melody_is_padded_with_a_warning(model, tmp_path):
    write_midi(steps((60, 8), length=16), tmp_path / "short.mid")
    with pytest.warns(EmovaeWarning, match="shorter than 4 bars"):
        placed = model.encode(tmp_path / "short.mid")
    assert placed.tokens.shape == (64,)


def test_octave_folding_and_its_limits(model):
    vocab = model.trained.vocab
    high = steps((84, 8), (86, 8))  # C6, D6: one octave above the vocabulary
    fitted, shift = fit_vocabulary(high, vocab)
    assert shift == -12 and fitted[0] == 72
    moved = model.transform(high, "sad")
    assert moved.emotion == "sad" and all(p >= 60 for _, _, p in moved.notes)  # shifted back up
    with pytest.raises(EmovaeError, match="cannot be brought into the model's vocabulary"):
        fit_vocabulary(steps((20, 4), (100, 4)), vocab)  # 80 semitones apart


def test_transform_mirrors_into_the_target_quadrant():
    assert transform_point((1.5, -0.5), "happy") == (1.5, 0.5)
    assert transform_point((1.5, -0.5), "angry") == (-1.5, 0.5)
    assert transform_point((-3, 2), "relaxed") == (3, -2)


def test_path_points_visit_every_waypoint():
    pts = path_points(["happy", "sad", "relaxed"], 4)
    assert pts.tolist() == [[2, 2], [0, 0], [-2, -2], [2, -2]]
    assert path_points([(0, 0), (4, 0)], 3).tolist() == [[0, 0], [2, 0], [4, 0]]
    assert path_points(["happy", "sad", "relaxed", "angry"], 2).tolist() == [[2, 2], [-2, 2]]  # fewer: arc length
    assert path_points("2,2;-2,-2", 2).tolist() == [[2, 2], [-2, -2]]
    for bad in ([], ["joyful"], [(0, 99)]):
        with pytest.raises(EmovaeError):
            path_points(bad, 4)
    with pytest.raises(EmovaeError, match="at most"):
        path_points([(0, 0)] * 1000, 4)


def test_path_melody_joins_segments_without_orphan_holds(model):
    m = model.path(["happy", "sad", "relaxed"], bars=16, seed=0)
    assert m.bars == 16 and m.tokens.shape == (256,)
    assert [e for e in m.emotions] == [0, 0, 2, 3]
    segs = m.segments()
    assert all(seg[0] != HOLD for seg in segs)
    for bad in (6, 0, 2.0, 1024):
        with pytest.raises(EmovaeError, match="multiple of 4"):
            check_bars(bad)


def test_interpolation_includes_both_ends(model):
    assert interpolate_points((0, 0), (3, -3), 4).tolist() == [[0, 0], [1, -1], [2, -2], [3, -3]]
    melodies = model.interpolate((2, 2), (-2, -2), 5)
    assert [m.emotion for m in melodies] == ["happy", "happy", "happy", "sad", "sad"]
    with pytest.raises(EmovaeError, match="at least 2"):
        interpolate_points((0, 0), (1, 1), 1)
