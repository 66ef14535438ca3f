"""The checkpoints of a batched run: each of the K models as an ordinary
:class:`~emovae.checkpoint.TrainedModel` (loadable and resumable by
:func:`emovae.training.train`), saved to its own run folder, and K such checkpoints restored
into one :class:`~emovae.batched.BatchedTrainer` (:class:`BatchedCheckpoints`, its checkpoint
half).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_text
from ..checkpoint import TrainedModel, TrainingState
from ..errors import EmovaeError
from ..model import CVAE
from ..training.data import fit_to_data
from ..training.seeding import restore_noise

__all__ = ["BatchedCheckpoints"]


class BatchedCheckpoints:
    """The checkpoint methods of :class:`~emovae.batched.BatchedTrainer` (its base class): they
    read and write its models, optimizer state, RNGs and histories."""

    def trained_models(self, full: bool = True) -> list[TrainedModel]:
        """Each model as an ordinary :class:`TrainedModel` (CPU weights), with optimizer and
        RNG states when ``full`` (then :func:`emovae.training.train` can resume it)."""
        out = []
        states = self.model.state_dicts()
        for i, (c, sd) in enumerate(zip(self.configs, states)):
            net = CVAE(self.model_config, init=False)
            net.load_state_dict(sd)
            state = TrainingState(
                names=list(self.data.names),
                train_idx=np.asarray(self.data.train_idx).tolist(),
                heldout_idx=np.asarray(self.data.heldout_idx).tolist(),
            )
            if full:
                opt = {
                    "state": {
                        j: {"v": self.optimizer.state[p]["v"][i].detach().cpu().clone()}
                        for j, p in enumerate(self.model.parameters())
                    },
                    "param_groups": [
                        {
                            "lr": c.lr,
                            "rho": c.rho,
                            "eps": c.eps,
                            "weight_decay": c.weight_decay,
                            "params": list(range(len(self.model.names))),
                        }
                    ],
                }
                state = dataclasses.replace(
                    state,
                    optimizer=opt,
                    shuffle_rng=self.shuffle_rngs[i].get_state(),
                    noise_rng=self.noise_rngs[i].get_state(),
                    noise_device=self.device.type,
                )
            epoch = self.stopped_at.get(i, self.epoch)
            model = TrainedModel(net, self.data.vocab, c, epoch=epoch, history=self.histories[i], state=state)
            model.diverged = self.diverged.get(i)
            out.append(fit_to_data(model, self.data))
        return out

    def save(self, out_dirs: list[Path]) -> None:
        """Each run's checkpoint and history, except those of diverged runs (their folders keep
        their last finite ones)."""
        for i, (model, out) in enumerate(zip(self.trained_models(full=True), out_dirs)):
            if i in self.diverged:
                continue
            model.save(out / "checkpoint.pt")
            write_text(out / "history.json", json.dumps(model.history, indent=1))

    def restore(self, models: list[TrainedModel]) -> None:
        """Continue from K checkpoints saved at one epoch."""
        epochs = {m.epoch for m in models}
        if len(epochs) != 1:
            raise EmovaeError(f"cannot resume models saved at different epochs together: {sorted(epochs)}")
        with torch.no_grad():
            for i, m in enumerate(models):
                if m.state.optimizer is None:
                    raise EmovaeError(f"{m.path}: a model-only checkpoint (no optimizer state); it cannot be resumed")
                sd = m.net.state_dict()
                for j, (name, p) in enumerate(zip(self.model.names, self.model.parameters())):
                    p[i].copy_(sd[name])
                    self.optimizer.state[p]["v"][i].copy_(m.state.optimizer["state"][j]["v"])
                self.shuffle_rngs[i].set_state(m.state.shuffle_rng)
                restore_noise(self.noise_rngs[i], m.state, m.train_config.seed, m.epoch)
                self.histories[i] = list(m.history)
            self._finite = self._snapshot()
        self.epoch = epochs.pop()
