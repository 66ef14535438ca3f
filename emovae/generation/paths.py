"""Paths across the plane: longer melodies whose emotion follows waypoints, and interpolation.

**Longer melodies** (:func:`along_path`): ``bars / 4`` segments, one per point along the path
through the waypoints (:func:`path_points`: every waypoint is visited when there are enough segments); each segment decoded with its point's
quadrant emotion. The join: a segment's leading HOLDs would extend the previous segment's last
note, so they become rests; and each segment after the first is chosen among the exact point
and ``candidates - 1`` points jittered around it (N(0, 0.3^2), seeded) as the one whose first
pitch is nearest the previous segment's last pitch (the exact point wins ties). A jittered point
is mirrored back into its exact point's quadrant (as the web page's jitter is), so each
segment's point lies in the quadrant of the emotion it is decoded with.
"""

from __future__ import annotations

import numpy as np

from ..checkpoint import load_model
from ..data import HOLD, N_STEPS, REST
from ..emotions import PLANE_LIMIT, axis_sign, check_point, quadrant_centre, quadrant_of_point
from ..errors import EmovaeError
from ..limits import MAX_PATH_POINTS, check_count, check_path_length, check_seed, check_temperature

__all__ = ["MAX_BARS", "along_path", "check_bars", "interpolate_points", "path_points"]

MAX_BARS = 256  # bars of a path melody (64 segments)
JITTER = 0.3  # std of the candidate points around a path segment's point


def _waypoint(item) -> tuple[float, float]:
    if isinstance(item, str):
        text = item.strip()
        if "," in text:
            try:
                v, a = (float(t) for t in text.split(","))
            except ValueError:
                raise EmovaeError(f"path point {item!r}: write VALENCE,AROUSAL, e.g. 2,-1.5") from None
            return check_point(v, a)
        return quadrant_centre(text)
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        return quadrant_centre(int(item))
    try:
        v, a = item
    except (TypeError, ValueError):
        raise EmovaeError(f"path point {item!r}: an emotion or a (valence, arousal) pair is needed") from None
    return check_point(v, a)


def path_points(waypoints, n: int) -> np.ndarray:
    """n points along the path through the waypoints (emotions stand for their quadrant centres
    (+-2, +-2)). With at least as many points as waypoints, waypoint j falls on point
    round(j (n - 1) / (m - 1)) and the points between two waypoints lie evenly on the straight
    line between them, so every waypoint is visited; with fewer, the n points are spread evenly
    by arc length along the polyline, first and last at its ends."""
    items = list(waypoints) if not isinstance(waypoints, str) else [w for w in waypoints.split(";")]
    check_path_length(len(items))
    pts = np.asarray([_waypoint(w) for w in items], dtype=np.float64)
    n = check_count(n)
    m = len(pts)
    if m == 1 or n == 1:
        return np.repeat(pts[:1], n, axis=0)
    if n >= m:
        at = np.rint(np.arange(m) * (n - 1) / (m - 1)).astype(int)
        return np.stack([np.interp(np.arange(n), at, pts[:, 0]), np.interp(np.arange(n), at, pts[:, 1])], axis=1)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] == 0:
        return np.repeat(pts[:1], n, axis=0)
    targets = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(targets, cum, pts[:, 0]), np.interp(targets, cum, pts[:, 1])], axis=1)


def check_bars(bars) -> int:
    """A melody length in bars: a multiple of 4 between 4 and MAX_BARS."""
    if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 4 or bars % 4 or bars > MAX_BARS:
        raise EmovaeError(f"bars {bars!r}: a multiple of 4 from 4 to {MAX_BARS} is needed")
    return int(bars)


def _first_pitch(tokens: np.ndarray) -> int | None:
    notes = tokens[tokens < REST]
    return int(notes[0]) if notes.size else None


def _last_pitch(tokens: np.ndarray) -> int | None:
    notes = tokens[tokens < REST]
    return int(notes[-1]) if notes.size else None


def _in_quadrant(exact: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """``moved`` (float32 (N, 2)) mirrored into the quadrants of the ``exact`` points (N, 2) and
    kept on the plane: s * min(|moved|, PLANE_LIMIT), s the sign of the exact coordinate (>= 0
    counts as positive, :func:`emovae.emotions.quadrant_of_point`'s rule), as the web page's
    jitter is. A negative coordinate stays below 0 (at least float32's smallest normal number
    away), so neither a jitter onto the axis nor float32 rounding makes it -0.0, which reads as
    positive."""
    sign = axis_sign(exact).astype(np.float32)
    size = np.minimum(np.abs(moved), np.float32(PLANE_LIMIT))
    size = np.where(sign < 0, np.maximum(size, np.finfo(np.float32).tiny), size)
    return (sign * size).astype(np.float32)


def along_path(
    model, waypoints, bars: int = 16, *, seed: int = 0, temperature: float = 0.0, candidates: int = 8
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A melody of ``bars`` bars whose emotion follows the path: (raw tokens (bars * 16,),
    the segments' points (bars / 4, 2), the segments' emotions). See the module doc for the join."""
    model = load_model(model)
    n_seg = check_bars(bars) // 4
    seed, temperature = check_seed(seed), check_temperature(temperature)
    centres = path_points(waypoints, n_seg)
    emotions = [quadrant_of_point(*p) for p in centres]
    rng = np.random.default_rng(seed)
    k = max(1, int(candidates))
    exact = np.repeat(centres, k, axis=0)
    jitter = rng.normal(0.0, JITTER, size=exact.shape).astype(np.float32)
    jitter[::k] = 0.0  # candidate 0 is the exact point
    z = _in_quadrant(exact, exact.astype(np.float32) + jitter)
    tokens = model._decode(z, np.repeat(emotions, k), temperature, seed).reshape(n_seg, k, N_STEPS)
    chosen, points, previous = [], [], None
    for s in range(n_seg):
        pick = 0
        if previous is not None:
            firsts = [_first_pitch(tokens[s, c]) for c in range(k)]
            pick = min(range(k), key=lambda c: (abs(firsts[c] - previous) if firsts[c] is not None else 1000, c))
        seg = tokens[s, pick].copy()
        lead = 0
        while lead < N_STEPS and seg[lead] == HOLD:  # no HOLD orphaned at a segment start
            seg[lead] = REST
            lead += 1
        chosen.append(seg)
        points.append(z[s * k + pick])
        last = _last_pitch(seg)
        previous = last if last is not None else previous
    return np.concatenate(chosen), np.asarray(points, dtype=np.float64), emotions


def interpolate_points(a, b, steps: int = 8) -> np.ndarray:
    """``steps`` points evenly from a to b, both ends included."""
    steps = check_count(steps)
    if steps < 2:
        raise EmovaeError(f"steps {steps}: at least 2 are needed (both ends)")
    if steps > MAX_PATH_POINTS * 4:
        raise EmovaeError(f"steps {steps}: at most {MAX_PATH_POINTS * 4} are allowed")
    a, b = np.asarray(check_point(*a)), np.asarray(check_point(*b))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * a + t * b
