"""What runs after every epoch besides the epoch itself: :class:`Callback` (minGPT's
``on_epoch_end``) and :class:`EarlyStopping`, one such callback.

Anything done per epoch beyond training and the held-out pass (quadrant accuracies, latent
pictures) is a callback passed in by the caller, so the training package imports nothing above
it: see :class:`emovae.evaluate.QuadrantLog`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from ..errors import EmovaeError

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping"]


class Callback(Protocol):
    """Called after every epoch, before the epoch's history row is stored and checkpointed.

    ``row`` is the epoch's history row (losses, seconds); a callback may add entries to it
    (they are saved with the history)."""

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None: ...


class EarlyStopping:
    """Stop training when a history entry has not improved for ``patience`` epochs that report
    it (Prechelt, "Early stopping - but when?", 1998; Keras' ``EarlyStopping`` without weight
    restoring). ``key`` names a row entry, dotted for a nested one: "val_recon" (held-out L_R,
    every epoch with ``validate``) or "d_heldout.mean_recall" (held-out D, on the epochs a D
    callback placed before this one reports it). ``mode`` "min" or "max" says which way is
    better; an improvement must beat the best by more than ``min_delta``. The run stops with a
    checkpoint at that epoch and ``row["early_stop"]`` set; ``best_epoch`` is kept here."""

    def __init__(self, key: str = "val_recon", *, mode: str = "min", patience: int = 20, min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise EmovaeError(f"early stopping mode {mode!r}: use min or max")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise EmovaeError(f"early stopping patience {patience!r}: a whole number of epochs >= 1 is needed")
        self.key, self.mode, self.patience, self.min_delta = key, mode, patience, float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.waited = 0

    def _value(self, row: dict) -> float | None:
        value = row
        for part in self.key.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return float(value)

    def on_epoch_end(self, trainer, row: dict) -> None:
        value = self._value(row)
        if value is None or not math.isfinite(value):
            return
        better = self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.waited = value, row["epoch"], 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            row["early_stop"] = {"key": self.key, "best": self.best, "best_epoch": self.best_epoch}
            trainer.stop_requested = True
