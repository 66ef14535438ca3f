"""One run's trainer (:class:`Trainer`): the model, the optimizer, the encoded data on the device
and the RNGs; one epoch, the held-out pass, the latent plane, checkpoints and restoring them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import TrainedModel, TrainingState, resolve_device
from ..config import CVAEConfig, TrainConfig
from ..errors import EmovaeError
from ..losses import recipe_terms, recipe_total
from ..model import CVAE
from .data import EncodedData, fit_to_data
from .loss import _accumulate, loss_settings
from .optim import KerasRMSprop
from .seeding import heldout_rng, restore_noise, run_rngs, seed_weights

__all__ = ["Trainer"]


class Trainer:
    """Holds the model, the optimizer, the encoded data on the device and the RNGs."""

    def __init__(self, data: EncodedData, model_config: CVAEConfig | None = None, config: TrainConfig | None = None):
        self.config = config = config or TrainConfig()
        self.data = data
        self.device = resolve_device(config.device)
        model_config = dataclasses.replace(model_config or CVAEConfig(), vocab_size=data.vocab.size)
        seed_weights(config.seed)
        self.model = CVAE(model_config, precision=config.precision).to(self.device)
        self.optimizer = KerasRMSprop(
            self.model.parameters(), lr=config.lr, rho=config.rho, eps=config.eps, weight_decay=config.weight_decay
        )
        self.shuffle_rng, self.noise_rng = run_rngs(config.seed, self.device)
        self.epoch = 0
        self.history: list[dict] = []
        # tensors on the device, built once
        idx = torch.as_tensor(data.indices, dtype=torch.long, device=self.device)
        lab = torch.as_tensor(data.labels, dtype=torch.long, device=self.device)
        self.splits = {}  # (encoder input, targets, labels): the encoder reads the tokens themselves
        for name, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
            rows = torch.as_tensor(rows, dtype=torch.long, device=self.device)
            self.splits[name] = (idx[rows], idx[rows], lab[rows])

    # -- one epoch -------------------------------------------------------------------------
    def train_epoch(self) -> dict:
        """One pass over the shuffled training split; returns per-example means of the terms."""
        cfg, model = self.config, self.model
        x, y, e = self.splits["train"]
        n = len(e)
        order = torch.randperm(n, generator=self.shuffle_rng).to(self.device)
        model.train()
        settings = loss_settings([cfg], self.epoch, self.device)
        sums: dict[str, torch.Tensor] = {}
        n_batches = 0
        for start in range(0, n, cfg.batch_size):
            rows = order[start : start + cfg.batch_size]
            logits, mu, logvar, z = model.forward_z(x[rows], e[rows], generator=self.noise_rng)
            one = (t.unsqueeze(0) for t in (logits, y[rows], mu, logvar, z, e[rows]))
            terms = recipe_terms(*one, **settings["terms"])
            loss = recipe_total(terms, **settings["weights"])
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.optimizer.step()
            terms = {k: v[0] for k, v in terms.items()}
            terms["loss"] = loss[0]
            _accumulate(sums, terms, len(rows), cfg.reduction)
            n_batches += 1
        self.epoch += 1
        # per-example means of the terms; "loss" = the mean batch objective, as Keras reports it
        return {k: float(v) / (n_batches if k == "loss" else n) for k, v in sums.items()}

    @torch.no_grad()
    def validate(self) -> dict:
        """L_R and L_KLD on the held-out split (per-example means), z sampled as in training."""
        x, y, e = self.splits["heldout"]
        if len(e) == 0:
            return {}
        self.model.eval()
        gen = heldout_rng(self.config.seed, self.epoch, self.device)
        logits, mu, logvar, z = self.model.forward_z(x, e, generator=gen)
        terms = recipe_terms(*(t.unsqueeze(0) for t in (logits, y, mu, logvar, z, e)), reduction="mean")
        return {"val_recon": float(terms["recon"][0]), "val_kld": float(terms["kld"][0])}

    @torch.no_grad()
    def latent(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """The plane coordinates (the first two of mu) of every example of a split, and their labels."""
        x, _, e = self.splits[split]
        self.model.eval()
        mu, _ = self.model.encode(x, e)
        return mu[:, :2].float().cpu().numpy(), e.cpu().numpy()

    # -- checkpoints -----------------------------------------------------------------------
    def training_state(self, full: bool = True) -> TrainingState:
        """The split, and with ``full`` the optimizer and RNG states."""
        split = TrainingState(
            names=list(self.data.names),
            train_idx=self.data.train_idx.tolist(),
            heldout_idx=self.data.heldout_idx.tolist(),
        )
        if not full:
            return split
        return dataclasses.replace(
            split,
            optimizer=self.optimizer.state_dict(),
            shuffle_rng=self.shuffle_rng.get_state(),
            noise_rng=self.noise_rng.get_state(),
            noise_device=self.device.type,
        )

    def trained_model(self, full: bool = False) -> TrainedModel:
        """The model as it stands, with its settings and history, and the sampler fitted to its
        training codes (:func:`fit_to_data`)."""
        model = TrainedModel(
            self.model,
            self.data.vocab,
            self.config,
            epoch=self.epoch,
            history=self.history,
            state=self.training_state(full),
        )
        return fit_to_data(model, self.data)

    def save(self, path) -> Path:
        return self.trained_model(full=True).save(path)

    def restore(self, ckpt: TrainedModel) -> None:
        st = ckpt.state
        if st.names != list(self.data.names) or ckpt.vocab != self.data.vocab:
            raise EmovaeError("cannot resume: the data set differs from the one this run was trained on")
        if st.optimizer is None:
            raise EmovaeError(f"{ckpt.path}: a model-only checkpoint (no optimizer state); it cannot be resumed")
        self.model.load_state_dict(ckpt.net.state_dict())
        self.optimizer.load_state_dict(st.optimizer)
        self.shuffle_rng.set_state(st.shuffle_rng)
        restore_noise(self.noise_rng, st, self.config.seed, ckpt.epoch)
        self.epoch = ckpt.epoch
        self.history = list(ckpt.history)
