"""The batched trainer (:class:`BatchedTrainer`): K models, one optimizer over their stacked
weights, the data on the device once; one step, one epoch, the held-out pass, D per model, and
the divergence stop of each run. Its checkpoints are :mod:`~emovae.batched.checkpoints`'.

On CUDA one training step (forward, backward, optimizer) is captured as a CUDA graph (one for
the full batch, one for a shorter last batch) and replayed: no kernel launches from Python and
no host synchronisation inside an epoch (the epoch's figures are read once, at its end). The
batches and the noise are copied into the graph's input buffers before each replay. The K GRUs
run as :func:`emovae.gru.stacked_gru` (two launches per step, the gates in one Triton kernel):
32 runs of the paper configuration train at about 100 epochs/s in all on an H100 with TF32
products (``benchmarks/train_gpu.py``).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import resolve_device
from ..config import CVAEConfig, TrainConfig
from ..emotions import quadrant_of_point
from ..errors import EmovaeError
from ..gru import gate_kernels
from ..losses import recipe_terms, recipe_total
from ..model import CVAE
from ..training.data import EncodedData
from ..training.divergence import diverged_message, non_finite
from ..training.loss import _example_sums, loss_settings
from ..training.optim import KerasRMSprop
from ..training.seeding import heldout_rng, run_rngs, seed_weights
from .checkpoints import BatchedCheckpoints
from .model import SHARED, BatchedCVAE, group_key

__all__ = ["BatchedTrainer"]


def _quadrant_recall(mu: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the four emotions of the share of points in their quadrant (percent), per
    model: mu (K, N, L), labels (N,) -> (K,). The >= 0 rule of :func:`emovae.emotions.quadrant_of_point`."""
    quadrant = quadrant_of_point(mu[..., 0], mu[..., 1])
    hit = (quadrant == labels).float()
    per = [hit[:, labels == e].mean(dim=1) for e in range(4) if bool((labels == e).any())]
    return 100 * torch.stack(per, dim=1).mean(dim=1)


class BatchedTrainer(BatchedCheckpoints):
    """K models, one optimizer over their stacked weights, the data on the device once.

    ``graphs``: capture the training step as CUDA graphs ("auto": on CUDA; False: eager).
    ``rnn``: "loop" (the K GRUs step by step, :func:`emovae.gru.stacked_gru`: a batched product
    and one gate pass per step), "fused" (PyTorch's fused GRU, cuDNN on CUDA, once per model)
    or "auto": "loop", except for one model on CUDA without Triton's gate kernels, where cuDNN
    is faster (with them, one run of the paper configuration took 0.075 s/epoch against
    cuDNN's 0.081 on an H100)."""

    def __init__(
        self,
        data: EncodedData,
        model_config: CVAEConfig | None,
        configs: list[TrainConfig],
        graphs: bool | str = "auto",
        rnn: str = "auto",
    ):
        if not configs:
            raise EmovaeError("train_batched needs at least one training configuration")
        model_config = dataclasses.replace(model_config or CVAEConfig(), vocab_size=data.vocab.size)
        keys = {group_key(model_config, c)[1] for c in configs}
        if len(keys) > 1:
            raise EmovaeError(f"models trained together must share {', '.join(SHARED)}")
        self.configs, self.data, self.model_config = list(configs), data, model_config
        first = configs[0]
        self.device = resolve_device(first.device)
        nets = []
        for c in configs:  # each model initialised exactly as a separate run initialises it
            seed_weights(c.seed)
            nets.append(CVAE(model_config))
        if rnn == "auto":
            alone_on_cuda = self.device.type == "cuda" and len(configs) == 1
            rnn = "fused" if alone_on_cuda and gate_kernels(self.device) != "triton" else "loop"
        self.model = BatchedCVAE(nets, rnn=rnn).to(self.device)
        self.optimizer = KerasRMSprop(
            self.model.parameters(), lr=first.lr, rho=first.rho, eps=first.eps, weight_decay=first.weight_decay
        )
        for p in self.model.parameters():  # the optimizer state exists from the start (graph capture)
            self.optimizer.state[p]["v"] = torch.zeros_like(p)
        self.shuffle_rngs, self.noise_rngs = (list(r) for r in zip(*(run_rngs(c.seed, self.device) for c in configs)))
        self.epoch = 0
        self.histories: list[list[dict]] = [[] for _ in configs]
        idx = torch.as_tensor(data.indices, dtype=torch.long, device=self.device)
        lab = torch.as_tensor(data.labels, dtype=torch.long, device=self.device)
        onehot = F.one_hot(idx, data.vocab.size).float()
        self.splits = {}
        for name, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
            rows = torch.as_tensor(np.asarray(rows), dtype=torch.long, device=self.device)
            self.splits[name] = (onehot[rows], idx[rows], lab[rows])
        self.use_graphs = (self.device.type == "cuda") if graphs == "auto" else bool(graphs)
        if self.use_graphs and self.device.type != "cuda":
            raise EmovaeError("CUDA graphs need a CUDA device")
        self._graphs: dict[int, tuple] = {}
        self._pool = None
        # loss settings and the epoch's sums in fixed tensors (a CUDA graph reads and adds
        # into them where it was captured); the settings are refreshed at each epoch
        self._settings = loss_settings(self.configs, 0, self.device)
        self._sums = {k: torch.zeros(self.k, device=self.device) for k in ("recon", "kld", "emo_a", "emo_v", "loss")}
        # diverged runs (check_finite): stopped at their last finite weights, their loss masked
        self.diverged: dict[int, str] = {}  # run -> the line saying where and why it diverged
        self.stopped_at: dict[int, int] = {}  # run -> its last finite epoch
        self._active = torch.ones(self.k, device=self.device)  # 1: training, 0: stopped (read by the graphs)
        self._finite = self._snapshot()  # every model's weights at its last finite epoch

    @property
    def k(self) -> int:
        return len(self.configs)

    # -- one step --------------------------------------------------------------------------
    def _inputs(self, b: int) -> dict:
        """Buffers for a batch of ``b`` examples per model."""
        K, c = self.k, self.model_config
        x = self.splits["train"][0]
        return {
            "x": x.new_zeros(K, b, *x.shape[1:]),
            "y": torch.zeros(K, b, c.n_steps, dtype=torch.long, device=self.device),
            "e": torch.zeros(K, b, dtype=torch.long, device=self.device),
            "eps": torch.zeros(K, b, c.latent, device=self.device),
        }

    def _fill(self, buf: dict, rows: torch.Tensor) -> None:
        x, y, e = self.splits["train"]
        b = rows.shape[1]
        buf["x"].copy_(x[rows])
        buf["y"].copy_(y[rows])
        buf["e"].copy_(e[rows])
        noise = [torch.randn((b, self.model_config.latent), generator=g, device=self.device) for g in self.noise_rngs]
        buf["eps"].copy_(torch.stack(noise))

    def _step(self, buf: dict, settings: dict, sums: dict) -> None:
        logits, mu, logvar, z = self.model(buf["x"], buf["e"], buf["eps"])
        terms = recipe_terms(logits, buf["y"], mu, logvar, z, buf["e"], **settings["terms"])
        loss = recipe_total(terms, **settings["weights"]) * self._active  # a stopped run: no gradient
        self.optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.optimizer.step()
        terms["loss"] = loss
        for k, v in _example_sums(terms, buf["e"].shape[1], self.configs[0].reduction).items():
            sums[k].add_(v)  # in place: a CUDA graph adds into the same buffers at every replay

    def _graph(self, b: int):
        """The captured step for batches of ``b`` (captured on first use; weights, optimizer
        state and sums are put back after the warm-up, so capturing changes nothing)."""
        if b in self._graphs:
            return self._graphs[b]
        settings, sums = self._settings, self._sums
        buf = self._inputs(b)
        params = list(self.model.parameters())
        saved = [p.detach().clone() for p in params]
        saved_v = [self.optimizer.state[p]["v"].clone() for p in params]
        saved_sums = {k: v.clone() for k, v in sums.items()}
        try:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self._step(buf, settings, sums)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            self.optimizer.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph, pool=self._pool):
                self._step(buf, settings, sums)
            self._pool = graph.pool()
        finally:  # captured or not, the weights, optimizer state and sums are as they were
            torch.cuda.synchronize()
            with torch.no_grad():
                for p, s, sv in zip(params, saved, saved_v):
                    p.copy_(s)
                    self.optimizer.state[p]["v"].copy_(sv)
                for k in sums:
                    sums[k].copy_(saved_sums[k])
        self._graphs[b] = (graph, buf)
        return self._graphs[b]

    # -- one epoch -------------------------------------------------------------------------
    def train_epoch(self) -> list[dict]:
        """One pass of every model over its own shuffle of the training split; returns one
        row per model (per-example means of the terms, as :meth:`Trainer.train_epoch`)."""
        cfg = self.configs[0]
        n = len(self.splits["train"][2])
        order = torch.stack([torch.randperm(n, generator=g) for g in self.shuffle_rngs]).to(self.device)
        settings = self._settings
        fresh = loss_settings(self.configs, self.epoch, self.device)
        for part in ("terms", "weights"):
            for name, value in fresh[part].items():
                if isinstance(value, torch.Tensor):
                    settings[part][name].copy_(value)
        sums = self._sums
        for v in sums.values():
            v.zero_()
        n_batches = 0
        for start in range(0, n, cfg.batch_size):
            rows = order[:, start : start + cfg.batch_size]
            graph = None
            if self.use_graphs:
                try:
                    graph, buf = self._graph(rows.shape[1])
                except RuntimeError as exc:  # a capture this torch or driver refuses: run eagerly
                    warnings.warn(
                        f"CUDA graph capture failed ({str(exc).splitlines()[0]}); training eagerly", stacklevel=2
                    )
                    self.use_graphs = False
            if graph is not None:
                self._fill(buf, rows)
                graph.replay()
            else:
                buf = self._inputs(rows.shape[1])
                self._fill(buf, rows)
                self._step(buf, settings, sums)
            n_batches += 1
        self.epoch += 1
        values = {k: v.cpu() for k, v in sums.items()}  # the epoch's one synchronisation
        return [{k: float(v[i]) / (n_batches if k == "loss" else n) for k, v in values.items()} for i in range(self.k)]

    @torch.no_grad()
    def validate(self) -> list[dict]:
        """Held-out L_R and L_KLD per model, z sampled as :meth:`Trainer.validate` samples it."""
        x, y, e = self.splits["heldout"]
        n = len(e)
        if n == 0:
            return [{} for _ in range(self.k)]
        K = self.k
        eps = torch.stack(
            [
                torch.randn(
                    (n, self.model_config.latent),
                    generator=heldout_rng(c.seed, self.epoch, self.device),
                    device=self.device,
                )
                for c in self.configs
            ]
        )
        ex = e.expand(K, n)
        logits, mu, logvar, z = self.model(x.expand(K, *x.shape), ex, eps)
        terms = recipe_terms(logits, y.expand(K, *y.shape), mu, logvar, z, ex, reduction="mean")
        recon, kld = terms["recon"].cpu(), terms["kld"].cpu()
        return [{"val_recon": float(recon[i]), "val_kld": float(kld[i])} for i in range(K)]

    @torch.no_grad()
    def quadrant_recall(self, split: str = "train") -> list[float]:
        """D (mean recall, percent) of each model's mu on a split."""
        x, _, e = self.splits[split]
        if len(e) == 0:
            return [float("nan")] * self.k
        mu, _ = self.model.encode(x.expand(self.k, *x.shape), e.expand(self.k, len(e)))
        return [float(v) for v in _quadrant_recall(mu[..., :2], e).cpu()]

    # -- divergence ------------------------------------------------------------------------
    @torch.no_grad()
    def _snapshot(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.model.parameters()]

    @torch.no_grad()
    def check_finite(self, rows: list[dict]) -> dict[int, str]:
        """After an epoch (its ``rows``, one per model): stop each run that has just diverged
        (a row figure or a weight not finite) at its last finite weights, and return those runs
        with what was not finite ({run: "loss nan"}). Stopped runs are put back to their last
        finite weights (and a zero optimizer state) after every epoch, whatever the step did to
        them."""
        params = list(self.model.parameters())
        finite = torch.stack([torch.isfinite(p.reshape(self.k, -1)).all(dim=1) for p in params]).all(dim=0).cpu()
        new = {}
        for i, row in enumerate(rows):
            if i not in self.diverged:
                what = non_finite(row, bool(finite[i]))
                if what is not None:
                    new[i] = what
        for i, what in new.items():
            self.diverged[i] = diverged_message(self.epoch, what, self.configs[i].lr, flag="lr")
            self.stopped_at[i] = self.epoch - 1
            self._active[i] = 0.0
        if self.diverged:
            stopped = torch.as_tensor(sorted(self.diverged), device=self.device)
            for p, last in zip(params, self._finite):
                p[stopped] = last[stopped]
                self.optimizer.state[p]["v"][stopped] = 0.0
        for p, last in zip(params, self._finite):
            last.copy_(p)
        return new
