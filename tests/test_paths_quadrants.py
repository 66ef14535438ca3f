"""A path melody's segments: each is decoded with the emotion of the quadrant its point lies in.

The join picks each segment among its exact point and points jittered around it; the jitter is
mirrored back into the exact point's quadrant (as the web page's ``jitter`` is), so the point a
segment reports and the emotion it was decoded with always agree, also where a path crosses an
axis."""

import pytest

import emovae
from emovae.emotions import quadrant_of_point
from emovae.generation import along_path

# paths that cross the axes (or run along them), where a jittered point could leave its quadrant
PATHS = [
    ["happy", "sad"],
    ["angry", "relaxed"],
    ["happy", "angry", "sad", "relaxed", "happy"],
    [(0.1, 0.1), (-0.1, -0.1)],
    [(0.0, 3.0), (0.0, -3.0)],
    [(-0.05, 2.0), (0.05, -2.0), (-0.05, 2.0)],
]


@pytest.fixture(scope="module")
def model():
    return emovae.load()


def test_every_path_segment_takes_its_points_quadrant(model):
    wrong = []
    for seed in range(6):
        for waypoints in PATHS:
            for bars in (16, 48):
                m = model.path(waypoints, bars=bars, seed=seed)
                assert len(m.points) == len(m.emotions) == bars // 4
                for k, (point, emotion) in enumerate(zip(m.points, m.emotions)):
                    if quadrant_of_point(*point) != emotion:
                        wrong.append((seed, waypoints, bars, k, point, emotion))
    assert not wrong, f"{len(wrong)} segments decoded with another quadrant's emotion, e.g. {wrong[:3]}"


def test_a_point_just_below_an_axis_stays_below_it(model):
    """A coordinate >= 0 counts as positive; one just below 0 must not become -0.0 (read as
    positive) on its way to the decoder, exact point or jittered."""
    for seed in range(4):
        tokens, points, emotions = along_path(model.trained, [(-1e-50, -1e-50), (-1e-50, 1e-50)], 16, seed=seed)
        assert emotions == [2, 2, 1, 1]
        assert [quadrant_of_point(*p) for p in points] == emotions, points
