"""Loading a trained model: one rule finds the file (:func:`~emovae.checkpoint.files.resolve_checkpoint`),
its contents are checked, and a :class:`~emovae.checkpoint.trained.TrainedModel` comes back."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..config import CVAEConfig, TrainConfig
from ..data import N_STEPS, Vocabulary
from ..errors import EmovaeError
from ..model import CVAE
from ..samplers import FittedSampler
from .files import TrainingState, _non_finite_weight, _read_payload, resolve_checkpoint, resolve_device
from .trained import TrainedModel


def load_model(
    spec: str | os.PathLike | TrainedModel | None = None,
    device: str | torch.device = "cpu",
    precision: str | None = None,
) -> TrainedModel:
    """Load a trained model: bundled by name, a checkpoint file or a run folder (see
    :func:`resolve_checkpoint`); a :class:`TrainedModel` is handed back as it is.
    Errors name the file and what is wrong with it."""
    if isinstance(spec, TrainedModel):
        return spec
    path = resolve_checkpoint(spec)
    if not path.is_file():
        wanted = "a checkpoint file, a run folder holding checkpoint.pt, or emoreg / base"
        if isinstance(spec, (str, os.PathLike)) and Path(spec).is_dir():
            raise EmovaeError(f"{spec}: no such checkpoint, a folder without checkpoint.pt (give {wanted})")
        raise EmovaeError(
            f"{path}: no such checkpoint file (give {wanted})"
            if not path.exists()
            else f"{path}: not a file (give {wanted})"
        )
    payload = _read_payload(path)
    try:
        config = CVAEConfig.from_dict(payload["model_config"])
        train_config = TrainConfig.from_dict(payload.get("train_config"))
        vocab = Vocabulary.from_list(payload["vocab"])
        weights = payload["model"]
        epoch = int(payload.get("epoch", 0))
        history = list(payload.get("history", []))
        state = TrainingState.from_dict(payload.get("state"))
        sampler = FittedSampler.from_dict(payload["sampler"]) if payload.get("sampler") else None
        hashes = [str(h) for h in payload.get("training_hashes") or []]
    except EmovaeError as exc:
        raise EmovaeError(f"{path}: a damaged emovae checkpoint ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else "an entry of the wrong kind"
        raise EmovaeError(f"{path}: a damaged emovae checkpoint ({what})") from None
    if vocab.size != config.vocab_size:
        raise EmovaeError(f"{path}: vocabulary of {vocab.size} tokens but the model expects {config.vocab_size}")
    if config.n_steps != N_STEPS:
        raise EmovaeError(f"{path}: a model of {config.n_steps} steps; emovae reads {N_STEPS}-step melodies")
    try:
        net = CVAE(config, precision=precision or train_config.precision, init=False)
        net.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, AttributeError):
        raise EmovaeError(
            f"{path}: its weights do not fit the model configuration stored with them (a damaged emovae checkpoint)"
        ) from None
    bad = _non_finite_weight(weights)
    if bad is not None:
        raise EmovaeError(
            f"{path}: weight {bad} holds NaN or infinite values (a diverged training run); "
            "no model can be used from this checkpoint"
        )
    net.to(resolve_device(device))
    return TrainedModel(
        net,
        vocab,
        train_config,
        epoch=epoch,
        history=history,
        state=state,
        path=path,
        sampler=sampler,
        training_hashes=hashes,
    )
