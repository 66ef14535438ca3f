"""An epoch's loss: the loss settings of K models at an epoch (:func:`loss_settings`, the
schedules evaluated) and a batch's terms summed over its examples, the form the epoch's figures
are summed in by :class:`~emovae.training.Trainer` and by the batched trainer."""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..errors import EmovaeError

__all__ = ["loss_settings"]


def loss_settings(configs: list[TrainConfig], epoch: int, device) -> dict:
    """The loss settings of K models (their training configurations) at the 0-based ``epoch``:
    ``{"terms": keyword arguments of recipe_terms, "weights": those of recipe_total}``, the
    per-model numbers as (K,) tensors on ``device`` (schedules evaluated for this epoch). The
    reduction must agree."""
    first = configs[0]
    for c in configs[1:]:
        if c.reduction != first.reduction:
            raise EmovaeError(f"models trained together must share reduction: {first.reduction!r} and {c.reduction!r}")
    for c in configs:
        if c.emotion_loss not in ("cosine", "hinge"):
            raise EmovaeError(f"emotion_loss {c.emotion_loss!r} is not one of cosine, hinge")
    one = len(configs) == 1

    def vec(values):
        return torch.tensor(values, dtype=torch.float32, device=device)

    ramps = [c.emotion_factor(epoch) for c in configs]
    return {
        "terms": {
            "reduction": first.reduction,
            # one model: the setting itself; several: a 0/1 switch per model
            "emotion_loss": first.emotion_loss if one else vec([c.emotion_loss == "hinge" for c in configs]),
            "margin": vec([c.margin for c in configs]),
            "emotion_on_z": first.emotion_on_z if one else vec([bool(c.emotion_on_z) for c in configs]),
            "free_bits": vec([c.free_bits for c in configs]) if any(c.free_bits > 0 for c in configs) else None,
        },
        "weights": {
            "kl_weight": vec([c.kl_factor(epoch) for c in configs]),
            "weight_arousal": vec([c.weight_arousal * r for c, r in zip(configs, ramps)]),
            "weight_valence": vec([c.weight_valence * r for c, r in zip(configs, ramps)]),
        },
    }


def _example_sums(terms: dict, batch: int, reduction: str) -> dict:
    """A batch's terms as sums over its examples ("loss" stays the batch objective): the form
    the epoch's figures are summed in, by :class:`Trainer` and by the batched trainer."""
    out = {}
    for k, v in terms.items():
        v = v.detach()
        if k == "recon":
            v = v if reduction == "sum" else v * batch
        elif k != "loss":
            v = v * batch
        out[k] = v
    return out


def _accumulate(sums: dict, terms: dict, batch: int, reduction: str) -> None:
    """Add a batch's terms as sums over examples (no device sync: tensors stay tensors)."""
    for k, v in _example_sums(terms, batch, reduction).items():
        sums[k] = sums[k] + v if k in sums else v
