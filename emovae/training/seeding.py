"""The seeding scheme of a run.

:class:`~emovae.training.Trainer` and the batched trainer (:mod:`emovae.batched`) both use it,
so that K runs side by side start, shuffle and draw noise exactly as K single runs do
(``tests/test_batched.py``): the initial weights under ``torch.manual_seed(seed)``, the shuffles
from ``seed + 1``, the sampling noise from ``seed + 2``, the held-out pass's noise from the seed
and the epoch.
"""

from __future__ import annotations

import torch

from ..checkpoint import TrainingState

__all__ = ["heldout_rng", "restore_noise", "run_rngs", "seed_weights"]


def seed_weights(seed: int) -> None:
    """Seeds torch's global RNG for building a model's initial weights (``CVAE`` right after)."""
    torch.manual_seed(seed)


def run_rngs(seed: int, device) -> tuple[torch.Generator, torch.Generator]:
    """A run's two generators: the shuffles (CPU, ``seed + 1``) and the sampling noise (on
    ``device``, ``seed + 2``)."""
    return torch.Generator().manual_seed(seed + 1), torch.Generator(device).manual_seed(seed + 2)


def heldout_rng(seed: int, epoch: int, device) -> torch.Generator:
    """The noise of the held-out pass after ``epoch`` epochs: the same whatever came before."""
    return torch.Generator(device).manual_seed(seed * 100_003 + epoch)


def restore_noise(noise: torch.Generator, state: TrainingState, seed: int, epoch: int) -> None:
    """A resumed run's noise generator: the stored state where it was saved on this device type;
    a CPU state does not fit a CUDA generator (nor the reverse), so then a deterministic reseed."""
    if state.noise_device == noise.device.type:
        noise.set_state(state.noise_rng)
    else:
        noise.manual_seed(seed + 2 + 7919 * epoch)
