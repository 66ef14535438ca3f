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

On CUDA one training step (forward, backward, optimizer) is captured as a CUDA graph (one for
the full batch, one for a shorter last batch) and replayed: no kernel launches from Python and
no host synchronisation inside an epoch (the epoch's figures are read once, at its end). The
batches and the noise are copied into the graph's input buffers before each replay. The K GRUs
run as :func:`emovae.gru.stacked_gru` (two launches per step, the gates in one Triton kernel):
32 runs of the paper configuration train at about 100 epochs/s in all on an H100 with TF32
products (``benchmarks/train_gpu.py``).

A run that diverges (its epoch figures or its weights no longer finite, as
:func:`emovae.training.train` judges it) stops alone and the others go on: its weights go back to
those of its last finite epoch and stay there (its loss is masked to 0, so it gets no gradient),
its checkpoint is no longer written (its folder keeps its last finite one), its history ends at
that epoch, one :class:`~emovae.errors.EmovaeWarning` line says what happened, and the model
:func:`train_batched` hands back for it is that last finite one, with ``diverged`` set to the line.
The models of K runs share no number, so a diverged run never changes the others' figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .atomic import check_output, stale_temporaries, write_text
from .checkpoint import TrainedModel, TrainingState, load_model, resolve_device
from .config import CVAEConfig, TrainConfig
from .emotions import quadrant_of_point
from .errors import EmovaeError, EmovaeWarning
from .gru import gate_kernels, stacked_gru
from .losses import recipe_terms, recipe_total
from .model import CVAE
from .training import (
    EncodedData,
    KerasRMSprop,
    _example_sums,
    diverged_message,
    fit_to_data,
    heldout_rng,
    loss_settings,
    non_finite,
    restore_noise,
    run_rngs,
    seed_weights,
)

__all__ = ["BatchedCVAE", "BatchedTrainer", "GraphTrainer", "group_key", "train_batched"]

# what models trained side by side must share (the rest of TrainConfig may differ per model)
SHARED = (
    "epochs",
    "batch_size",
    "lr",
    "rho",
    "eps",
    "weight_decay",
    "reduction",
    "split_seed",
    "heldout",
    "checkpoint_every",
    "validate",
    "device",
)


def group_key(model_config: CVAEConfig, config: TrainConfig) -> tuple:
    """Runs with equal keys can be trained together as one batched model."""
    return (tuple(sorted(model_config.to_dict().items())), tuple(getattr(config, k) for k in SHARED))


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """K linear layers at once: x (K, N, I), weight (K, O, I), bias (K, O) -> (K, N, O)."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


class BatchedCVAE(nn.Module):
    """K :class:`~emovae.model.CVAE` of one architecture as one module: each parameter stacked
    along a new leading axis, in the order of ``CVAE.parameters()``."""

    def __init__(self, nets: list[CVAE], rnn: str = "loop"):
        super().__init__()
        if not nets:
            raise EmovaeError("a batched model needs at least one model")
        if rnn not in ("loop", "fused"):
            raise EmovaeError(f"rnn {rnn!r} is not one of loop, fused")
        self.rnn = rnn  # how the GRUs run: see _gru
        self.config = nets[0].config
        self.names = [name for name, _ in nets[0].named_parameters()]
        self.register_buffer("eye", torch.eye(self.config.n_emotions), persistent=False)  # one-hot, no sync
        self.stacked = nn.ParameterList(
            [
                nn.Parameter(torch.stack([dict(n.named_parameters())[name].detach() for n in nets]))
                for name in self.names
            ]
        )

    @property
    def k(self) -> int:
        return self.stacked[0].shape[0]

    def p(self, name: str) -> torch.Tensor:
        return self.stacked[self.names.index(name)]

    def state_dicts(self) -> list[dict]:
        """One CVAE state_dict per model (copies on the CPU)."""
        return [{n: p[k].detach().cpu().clone() for n, p in zip(self.names, self.stacked)} for k in range(self.k)]

    def _gru(self, name: str, x: torch.Tensor, steps: int):
        """The GRU ``name`` of every model over ``x`` (K, B, T, I), or (K, B, I) fed at each of
        ``steps`` steps: states (K, B, T, H) and the last (K, B, H). ``rnn="loop"``: all K at
        once, a batched product per step; ``"fused"``: PyTorch's fused GRU kernel (cuDNN on
        CUDA: the whole sequence in one call) once per model."""
        w_ih, w_hh, b_ih, b_hh = (self.p(f"{name}.{n}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        K, B = x.shape[:2]
        if self.rnn == "loop":
            if x.dim() == 3:
                return stacked_gru(_linear(x, w_ih, b_ih), w_hh, b_hh, steps)
            gx = _linear(x.reshape(K, B * steps, -1), w_ih, b_ih).view(K, B, steps, -1)
            return stacked_gru(gx, w_hh, b_hh, steps)
        outs, last = [], []
        for k in range(K):
            xk = x[k] if x.dim() == 4 else x[k].unsqueeze(1).expand(B, steps, x.shape[-1]).contiguous()
            h0 = xk.new_zeros(1, B, w_hh.shape[-1])
            with warnings.catch_warnings():  # cuDNN copies the 4 weight slices into one chunk: intended
                warnings.filterwarnings("ignore", message=".*single contiguous chunk", category=UserWarning)
                out, h = torch._VF.gru(xk, h0, [w_ih[k], w_hh[k], b_ih[k], b_hh[k]], True, 1, 0.0, True, False, True)
            outs.append(out)
            last.append(h[0])
        return torch.stack(outs), torch.stack(last)

    def encode(self, x: torch.Tensor, emotion: torch.Tensor):
        """x (K, B, T, V) one-hot, emotion (K, B) -> mu, logvar (K, B, L)."""
        c, p = self.config, self.p
        K, B, T, _ = x.shape
        if c.encoder_condition:
            e = self.eye[emotion]
            cond = _linear(e, p("cond.weight"), p("cond.bias")).view(K, B, T, c.cond_features)
            x = torch.cat([x, cond], dim=-1)
        _, h = self._gru("enc_gru", x, T)
        h = F.relu(_linear(h, p("enc_dense.weight"), p("enc_dense.bias")))
        return _linear(h, p("to_mu.weight"), p("to_mu.bias")), _linear(h, p("to_logvar.weight"), p("to_logvar.bias"))

    def decode(self, z: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """z (K, B, L), emotion (K, B) -> logits (K, B, T, V)."""
        c, p = self.config, self.p
        K, B = z.shape[:2]
        inp = torch.cat([z, self.eye[emotion]], dim=-1)
        seq, _ = self._gru("dec_gru", inp, c.n_steps)
        return _linear(seq.reshape(K, B * c.n_steps, -1), p("out.weight"), p("out.bias")).view(K, B, c.n_steps, -1)

    def forward(self, x, emotion, eps):
        """Encode, z = mu + exp(logvar / 2) * eps, decode: logits, mu, logvar, z."""
        mu, logvar = self.encode(x, emotion)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z, emotion), mu, logvar, z


def _quadrant_recall(mu: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the four emotions of the share of points in their quadrant (percent), per
    model: mu (K, N, L), labels (N,) -> (K,). The >= 0 rule of :func:`emovae.emotions.quadrant_of_point`."""
    quadrant = quadrant_of_point(mu[..., 0], mu[..., 1])
    hit = (quadrant == labels).float()
    per = [hit[:, labels == e].mean(dim=1) for e in range(4) if bool((labels == e).any())]
    return 100 * torch.stack(per, dim=1).mean(dim=1)


class BatchedTrainer:
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

    # -- checkpoints -----------------------------------------------------------------------
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


def train_batched(
    data: EncodedData,
    configs: list[TrainConfig],
    out_dirs: list | None = None,
    *,
    model_config: CVAEConfig | None = None,
    track_every: int = 10,
    graphs: bool | str = "auto",
    rnn: str = "auto",
    progress: bool = True,
) -> list[TrainedModel]:
    """Train K models side by side (one per configuration) and return them.

    ``out_dirs`` (one folder per model) receive each model's ``checkpoint.pt`` and
    ``history.json`` every ``checkpoint_every`` epochs; where all K hold checkpoints of one
    epoch the runs continue from there. Every ``track_every`` epochs each history row gains
    ``d_train`` and ``d_heldout`` (D as the mean recall, percent). A run that diverges stops
    alone, with one EmovaeWarning line; its model is handed back as at its last finite epoch,
    with ``diverged`` set (module doc)."""
    dirs = [check_output(d, "folder", what="run folder") for d in out_dirs] if out_dirs else None
    if dirs is not None and len(dirs) != len(configs):
        raise EmovaeError(f"{len(configs)} configurations but {len(dirs)} run folders")
    trainer = BatchedTrainer(data, model_config, configs, graphs=graphs, rnn=rnn)
    if dirs:
        for d in dirs:
            for leftover in stale_temporaries(d):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        existing = [d / "checkpoint.pt" for d in dirs if (d / "checkpoint.pt").exists()]
        if existing:
            if len(existing) != len(dirs):
                raise EmovaeError(f"{existing[0].parent}: holds a run while others of its group do not; cannot resume")
            trainer.restore([load_model(p) for p in existing])
    saved = trainer.epoch if dirs and existing else None  # the epoch the run folders' checkpoints hold
    cfg = configs[0]
    bar = tqdm(
        range(trainer.epoch, cfg.epochs),
        initial=trainer.epoch,
        total=cfg.epochs,
        desc=f"train x{len(configs)}",
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    for _ in bar:
        t0 = time.perf_counter()
        rows = trainer.train_epoch()
        if cfg.validate:
            for row, val in zip(rows, trainer.validate()):
                row.update(val)
        for i in trainer.check_finite(rows):
            where = dirs[i] if dirs else f"run {i + 1} of {len(configs)}"
            kept = ""
            if dirs:
                kept = (
                    f"; {dirs[i] / 'checkpoint.pt'} keeps epoch {saved}"
                    if saved is not None
                    else "; no checkpoint written"
                )
            warnings.warn(
                f"{where}: {trainer.diverged[i]}; this run stopped, the others go on{kept}", EmovaeWarning, stacklevel=2
            )
        if len(trainer.diverged) == trainer.k:  # nothing left to train
            bar.close()
            break
        epoch = trainer.epoch
        if track_every and (epoch % track_every == 0 or epoch == cfg.epochs):
            for split in ("train", "heldout"):
                for row, d in zip(rows, trainer.quadrant_recall(split)):
                    row[f"d_{split}"] = {"mean_recall": d}
        seconds = (time.perf_counter() - t0) / len(rows)
        for i, (history, row) in enumerate(zip(trainer.histories, rows)):
            if i not in trainer.diverged:  # a stopped run's history ends at its last finite epoch
                history.append({"epoch": epoch, **row, "seconds": seconds})
        if dirs and (epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs):
            trainer.save(dirs)
            saved = epoch
    return trainer.trained_models(full=False)
