"""The report's grid over the plane (:func:`plane_grid`), how predicted valence and arousal follow
its coordinates (:func:`va_agreement`, :func:`pearson`), and the mean and sample sd over runs
(:func:`mean_sd`)."""

from __future__ import annotations

import math

import numpy as np

from ..emotions import axis_sign
from ..errors import EmovaeError

GRID_LIMIT = 6.0  # emovae report's grid covers [-GRID_LIMIT, GRID_LIMIT]^2


def plane_grid(grid: int, limit: float = GRID_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (g,), points (g*g, 2))``: ``coords = linspace(-limit, limit, g)`` and the lattice
    in row-major order, row ``i`` = arousal ``coords[i]`` (bottom to top), column ``j`` = valence
    ``coords[j]``: ``points[i * g + j] = (coords[j], coords[i])``."""
    coords = np.linspace(-limit, limit, grid)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    return coords, np.stack([xx.ravel(), yy.ravel()], axis=1)


def pearson(a, b) -> float | None:
    """Pearson correlation of two equal-length series, with ``d_x = x - mean(x)``:
    ``r = sum(d_x d_y) / sqrt(sum(d_x^2) sum(d_y^2))`` (= ``cov(a, b) / (sd(a) sd(b))``); None when
    either is constant (or has fewer than 2 values), where it is undefined.
    (1, 2, 3, 4) against (1, 3, 2, 4): 4 / sqrt(5 * 5) = 0.8."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise EmovaeError(f"pearson: expected two 1-D series of equal length, got {x.shape} and {y.shape}")
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if den == 0.0:
        return None
    return float((dx * dy).sum()) / den


def va_agreement(predicted, points, limit: float = GRID_LIMIT) -> dict:
    """How well predicted (valence, arousal) in [-1, 1] follow the points' coordinates.

    ``predicted`` and ``points`` are ``(N, 2)`` (valence, arousal). For each axis, with ``p`` the
    prediction and ``c`` the coordinate:

    - ``l1_sign = mean |p - s(c)|`` with ``s(c) = +1`` if ``c >= 0`` else ``-1`` (the quadrant
      rule of :func:`quadrant_of`);
    - ``l1_scaled = mean |p - c / limit|`` (the coordinate scaled linearly to [-1, 1]);
    - ``pearson`` = :func:`pearson` of ``p`` and ``c`` (scale-free; None if either is constant).

    Example: predicted valences (1, 0) at x = (6, -3) with limit 6: l1_sign = (0 + 1) / 2 = 0.5,
    l1_scaled = (0 + 0.5) / 2 = 0.25, pearson = 1.
    """
    p = np.asarray(predicted, dtype=np.float64)
    c = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape != c.shape:
        raise EmovaeError(f"va_agreement: expected predictions and points of shape (N, 2), got {p.shape} and {c.shape}")
    if not p.size:
        raise EmovaeError("va_agreement: no points")
    out = {}
    for k, axis in enumerate(("valence", "arousal")):
        sign = axis_sign(c[:, k])
        out[axis] = {
            "l1_sign": float(np.abs(p[:, k] - sign).mean()),
            "l1_scaled": float(np.abs(p[:, k] - c[:, k] / limit).mean()),
            "pearson": pearson(p[:, k], c[:, k]),
        }
    return out


def mean_sd(values) -> dict:
    """``{"n", "mean", "sd"}`` of numbers (None and NaN values left out): the mean and the sample
    standard deviation ``sqrt(sum (v - mean)^2 / (n - 1))``; sd None for fewer than 2 values,
    both None for none. (1, 2, 3) -> mean 2, sd 1."""
    vals = np.asarray([float(v) for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if not vals.size:
        return {"n": 0, "mean": None, "sd": None}
    return {"n": int(vals.size), "mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if vals.size > 1 else None}
