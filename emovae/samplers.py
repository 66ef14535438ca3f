"""Where generation looks on the plane: the paper's sampler and a density fitted to the codes.

**paper** (Grekow 2025, and the authors' code): for emotion e,
``z ~ N(c_e, s^2 I)`` with ``c_e = (+-r, +-r)`` the quadrant's centre (``r = 2``, ``s = 2``) for
CVAE-EmoReg, and ``c_e = 0`` for CVAE-Base.

**fitted**: a Gaussian per emotion fitted to where the model puts that emotion's training
melodies, their latent means ``mu_i`` (the plane's two coordinates):
``m_e = mean_i mu_i``, ``S_e = cov_i mu_i`` (population covariance, ddof 0), and
``z ~ N(m_e, k^2 S_e)`` with ``k`` the spread (1 = the codes' own spread). A recipe whose codes
lie away from (+-2, +-2) (the hinge pushes them out to about (+-3.3, +-3.3)) is then asked for
points it has seen, not for points between its clusters.

A :class:`FittedSampler` is plain data (means, covariances, counts): checkpoints carry it
(:mod:`emovae.checkpoint`), and it is fitted again for an older checkpoint by
``emovae fit-sampler``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .emotions import quadrant_centre
from .errors import EmovaeError

__all__ = ["SAMPLERS", "FittedSampler", "check_sampler"]

SAMPLERS = ("paper", "fitted")
PAPER_STD = 2.0  # s: the paper's standard deviation around the centre
PAPER_RADIUS = 2.0  # r: the quadrant centres (+-r, +-r)
_MIN_VARIANCE = 1e-4  # added to a covariance's diagonal: one melody (or twins) still gives a density


def check_sampler(name) -> str:
    """One of :data:`SAMPLERS`; a one-line error otherwise."""
    if name not in SAMPLERS:
        raise EmovaeError(f"sampler {name!r}: use one of {', '.join(SAMPLERS)}")
    return name


@dataclass(frozen=True)
class FittedSampler:
    """A Gaussian per emotion over the plane, fitted to the training codes (module doc)."""

    means: np.ndarray  # (4, 2): m_e
    covs: np.ndarray  # (4, 2, 2): S_e
    counts: np.ndarray  # (4,): melodies per emotion it was fitted to

    @classmethod
    def fit(cls, points, labels) -> FittedSampler:
        """Fit to (N, 2+) latent means and their (N,) emotion labels 0..3. An emotion without
        melodies gets the paper's N(c_e, 2^2 I)."""
        pts = np.asarray(points, dtype=np.float64)[:, :2]
        lab = np.asarray(labels)
        if len(pts) != len(lab) or not np.isfinite(pts).all():
            raise EmovaeError("fit a sampler to finite points, one label each")
        means, covs, counts = np.zeros((4, 2)), np.zeros((4, 2, 2)), np.zeros(4, dtype=np.int64)
        for e in range(4):
            rows = pts[lab == e]
            counts[e] = len(rows)
            if len(rows) == 0:
                means[e], covs[e] = quadrant_centre(e, PAPER_RADIUS), np.eye(2) * PAPER_STD**2
                continue
            means[e] = rows.mean(axis=0)
            centred = rows - means[e]
            covs[e] = centred.T @ centred / len(rows) + np.eye(2) * _MIN_VARIANCE
        return cls(means, covs, counts)

    def points(self, emotion: int, n: int, gen: np.random.Generator, *, spread: float = 1.0) -> np.ndarray:
        """(n, 2) points ``m_e + spread * L_e N(0, I)``, ``L_e`` the Cholesky factor of ``S_e``."""
        chol = np.linalg.cholesky(self.covs[emotion])
        return self.means[emotion] + spread * gen.standard_normal((n, 2)) @ chol.T

    def to_dict(self) -> dict:
        return {
            "kind": "gaussian",
            "means": self.means.tolist(),
            "covs": self.covs.tolist(),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_dict(cls, values: dict) -> FittedSampler:
        try:
            means = np.asarray(values["means"], dtype=np.float64)
            covs = np.asarray(values["covs"], dtype=np.float64)
            counts = np.asarray(values["counts"], dtype=np.int64)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmovaeError(f"a damaged sampler entry ({type(exc).__name__})") from None
        if means.shape != (4, 2) or covs.shape != (4, 2, 2) or counts.shape != (4,) or not np.isfinite(covs).all():
            raise EmovaeError("a damaged sampler entry (shapes)")
        return cls(means, covs, counts)
