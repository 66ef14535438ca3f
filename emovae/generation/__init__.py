"""Generation: sample, pick a point, place a melody, move it, walk a path across the plane.

All of it goes through :class:`emovae.checkpoint.TrainedModel` (``encode`` / ``decode`` /
``sample``); tokens are raw tokens (see :mod:`emovae.data`).

Modules: :mod:`.sampling` (the paper's sampling, a chosen point: :func:`generate`,
:func:`generate_set`), :mod:`.placing` (placing a melody: :func:`place`, :class:`Placement`;
into the vocabulary: :func:`fit_vocabulary`; moving it: :func:`transform_point`), :mod:`.paths`
(longer melodies along a path: :func:`along_path`, :func:`path_points`, :func:`check_bars`;
:func:`interpolate_points`). Each module's docstring states its rules.
"""

from __future__ import annotations

from ..emotions import PLANE_LIMIT, check_point
from .paths import JITTER as JITTER
from .paths import MAX_BARS, along_path, interpolate_points, path_points
from .paths import check_bars as check_bars
from .placing import Placement, fit_vocabulary, place, transform_point
from .sampling import generate as generate
from .sampling import generate_set

__all__ = [
    "PLANE_LIMIT",
    "Placement",
    "along_path",
    "check_point",
    "fit_vocabulary",
    "generate_set",
    "interpolate_points",
    "path_points",
    "place",
    "transform_point",
    "MAX_BARS",
]
