"""Checkpoints that carry everything needed to use them: configs, vocabulary, weights.

A training checkpoint also holds the optimizer state, the RNG states, the split, the epoch and
the history, so ``emovae train --resume`` continues exactly where the run stopped. Files are
written atomically. A model-only file (``export_model``) drops the training state; the weights
bundled with the package are such files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from .atomic import atomic_path
from .data import Vocabulary
from .errors import EmovaeError
from .model import CVAE, CVAEConfig

FORMAT = "emovae-checkpoint-1"


@dataclass
class Checkpoint:
    model: CVAE
    vocab: Vocabulary
    model_config: CVAEConfig
    train_config: dict = field(default_factory=dict)   # TrainConfig as a dict (empty for a bare model)
    epoch: int = 0
    history: list = field(default_factory=list)
    state: dict = field(default_factory=dict)           # optimizer, rng, split: for resuming

    @property
    def emotion_regularized(self) -> bool:
        """True for CVAE-EmoReg (emotion weights > 0): generation then samples around quadrant centres."""
        tc = self.train_config
        return bool(tc.get("weight_arousal", 0) or tc.get("weight_valence", 0))


def save_checkpoint(path, *, model: CVAE, vocab: Vocabulary, train_config: dict | None = None,
                    epoch: int = 0, history: list | None = None, state: dict | None = None) -> Path:
    """Write a checkpoint atomically (a crash never leaves a half-written file)."""
    payload = {
        "format": FORMAT,
        "model_config": model.config.to_dict(),
        "vocab": vocab.to_list(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": dict(train_config or {}),
        "epoch": int(epoch),
        "history": list(history or []),
        "state": state or {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path, device: str | torch.device = "cpu", precision: str | None = None) -> Checkpoint:
    """Load a checkpoint; errors name the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise EmovaeError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise EmovaeError(f"{path}: not an emovae checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise EmovaeError(f"{path}: not an emovae checkpoint (no '{FORMAT}' marker)")
    known = {f.name for f in fields(CVAEConfig)}
    config = CVAEConfig(**{k: v for k, v in payload["model_config"].items() if k in known})
    if precision is not None:
        config.precision = precision
    vocab = Vocabulary.from_list(payload["vocab"])
    if vocab.size != config.vocab_size:
        raise EmovaeError(f"{path}: vocabulary of {vocab.size} tokens but the model expects {config.vocab_size}")
    model = CVAE(config)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise EmovaeError(f"{path}: weights do not fit the stored model config ({str(exc).splitlines()[0][:120]})") from None
    model.to(device)
    return Checkpoint(model=model, vocab=vocab, model_config=config,
                      train_config=payload.get("train_config", {}), epoch=payload.get("epoch", 0),
                      history=payload.get("history", []), state=payload.get("state", {}))


def as_checkpoint(model, device: str | torch.device = "cpu") -> Checkpoint:
    """A loaded checkpoint from a Checkpoint, a file, or a run folder holding checkpoint.pt."""
    if isinstance(model, Checkpoint):
        return model
    path = Path(model)
    return load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path, device)


def export_model(checkpoint: Checkpoint | str | os.PathLike, path) -> Path:
    """Write a model-only copy (configs, vocabulary, weights, history; no optimizer state)."""
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint)
    return save_checkpoint(path, model=checkpoint.model, vocab=checkpoint.vocab,
                           train_config=checkpoint.train_config, epoch=checkpoint.epoch,
                           history=checkpoint.history)


def check_vocabulary(vocab: Vocabulary, raw_tokens, where: str) -> None:
    """Raise if the data holds pitches the model's vocabulary lacks (a model from another vocabulary)."""
    import numpy as np

    missing = sorted(set(np.unique(raw_tokens).tolist()) - set(vocab.tokens))
    if missing:
        raise EmovaeError(
            f"{where}: the model's vocabulary ({vocab.size} tokens) lacks pitch(es) {missing} of this data set; "
            "it was trained on another vocabulary"
        )
