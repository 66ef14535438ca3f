"""K models trained at once, as one batched model: for sweeps and seed studies.

Each of the K models keeps its own seed, initialisation, data order, sampling noise and loss
weights (its own :class:`~emovae.config.TrainConfig`), exactly as K separate runs of
:class:`emovae.training.Trainer` would have them: the same initial weights (each built by
``CVAE`` under ``torch.manual_seed(seed)``), the same shuffles (``seed + 1``), the same noise
(``seed + 2``), the same held-out noise: one seeding scheme, ``emovae.training``'s
(:func:`~emovae.training.run_rngs` and its neighbours). The K weight sets are stacked along a leading axis, and
every matrix product of a step becomes one batched product (``torch.baddbmm``) over the K
models, so K small models fill the hardware one alone leaves idle. Each model saves its own
ordinary checkpoint (loadable and resumable by :func:`emovae.training.train`); on the CPU the
checkpoints equal those of K separate runs up to float rounding (the GRU's gates are summed in
another order), which ``tests/test_batched.py`` checks.

What models trained together must share (:func:`group_key`): the architecture, batch size,
optimizer settings, epochs, the split and the reduction. Loss weights and forms (cosine or
hinge, on mu or on z too), schedules, margins, free bits and seeds may differ.

On CUDA each training step is a CUDA graph, replayed with no host synchronisation inside an
epoch (:mod:`~emovae.batched.trainer`). A run that diverges stops alone at its last finite
weights and the others go on (:mod:`~emovae.batched.loop`).

Modules: :mod:`~emovae.batched.model` (:class:`BatchedCVAE`, :data:`SHARED`, :func:`group_key`),
:mod:`~emovae.batched.trainer` (:class:`BatchedTrainer`: steps, CUDA graphs, epochs, the
divergence stop), :mod:`~emovae.batched.checkpoints` (its checkpoints: one ordinary checkpoint
per run, and resuming K of them), :mod:`~emovae.batched.graphs` (:class:`GraphTrainer`: one run
this way, what ``emovae train`` uses on CUDA), :mod:`~emovae.batched.loop`
(:func:`train_batched`); every name is importable from ``emovae.batched`` as before.
"""

from __future__ import annotations

from .graphs import GraphTrainer
from .loop import train_batched
from .model import SHARED, BatchedCVAE, _linear, group_key  # noqa: F401 (private names, as before)
from .trainer import BatchedTrainer, _quadrant_recall  # noqa: F401

__all__ = ["BatchedCVAE", "BatchedTrainer", "GraphTrainer", "group_key", "train_batched"]
