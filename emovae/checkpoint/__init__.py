"""Checkpoints, and the trained-model object every tool goes through.

A checkpoint file carries everything needed to use it: the architecture (``CVAEConfig``), the
training settings (``TrainConfig``), the vocabulary, the weights, the epoch and the history. A
training checkpoint also holds a :class:`TrainingState` (optimizer, RNG states, the split), so
``emovae train --resume`` continues exactly where the run stopped. Files are written atomically.
A model-only file (:meth:`TrainedModel.export`) drops the optimizer and RNG states; the weights
bundled with the package are such files.

One rule finds a checkpoint (:func:`resolve_checkpoint`): ``None`` or a preset name (``emoreg``,
``base``, ``paper-emoreg``, ``paper-base``) means the bundled weights, a folder means its
``checkpoint.pt``, anything else is a file. A model whose weights hold NaN or infinity (a
diverged run) is neither written nor loaded.

:class:`TrainedModel` is the model as a user sees it (magenta's ``TrainedModel``):
``encode(tokens, emotion)`` -> latent points, ``decode(z, emotion)`` -> tokens,
``sample(emotion, n, seed)`` -> tokens. Tokens here are raw tokens (see :mod:`emovae.data`).

Modules: :mod:`~emovae.checkpoint.trained` (:class:`TrainedModel`, its verbs),
:mod:`~emovae.checkpoint.files` (the file format: :class:`TrainingState`, :func:`save_checkpoint`,
:func:`resolve_checkpoint`, :func:`resolve_device`), :mod:`~emovae.checkpoint.load`
(:func:`load_model`); every name is importable from ``emovae.checkpoint`` as before.
"""

from __future__ import annotations

from .files import FORMAT, TrainingState, resolve_checkpoint, resolve_device, save_checkpoint
from .load import load_model
from .trained import MAX_BATCH, TrainedModel

__all__ = [
    "FORMAT",
    "TrainingState",
    "TrainedModel",
    "load_model",
    "resolve_checkpoint",
    "save_checkpoint",
    "resolve_device",
    "MAX_BATCH",
]
