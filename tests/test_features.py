"""Symbolic melody features: an exact value for every feature on tiny hand-made token sequences."""

import ast
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from emovae import features as F
from emovae.errors import EmovaeError, EmovaeWarning

R, H = 128, 129
C4, D4, EB4, E4, F4, G4, AB4, A4, BB4, B4, C5 = 60, 62, 63, 64, 65, 67, 68, 69, 70, 71, 72

# One bar: C4 (4 steps), D4 (2), E4 (1), rest (1), G4 (6), F4 (2).
# notes (onset, duration, pitch): (0,4,60) (4,2,62) (6,1,64) (8,6,67) (14,2,65); intervals +2 +2 +3 -2.
BAR = [C4, H, H, H, D4, H, E4, R, G4, H, H, H, H, H, F4, H]


def test_parse_notes_of_the_hand_made_bar():
    n = F.parse_notes(BAR)
    assert n.onsets.tolist() == [0, 4, 6, 8, 14]
    assert n.durations.tolist() == [4, 2, 1, 6, 2]
    assert n.pitches.tolist() == [60, 62, 64, 67, 65]
    assert n.intervals.tolist() == [2, 2, 3, -2]
    assert n.n_steps == 16


def test_parse_notes_hold_after_rest_or_at_start_is_silence_and_repeated_onsets_are_notes():
    n = F.parse_notes([H, H, C4, C4, H, R, H, D4])
    assert list(zip(n.onsets.tolist(), n.durations.tolist(), n.pitches.tolist())) == [
        (2, 1, 60),
        (3, 2, 60),
        (7, 1, 62),
    ]
    assert F.silent_steps([H, H, C4, C4, H, R, H, D4]).tolist() == [1, 1, 0, 0, 0, 1, 1, 0]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("note_density", 5.0),  # 5 notes in 16 steps = 1 bar
        ("pitch_range", 7.0),  # 67 - 60
        ("pitch_mean", 63.6),  # 318 / 5
        ("pitch_std", math.sqrt(29.2 / 5)),  # squares 12.96 2.56 0.16 11.56 1.96
        ("n_pitches_used", 5.0),
        ("major_rate", 1.0),  # C D E G F all in C major
        ("minor_rate", 0.8),  # E natural is not in C minor
        ("mode", 0.2),
        ("unison_share", 0.0),
        ("step_share", 0.75),  # +2 +2 -2 of 4 intervals
        ("small_leap_share", 0.25),  # +3
        ("leap_share", 0.0),
        ("step_leap_ratio", 0.75),  # 3 steps / (3 + 1 leap)
        ("mean_abs_interval", 2.25),  # (2 + 2 + 3 + 2) / 4
        ("ascending_share", 0.75),
        ("direction_changes", 0.2),  # + + + -: one change / 5 notes
        ("net_direction", 5.0),  # F4 - C4
        ("duration_mean", 3.0),  # (4 + 2 + 1 + 6 + 2) / 5
        ("duration_std", math.sqrt(16 / 5)),  # deviations 1 -1 -2 3 -1
        ("on_beat_share", 0.6),  # onsets 0 4 8 of 0 4 6 8 14
        ("syncopation", 0.0),  # 6 ends at 7, 14 ends at 16 = the next beat
        ("rest_share", 1 / 16),  # step 7
    ],
)
def test_each_feature_on_the_hand_made_bar(name, expected):
    assert F.FEATURES[name](BAR) == pytest.approx(expected, abs=1e-12)
    assert F.features(BAR)[name] == pytest.approx(expected, abs=1e-12)


def test_minor_melody_mode_and_scale_rates():
    # C Eb G Ab Bb B: minor scale has C Eb G Ab Bb (5/6), major C G B (3/6)
    tokens = [C4, EB4, G4, AB4, BB4, B4]
    assert F.minor_rate(tokens) == pytest.approx(5 / 6)
    assert F.major_rate(tokens) == pytest.approx(3 / 6)
    assert F.mode(tokens) == pytest.approx(-2 / 6)


def test_scale_rates_use_pitch_class_in_any_octave():
    assert F.major_rate([C4 - 12, E4 + 12, 1]) == pytest.approx(2 / 3)  # 1 = C#-1 is in neither
    assert F.minor_rate([C4 - 12, E4 + 12, 1]) == pytest.approx(1 / 3)


def test_interval_histogram_unisons_and_wide_leaps():
    # intervals 0, +5, -12, +1, +3 : unison 1, step 1, small leap 1, leap 2
    tokens = [C4, C4, F4, F4 - 12, F4 - 11, A4 - 12]
    assert F.unison_share(tokens) == pytest.approx(1 / 5)
    assert F.step_share(tokens) == pytest.approx(1 / 5)
    assert F.small_leap_share(tokens) == pytest.approx(1 / 5)
    assert F.leap_share(tokens) == pytest.approx(2 / 5)
    assert F.step_leap_ratio(tokens) == pytest.approx(1 / 4)  # unison left out
    assert F.mean_abs_interval(tokens) == pytest.approx(21 / 5)
    assert F.ascending_share(tokens) == pytest.approx(3 / 5)
    # signs 0 + - + + -> non-zero + - + + : 2 changes over 6 notes
    assert F.direction_changes(tokens) == pytest.approx(2 / 6)
    assert F.net_direction(tokens) == pytest.approx(-3.0)  # A3 - C4


def test_direction_changes_skip_unisons():
    # up, same, down: one change; 4 notes
    assert F.direction_changes([C4, D4, D4, C4]) == pytest.approx(1 / 4)


def test_syncopation_counts_off_beat_notes_crossing_the_next_beat():
    # notes: (0,2) on beat; (2,4) off beat ends at 6 > beat 4: syncopated; (6,2) ends at 8 = the beat: not;
    # (8,3) on beat; (11,1) ends at 12 = the beat: not; (12,4) on beat.  1 of 6 notes.
    tokens = [C4, H, D4, H, H, H, E4, H, G4, H, H, F4, A4, H, H, H]
    assert F.syncopation(tokens) == pytest.approx(1 / 6)
    assert F.on_beat_share(tokens) == pytest.approx(3 / 6)
    assert F.duration_mean(tokens) == pytest.approx(16 / 6)
    # (11,5) crosses beat 12 as well: 2 of 5
    assert F.syncopation([C4, H, D4, H, H, H, E4, H, G4, H, H, F4, H, H, H, H]) == pytest.approx(2 / 5)


def test_note_density_on_a_partial_bar_and_a_long_melody():
    assert F.note_density([C4, D4, E4, F4, G4, A4, B4, C5]) == pytest.approx(16.0)  # 8 notes in half a bar
    tokens = [C4, H, H, H] * 16  # 16 notes in 4 bars
    assert F.note_density(tokens) == pytest.approx(4.0)


def test_rest_share_counts_leading_and_orphan_holds():
    assert F.rest_share([R, H, C4, H, R, R, D4, H]) == pytest.approx(4 / 8)


def test_longest_rest_run():
    assert F.longest_rest_run([R, H, C4, H, R, R, R, D4, H]) == 3
    assert F.longest_rest_run([C4, H, H]) == 0
    assert F.longest_rest_run([R] * 5) == 5
    assert F.longest_rest_run([]) == 0


def test_no_note_gives_zero_everywhere_except_rest_share():
    values = F.features([R, R, H, R])
    assert values.pop("rest_share") == 1.0
    assert all(v == 0.0 for v in values.values())


def test_one_note_gives_zero_interval_and_contour_features():
    values = F.features([R, G4, H, H])
    for name in (
        "pitch_range",
        "pitch_std",
        "unison_share",
        "step_share",
        "small_leap_share",
        "leap_share",
        "step_leap_ratio",
        "mean_abs_interval",
        "ascending_share",
        "direction_changes",
        "net_direction",
        "duration_std",
        "on_beat_share",
        "syncopation",
    ):
        assert values[name] == 0.0, name
    assert values["pitch_mean"] == 67.0
    assert values["duration_mean"] == 3.0
    assert values["major_rate"] == values["minor_rate"] == 1.0
    assert values["note_density"] == pytest.approx(4.0)  # 1 note in a quarter of a bar
    assert values["rest_share"] == pytest.approx(0.25)


def test_empty_array_is_all_zero():
    assert F.feature_matrix(np.zeros((2, 0), dtype=np.int64)).tolist() == [[0.0] * len(F.FEATURES)] * 2


def test_feature_matrix_rows_and_columns():
    rows = np.array([BAR, [R] * 16, [C4, EB4, G4, AB4, BB4, B4] + [H] * 10])
    m = F.feature_matrix(rows)
    assert m.shape == (3, len(F.FEATURE_NAMES)) and m.dtype == np.float64
    assert F.FEATURE_NAMES == tuple(F.FEATURES)
    for r, row in enumerate(rows):
        assert m[r].tolist() == list(F.features(row).values())
    assert m[0, F.FEATURE_NAMES.index("pitch_mean")] == pytest.approx(63.6)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([60.0, 62.0]), "integer tokens"),
        (np.array([True, False]), "integer tokens"),
        ([60, 130], "130 outside 0..129"),
        ([-1, 60], "-1 outside"),
        ([[60, 61]], "1-D array"),
    ],
)
def test_bad_melody_raises_one_line(bad, match):
    with pytest.raises(EmovaeError, match=match) as err:
        F.features(bad)
    assert "\n" not in str(err.value)


def test_feature_matrix_wants_two_dimensions():
    with pytest.raises(EmovaeError, match="2-D array"):
        F.feature_matrix([60, 62])


def test_token_codes_agree_with_the_data_module():
    from emovae import data

    assert (F.REST, F.HOLD, F.STEPS_PER_QUARTER) == (data.REST, data.HOLD, data.STEPS_PER_QUARTER)


def test_module_level_imports_are_light():
    """Only NumPy and the standard library at module level: no scikit-learn, MusPy or matplotlib."""
    tree = ast.parse(Path(F.__file__).read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            top.add("." * node.level + (node.module or "").split(".")[0])
    assert top <= {"__future__", "collections", "dataclasses", "numpy", ".errors"}, top


def test_real_data_agrees_with_muspy(data_root):
    """On the real data set: notes as emovae.data decodes them, and MusPy's own pitch metrics."""
    import muspy

    from emovae.data import load_dataset, melody_to_music

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)
        ds = load_dataset(data_root)
    m = F.feature_matrix(ds.tokens)
    assert np.isfinite(m).all()
    col = {name: m[:, j] for j, name in enumerate(F.FEATURE_NAMES)}
    for r in range(0, len(ds.tokens), 7):
        music = melody_to_music(ds.tokens[r])
        notes = sorted((n.time, n.duration, n.pitch) for n in music.tracks[0].notes)
        parsed = F.parse_notes(ds.tokens[r])
        assert notes == list(zip(parsed.onsets.tolist(), parsed.durations.tolist(), parsed.pitches.tolist()))
        assert col["pitch_range"][r] == muspy.pitch_range(music)
        assert col["n_pitches_used"][r] == muspy.n_pitches_used(music)
        assert col["major_rate"][r] == pytest.approx(muspy.pitch_in_scale_rate(music, 0, "major"))
        assert col["minor_rate"][r] == pytest.approx(muspy.pitch_in_scale_rate(music, 0, "minor"))
