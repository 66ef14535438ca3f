"""Novelty (nearest training melody, copies), diversity and validity on tiny hand-made token sets;
features along the axes of a grid over the plane."""

import math
import warnings

import numpy as np
import pytest

from emovae.errors import EmovaeError, EmovaeWarning
from emovae.novelty import (
    PROFILE_FEATURES,
    TRAINING_LONGEST_REST,
    axis_profiles,
    copy_stats,
    distinct_per_100,
    grid_profiles,
    grid_stats,
    hamming,
    invalid_reason,
    is_valid,
    nearest_training,
    novelty_by_emotion,
)

R, H = 128, 129

TRAIN = np.array(
    [
        [60, H, 62, H, 64, H, 65, H],  # 0
        [67, H, H, H, 65, H, 64, H],  # 1
        [60, H, 62, H, 64, H, 65, H],  # 2: a twin of 0
        [72, 71, 69, 67, 65, 64, 62, 60],  # 3
    ]
)


def test_hamming_counts_differing_steps():
    assert hamming([60, H, 62, H], [60, H, 62, H]) == 0
    assert hamming([60, H, 62, H], [60, 61, 62, R]) == 2
    # a one-step shift is far in Hamming (Levenshtein would say 2)
    assert hamming([60, 62, 64, 65], [R, 60, 62, 64]) == 4


def test_nearest_training_index_and_distance():
    gen = np.array(
        [
            [60, H, 62, H, 64, H, 65, H],  # exact copy of 0 (and of its twin 2): first index wins
            [67, H, H, H, 65, H, 64, 62],  # 1 step from 1
            [72, 71, 69, 67, 60, H, 61, H],  # 4 from 3 (65 64 62 60 vs 60 H 61 H), 6 from 0 and 1
            [R, R, R, R, R, R, R, R],  # 8 from everything: ties go to index 0
        ]
    )
    index, distance = nearest_training(gen, TRAIN)
    assert index.tolist() == [0, 1, 3, 0]
    assert distance.tolist() == [0, 1, 4, 8]
    assert index.dtype == distance.dtype == np.int64


def test_nearest_training_agrees_with_brute_force_over_chunks():
    rng = np.random.default_rng(0)
    gen = rng.integers(58, 64, size=(600, 6))  # more rows than one chunk
    train = rng.integers(58, 64, size=(30, 6))
    index, distance = nearest_training(gen, train)
    for i in (0, 255, 256, 599):
        d = [hamming(gen[i], t) for t in train]
        assert distance[i] == min(d) and index[i] == d.index(min(d))


def test_copy_stats_exact_near_and_distinct():
    gen = np.array(
        [
            [60, H, 62, H, 64, H, 65, H],  # exact (0 / twin 2)
            [60, H, 62, H, 64, H, 65, H],  # the same exact copy again
            [67, H, H, H, 65, H, 64, 62],  # distance 1
            [72, 71, 69, 67, 60, H, 61, H],  # distance 4
            [R, R, R, R, R, R, R, R],  # distance 8
        ]
    )
    s = copy_stats(gen, TRAIN, near=1)
    assert s["n"] == 5 and s["near"] == 1
    assert s["exact_share"] == pytest.approx(2 / 5)
    assert s["near_share"] == pytest.approx(3 / 5)  # distances 0 0 1
    assert s["distinct"] == 4
    assert s["distinct_exact_share"] == pytest.approx(1 / 4)
    assert s["distinct_near_share"] == pytest.approx(2 / 4)
    assert s["training"] == 4 and s["training_distinct"] == 3
    assert s["training_copied"] == 1
    assert s["training_copied_share"] == pytest.approx(1 / 3)
    assert s["mean_distance"] == pytest.approx(13 / 5)
    assert s["median_distance"] == 1.0 and s["min_distance"] == 0
    assert copy_stats(gen, TRAIN, near=4)["near_share"] == pytest.approx(4 / 5)
    assert copy_stats(gen, TRAIN)["near"] == 4


def test_copy_stats_of_an_empty_generated_set():
    s = copy_stats(np.zeros((0, 8), dtype=np.int64), TRAIN)
    assert s["n"] == 0 and s["exact_share"] == 0.0 and s["training_copied"] == 0


@pytest.mark.parametrize(
    "gen, train, match",
    [
        (np.zeros((2, 7), dtype=np.int64), TRAIN, "7 steps, training melodies 8"),
        (np.zeros((2, 8), dtype=np.int64), np.zeros((0, 8), dtype=np.int64), "empty set"),
        (np.zeros(8, dtype=np.int64), TRAIN, "generated melodies: expected a 2-D"),
        (np.full((1, 8), 131), TRAIN, "131 outside"),
    ],
)
def test_nearest_training_bad_input(gen, train, match):
    with pytest.raises(EmovaeError, match=match):
        nearest_training(gen, train)


@pytest.mark.parametrize("near", [-1, 1.5, True])
def test_copy_stats_bad_near(near):
    with pytest.raises(EmovaeError, match="near"):
        copy_stats(TRAIN, TRAIN, near=near)


def test_distinct_per_100():
    rows = np.array([[60, H], [60, H], [62, H], [R, R]])
    assert distinct_per_100(rows) == pytest.approx(75.0)
    assert distinct_per_100(np.tile([[60, 62]], (100, 1))) == pytest.approx(1.0)
    assert distinct_per_100(np.zeros((0, 64), dtype=np.int64)) == 0.0


@pytest.mark.parametrize(
    "tokens, max_rest, reason",
    [
        ([R, R, H, R], 24, "no_note"),
        ([60, H, 60, R], 24, "one_pitch"),
        ([60, R, R, R, 62], 2, "long_rest"),  # silent run of 3 > 2
        ([60, R, R, 62], 2, None),  # run of 2 = 2: allowed
        ([H, H, H, 60, 62], 2, "long_rest"),  # orphan holds at the start are silence
        ([60, H, H, H, H, 62], 0, None),  # holds of a note are not silence
        ([60, 62, R, R, R], 3, None),  # trailing silence counts, 3 <= 3
    ],
)
def test_validity_rule(tokens, max_rest, reason):
    assert invalid_reason(tokens, max_rest) == reason
    assert is_valid(tokens, max_rest) is (reason is None)


def test_validity_default_allows_the_training_sets_longest_rest():
    assert is_valid([R] * 24 + [60, 62] + [H] * 38)
    assert not is_valid([R] * 25 + [60, 62] + [H] * 37)


@pytest.mark.parametrize("max_rest", [-1, 2.0, None])
def test_validity_bad_max_rest(max_rest):
    with pytest.raises(EmovaeError, match="max_rest_steps"):
        is_valid([60, 62], max_rest)


def test_grid_stats_on_a_2x2_grid():
    grid = np.array(
        [
            [[60, 62, R, R], [60, 62, R, R]],
            [[R, R, R, R], [60, H, 60, H]],
        ]
    )
    s = grid_stats(grid, max_rest_steps=2)
    assert s == {
        "n": 4,
        "valid": 2,
        "valid_share": 0.5,
        "distinct": 3,
        "distinct_valid": 1,
        "no_note": 1,
        "one_pitch": 1,
        "long_rest": 0,
        "max_rest_steps": 2,
    }
    assert grid_stats(grid, max_rest_steps=1)["long_rest"] == 2
    assert grid_stats(grid.reshape(4, 4), max_rest_steps=2) == s


def test_grid_stats_of_nothing():
    s = grid_stats(np.zeros((0, 0, 64), dtype=np.int64))
    assert s["n"] == 0 and s["valid_share"] == 0.0 and s["distinct"] == 0


def test_novelty_by_emotion_rows_per_emotion_and_all_last():
    one_pitch, silent = [60] * 8, [R] * 8
    gen = np.array([TRAIN[0], TRAIN[1], one_pitch, silent])
    rows = novelty_by_emotion(gen, [0, 0, 1, 1], TRAIN[:2], real=TRAIN)
    assert list(rows) == ["e1", "e2", "all"]  # no melody asked for e3 or e4
    e1, e2, every = rows["e1"], rows["e2"], rows["all"]
    assert (e1["n"], e1["exact_share"], e1["distinct_per_100"], e1["degenerate_share"]) == (2, 1.0, 100.0, 0.0)
    assert e1["reasons"] == {"no_note": 0, "one_pitch": 0, "long_rest": 0} and e1["exact_share_any_real"] == 1.0
    assert (e2["exact_share"], e2["degenerate_share"], e2["exact_share_any_real"]) == (0.0, 1.0, 0.0)
    assert e2["reasons"] == {"no_note": 1, "one_pitch": 1, "long_rest": 0}
    assert (every["n"], every["exact_share"], every["degenerate_share"]) == (4, 0.5, 0.5)
    assert {k: v for k, v in every.items() if k in copy_stats(gen, TRAIN[:2])} == copy_stats(gen, TRAIN[:2])
    assert "exact_share_any_real" not in novelty_by_emotion(gen, [0, 0, 1, 1], TRAIN[:2])["all"]


def test_axis_profiles_mean_over_the_other_axis_skipping_nan():
    along_v, along_a = axis_profiles([[1.0, 2.0], [3.0, np.nan]])
    assert along_v.tolist() == [2.0, 2.0]
    assert along_a.tolist() == [1.5, 3.0]
    along_v, _ = axis_profiles([[np.nan, 1.0], [np.nan, 3.0]])
    assert math.isnan(along_v[0]) and along_v[1] == 2.0


def test_grid_profiles_on_a_2x2_grid():
    # rows of the grid: arousal -1 (valence -1, +1), then arousal +1 (valence -1, +1)
    grid = np.array([[60] + [H] * 7, [60, H, 62, H, 64, H, 65, H], [R] * 8, [72] + [H] * 7])
    p = grid_profiles(grid, [-1.0, 1.0])
    assert list(p) == list(PROFILE_FEATURES)
    # the silent melody counts as density 0, and is left out of pitch, range and mode
    assert p["note_density"]["along_valence"].tolist() == [1.0, 5.0]  # (2 + 0) / 2, (8 + 2) / 2 notes per bar
    assert p["pitch_mean"]["along_valence"].tolist() == [60.0, 67.375]  # 60 alone; (62.75 + 72) / 2
    assert p["pitch_mean"]["along_arousal"].tolist() == [61.375, 72.0]
    assert p["pitch_range"]["along_arousal"].tolist() == [2.5, 0.0]
    assert p["mode"]["along_valence"].tolist() == [0.0, 0.125]  # (1 - 0.75 + 0) / 2
    assert (p["pitch_mean"]["pearson_valence"], p["pitch_range"]["pearson_arousal"]) == (1.0, -1.0)
    with pytest.raises(EmovaeError, match="2 x 2 = 4 melodies, got 3"):
        grid_profiles(grid[:3], [-1.0, 1.0])


def test_training_longest_rest_is_measured_on_the_data(data_root):
    from emovae.data import load_dataset
    from emovae.features import longest_rest_run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)
        ds = load_dataset(data_root)
    runs = [longest_rest_run(row) for row in ds.tokens]
    assert max(runs) == TRAINING_LONGEST_REST
    assert sorted(runs)[-2] < TRAINING_LONGEST_REST  # one file alone sets the limit
    stats = grid_stats(ds.tokens)  # the rule accepts every real melody
    assert stats["valid"] == stats["n"] == len(ds.tokens)
    assert grid_stats(ds.tokens, max_rest_steps=TRAINING_LONGEST_REST - 1)["long_rest"] == 1
    s = copy_stats(ds.tokens, ds.tokens)
    assert s["exact_share"] == 1.0 and s["training_copied"] == s["training_distinct"] == s["distinct"]
