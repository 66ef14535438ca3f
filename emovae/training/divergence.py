"""Divergence: when a run's numbers are no longer finite.

A run whose epoch figures (the loss, its terms, the held-out pass) or weights are no longer
finite numbers has diverged: it stops at the end of that epoch, before any callback, with one
:class:`~emovae.errors.EmovaeError` line (:class:`~emovae.errors.TrainingDiverged`) that names
the epoch and the figure and says what to change ("training diverged at epoch 3 (loss nan):
lower --lr (now 0.05) ..."). Nothing of that epoch is written, so the run folder keeps its last
finite checkpoint (or none); a non-finite checkpoint is never written, and
:func:`emovae.checkpoint.load_model` refuses one. :func:`emovae.training.train` and the batched
trainer judge it alike, with the helpers here.
"""

from __future__ import annotations

import math

import torch

__all__ = ["diverged_message", "non_finite", "weights_finite"]


def non_finite(row: dict, weights_finite: bool = True) -> str | None:
    """What is not finite in an epoch's figures (a history row: the loss first, then the other
    numbers in row order) or, with ``weights_finite`` False, its weights: "loss nan", "val_recon
    inf", "weights nan or inf"; None when all is finite."""
    for key in ("loss", *row):
        value = row.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} {value}"
    return None if weights_finite else "weights nan or inf"


@torch.no_grad()
def weights_finite(module: torch.nn.Module) -> bool:
    """True when every parameter of ``module`` is a finite number (one device synchronisation)."""
    flags = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


def diverged_message(epoch: int, what: str, lr: float, *, flag: str = "--lr") -> str:
    """The first part of the one line a diverged run stops with."""
    return f"training diverged at epoch {epoch} ({what}): lower {flag} (now {lr:g})"
