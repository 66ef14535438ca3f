"""Training: the authors' configuration, readable top to bottom.

RMSprop as Keras defines it (v = rho v + (1 - rho) g^2, w -= lr g / sqrt(v + eps), epsilon inside
the root), lr 0.001, batch 16, 700 epochs, the training split shuffled every epoch. After every
epoch a held-out pass (L_R + L_KLD) as the authors' ``model.fit(validation_data=...)`` does.
Checkpoints carry configs, vocabulary, optimizer and RNG states; they are written atomically, and
``resume=True`` continues a stopped run exactly where its last checkpoint left it.

Anything done per epoch beyond that (quadrant accuracies, latent pictures) is a callback passed
in by the caller (minGPT's ``on_epoch_end``), so this package imports nothing above it: see
:class:`Callback` and :class:`emovae.evaluate.QuadrantLog`.

Interruptions: a run killed at any moment keeps its last checkpoint whole, Ctrl-C saves and
raises :class:`~emovae.errors.TrainingInterrupted` (:mod:`~emovae.training.loop`). Divergence: a
run whose figures or weights are no longer finite stops with one line that says what to change,
and no non-finite checkpoint is written (:mod:`~emovae.training.divergence`).

Modules, in the order a run uses them: :mod:`~emovae.training.data` (:class:`EncodedData`,
:func:`encode_dataset`, :func:`fit_to_data`), :mod:`~emovae.training.seeding` (the seeding
scheme: :func:`seed_weights`, :func:`run_rngs`, :func:`heldout_rng`, :func:`restore_noise`),
:mod:`~emovae.training.optim` (:class:`KerasRMSprop`), :mod:`~emovae.training.loss`
(:func:`loss_settings`, the epoch's sums), :mod:`~emovae.training.trainer` (:class:`Trainer`),
:mod:`~emovae.training.callbacks` (:class:`Callback`, :class:`EarlyStopping`),
:mod:`~emovae.training.divergence` (:func:`non_finite`, :func:`weights_finite`,
:func:`diverged_message`), :mod:`~emovae.training.resume` (:func:`resumed_config`,
:data:`RESUME_APPLIES`), :mod:`~emovae.training.loop` (:func:`train`, :func:`fastest_trainer`,
Ctrl-C); every name is importable from ``emovae.training`` as before.
"""

from __future__ import annotations

from ..config import CVAEConfig, TrainConfig  # noqa: F401 (importable from here as before)
from .callbacks import Callback, EarlyStopping
from .data import EncodedData, _warn_missing_emotions, encode_dataset, fit_to_data  # noqa: F401 (private names, as before)
from .divergence import diverged_message, non_finite, weights_finite
from .loop import _CtrlC, fastest_trainer, train  # noqa: F401
from .loss import _accumulate, _example_sums, loss_settings  # noqa: F401
from .optim import KerasRMSprop
from .resume import RESUME_APPLIES, resumed_config
from .seeding import heldout_rng, restore_noise, run_rngs, seed_weights
from .trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "EncodedData",
    "KerasRMSprop",
    "RESUME_APPLIES",
    "Trainer",
    "diverged_message",
    "encode_dataset",
    "fastest_trainer",
    "fit_to_data",
    "heldout_rng",
    "loss_settings",
    "non_finite",
    "restore_noise",
    "resumed_config",
    "run_rngs",
    "seed_weights",
    "train",
    "weights_finite",
]
