"""Resume: what a continued run keeps (its own stored configuration) and what it takes from its
caller (:data:`RESUME_APPLIES`)."""

from __future__ import annotations

import dataclasses

from ..checkpoint import TrainedModel
from ..config import TrainConfig

__all__ = ["RESUME_APPLIES", "resumed_config"]

RESUME_APPLIES = ("epochs", "device")  # what a resumed run takes from its caller; all else is stored


def resumed_config(previous: TrainedModel, *, epochs: int | None = None, device: str | None = None) -> TrainConfig:
    """The training configuration a resumed run continues with: the stored run's own, with only
    ``epochs`` and ``device`` (:data:`RESUME_APPLIES`) taken from the caller where given."""
    stored = previous.train_config
    return dataclasses.replace(stored, epochs=epochs or stored.epochs, device=device or stored.device)
