"""One run trained as a batched model of one (:class:`GraphTrainer`): what
:func:`emovae.training.train` picks on CUDA (:func:`~emovae.training.fastest_trainer`), each
training step a CUDA graph, behind :class:`emovae.training.Trainer`'s interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checkpoint import TrainedModel
from ..config import CVAEConfig, TrainConfig
from ..errors import EmovaeError
from ..training.data import EncodedData
from .model import BatchedCVAE
from .trainer import BatchedTrainer

__all__ = ["GraphTrainer"]


class GraphTrainer:
    """One model trained by :class:`BatchedTrainer` behind :class:`emovae.training.Trainer`'s
    interface, what ``emovae.training.train`` picks on CUDA (:func:`~emovae.training.fastest_trainer`):
    each training step is a CUDA graph around the stacked GRU with Triton's gate kernels, or cuDNN's GRU without
    Triton (the paper configuration in 52 s and 57 s on an H100, ``docs/RESULTS.md``);
    checkpoints, callbacks, Ctrl-C and resume are ``train``'s own."""

    def __init__(self, data: EncodedData, model_config: CVAEConfig | None, config: TrainConfig):
        self.inner = BatchedTrainer(data, model_config, [config])
        self.config, self.data = config, data
        self.device = self.inner.device
        self.history: list[dict] = self.inner.histories[0]

    @property
    def epoch(self) -> int:
        return self.inner.epoch

    @property
    def splits(self) -> dict:
        return self.inner.splits

    @property
    def model(self) -> BatchedCVAE:
        return self.inner.model

    def train_epoch(self) -> dict:
        return self.inner.train_epoch()[0]

    def validate(self) -> dict:
        return self.inner.validate()[0]

    @torch.no_grad()
    def latent(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """The plane coordinates of every example of a split, and their labels."""
        x, _, e = self.splits[split]
        mu, _ = self.inner.model.encode(x[None], e[None])
        return mu[0, :, :2].float().cpu().numpy(), e.cpu().numpy()

    def trained_model(self, full: bool = False) -> TrainedModel:
        return self.inner.trained_models(full)[0]

    def save(self, path) -> Path:
        return self.trained_model(full=True).save(path)

    def restore(self, ckpt: TrainedModel) -> None:
        st = ckpt.state
        if st.names != list(self.data.names) or ckpt.vocab != self.data.vocab:
            raise EmovaeError("cannot resume: the data set differs from the one this run was trained on")
        self.inner.restore([ckpt])
        self.history = self.inner.histories[0]
