"""Training: the authors' configuration, readable top to bottom.

RMSprop as Keras defines it (v = rho v + (1 - rho) g^2, w -= lr g / sqrt(v + eps), epsilon inside
the root), lr 0.001, batch 16, 700 epochs, the training split shuffled every epoch. After every
epoch a held-out pass (L_R + L_KLD) as the authors' ``model.fit(validation_data=...)`` does.
Checkpoints carry configs, vocabulary, optimizer and RNG states; they are written atomically, and
``resume=True`` continues a stopped run exactly where its last checkpoint left it.

Anything done per epoch beyond that (quadrant accuracies, latent pictures) is a callback passed
in by the caller (minGPT's ``on_epoch_end``), so this module imports nothing above it: see
:class:`Callback` and :class:`emovae.evaluate.QuadrantLog`.

Interruptions. Every file of a run (``checkpoint.pt``, ``history.json``, the latent pictures)
is written atomically, so a run killed at any moment (even by SIGKILL) leaves its last
checkpoint whole, and ``resume=True`` from it reaches the very weights and optimizer state an
uninterrupted run reaches (same seed, same machine); temporary files a killed write left are
removed when the run starts again. Ctrl-C (SIGINT, in the main thread) lets the epoch under way
finish, saves a checkpoint and raises :class:`~emovae.errors.TrainingInterrupted` (a
KeyboardInterrupt that says where the run was saved); a second Ctrl-C stops at once, leaving the
last checkpoint written.

Divergence. A run whose epoch figures (the loss, its terms, the held-out pass) or weights are no
longer finite numbers has diverged: it stops at the end of that epoch, before any callback, with
one :class:`~emovae.errors.EmovaeError` line that names the epoch and the figure and says what to
change ("training diverged at epoch 3 (loss nan): lower --lr (now 0.05) ..."). Nothing of that
epoch is written, so the run folder keeps its last finite checkpoint (or none); a non-finite
checkpoint is never written, and :func:`emovae.checkpoint.load_model` refuses one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from . import data as data_mod
from .atomic import check_output, stale_temporaries, write_text
from .checkpoint import TrainedModel, TrainingState, load_model, resolve_device
from .config import CVAEConfig, TrainConfig
from .corpus import resolve_data_root
from .emotions import LABELS, NAMES
from .errors import EmovaeError, EmovaeWarning, TrainingDiverged, TrainingInterrupted
from .gru import fused_rmsprop
from .losses import recipe_terms, recipe_total
from .model import CVAE

__all__ = [
    "Callback",
    "EarlyStopping",
    "EncodedData",
    "KerasRMSprop",
    "Trainer",
    "encode_dataset",
    "fastest_trainer",
    "loss_settings",
    "resumed_config",
    "train",
]


class Callback(Protocol):
    """Called after every epoch, before the epoch's history row is stored and checkpointed.

    ``row`` is the epoch's history row (losses, seconds); a callback may add entries to it
    (they are saved with the history)."""

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None: ...


class EarlyStopping:
    """Stop training when a history entry has not improved for ``patience`` epochs that report
    it (Prechelt, "Early stopping - but when?", 1998; Keras' ``EarlyStopping`` without weight
    restoring). ``key`` names a row entry, dotted for a nested one: "val_recon" (held-out L_R,
    every epoch with ``validate``) or "d_heldout.mean_recall" (held-out D, on the epochs a D
    callback placed before this one reports it). ``mode`` "min" or "max" says which way is
    better; an improvement must beat the best by more than ``min_delta``. The run stops with a
    checkpoint at that epoch and ``row["early_stop"]`` set; ``best_epoch`` is kept here."""

    def __init__(self, key: str = "val_recon", *, mode: str = "min", patience: int = 20, min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise EmovaeError(f"early stopping mode {mode!r}: use min or max")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise EmovaeError(f"early stopping patience {patience!r}: a whole number of epochs >= 1 is needed")
        self.key, self.mode, self.patience, self.min_delta = key, mode, patience, float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.waited = 0

    def _value(self, row: dict) -> float | None:
        value = row
        for part in self.key.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return float(value)

    def on_epoch_end(self, trainer, row: dict) -> None:
        value = self._value(row)
        if value is None or not math.isfinite(value):
            return
        better = self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.waited = value, row["epoch"], 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            row["early_stop"] = {"key": self.key, "best": self.best, "best_epoch": self.best_epoch}
            trainer.stop_requested = True


class KerasRMSprop(torch.optim.Optimizer):
    """RMSprop exactly as Keras 3 defines it: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).

    (PyTorch's RMSprop puts eps outside the root, sqrt(v) + eps, with other defaults.)
    ``weight_decay`` > 0 first shrinks every weight, w -= lr * weight_decay * w (decoupled, as
    AdamW does: Loshchilov & Hutter, 2019).

    On the CPU (float32) a step is one C++ pass over each tensor (:func:`emovae.gru.fused_rmsprop`)
    instead of the five foreach passes that run elsewhere. Both round alike except the square
    root: the C++ one is IEEE's correctly rounded root, ATen's may be 1 ulp off."""

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            vs = []
            for p in params:
                state = self.state[p]
                if "v" not in state:
                    state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                vs.append(state["v"])
            decay = 1.0 - group["lr"] * group["weight_decay"] if group.get("weight_decay", 0.0) else 1.0
            if fused_rmsprop(params, grads, vs, lr=group["lr"], rho=group["rho"], eps=group["eps"], decay=decay):
                continue  # the same step in one C++ pass over each tensor (CPU float32)
            if decay != 1.0:
                torch._foreach_mul_(params, decay)
            torch._foreach_mul_(vs, group["rho"])
            torch._foreach_addcmul_(vs, grads, grads, value=1 - group["rho"])
            denom = torch._foreach_add(vs, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])


@dataclass
class EncodedData:
    """The data set encoded once per run: vocabulary indices, labels and the split."""

    vocab: data_mod.Vocabulary
    indices: np.ndarray  # (N, 64) int64 vocabulary indices
    labels: np.ndarray  # (N,) int64 0..3
    names: list = field(default_factory=list)  # "e1/file.mid" per example
    train_idx: np.ndarray = None
    heldout_idx: np.ndarray = None

    @functools.cached_property
    def melody_hashes(self) -> frozenset:
        """:func:`emovae.data.token_hash` of every melody (the copy guard's), computed once."""
        return frozenset(data_mod.token_hash(t) for t in self.vocab.decode(self.indices))


def encode_dataset(
    root,
    *,
    vocab: data_mod.Vocabulary | None = None,
    split_seed: int = 42,
    heldout: float = 0.2,
    vocab_owner: str = "model",
) -> EncodedData:
    """Read and encode every file once. The vocabulary is built from the whole data set (the
    authors build it before the split) unless one is given (a trained model's: then a pitch it
    lacks is an error that says so)."""
    ds = data_mod.load_dataset(root)
    if vocab is None:
        vocab = data_mod.Vocabulary.build(ds.tokens)
    else:
        vocab.check_covers(ds.tokens, where=f"{vocab_owner} and data set {root}")
    names = [f"{Path(p).parent.name}/{Path(p).name}" for p in ds.paths]
    train_idx, heldout_idx = data_mod.split(ds.labels, test_size=heldout, seed=split_seed)
    return EncodedData(vocab, vocab.encode(ds.tokens), ds.labels, names, train_idx, heldout_idx)


# -- the seeding scheme of a run: Trainer and the batched trainer both use it, so that K runs side
# by side start, shuffle and draw noise exactly as K single runs do (tests/test_batched.py)
def seed_weights(seed: int) -> None:
    """Seeds torch's global RNG for building a model's initial weights (``CVAE`` right after)."""
    torch.manual_seed(seed)


def run_rngs(seed: int, device) -> tuple[torch.Generator, torch.Generator]:
    """A run's two generators: the shuffles (CPU, ``seed + 1``) and the sampling noise (on
    ``device``, ``seed + 2``)."""
    return torch.Generator().manual_seed(seed + 1), torch.Generator(device).manual_seed(seed + 2)


def heldout_rng(seed: int, epoch: int, device) -> torch.Generator:
    """The noise of the held-out pass after ``epoch`` epochs: the same whatever came before."""
    return torch.Generator(device).manual_seed(seed * 100_003 + epoch)


def restore_noise(noise: torch.Generator, state: TrainingState, seed: int, epoch: int) -> None:
    """A resumed run's noise generator: the stored state where it was saved on this device type;
    a CPU state does not fit a CUDA generator (nor the reverse), so then a deterministic reseed."""
    if state.noise_device == noise.device.type:
        noise.set_state(state.noise_rng)
    else:
        noise.manual_seed(seed + 2 + 7919 * epoch)


# -- the trainer for the device -------------------------------------------------------------
def fastest_trainer(config: TrainConfig):
    """The trainer factory :func:`train` uses when given none: on CUDA with fp32 or bf16-grad
    products :class:`emovae.batched.GraphTrainer` (each step a CUDA graph), elsewhere
    :class:`Trainer`. The one place that picks the fast path."""
    if config.precision in ("fp32", "bf16-grad") and resolve_device(config.device).type == "cuda":
        from .batched import GraphTrainer  # the layer beside this one (pyproject.toml)

        return GraphTrainer
    return Trainer


# -- resume: what a continued run keeps ------------------------------------------------------
RESUME_APPLIES = ("epochs", "device")  # what a resumed run takes from its caller; all else is stored


def resumed_config(previous: TrainedModel, *, epochs: int | None = None, device: str | None = None) -> TrainConfig:
    """The training configuration a resumed run continues with: the stored run's own, with only
    ``epochs`` and ``device`` (:data:`RESUME_APPLIES`) taken from the caller where given."""
    stored = previous.train_config
    return dataclasses.replace(stored, epochs=epochs or stored.epochs, device=device or stored.device)


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


def loss_settings(configs: list[TrainConfig], epoch: int, device) -> dict:
    """The loss settings of K models (their training configurations) at the 0-based ``epoch``:
    ``{"terms": keyword arguments of recipe_terms, "weights": those of recipe_total}``, the
    per-model numbers as (K,) tensors on ``device`` (schedules evaluated for this epoch). The
    reduction must agree."""
    first = configs[0]
    for c in configs[1:]:
        if c.reduction != first.reduction:
            raise EmovaeError(f"models trained together must share reduction: {first.reduction!r} and {c.reduction!r}")
    for c in configs:
        if c.emotion_loss not in ("cosine", "hinge"):
            raise EmovaeError(f"emotion_loss {c.emotion_loss!r} is not one of cosine, hinge")
    one = len(configs) == 1

    def vec(values):
        return torch.tensor(values, dtype=torch.float32, device=device)

    ramps = [c.emotion_factor(epoch) for c in configs]
    return {
        "terms": {
            "reduction": first.reduction,
            # one model: the setting itself; several: a 0/1 switch per model
            "emotion_loss": first.emotion_loss if one else vec([c.emotion_loss == "hinge" for c in configs]),
            "margin": vec([c.margin for c in configs]),
            "emotion_on_z": first.emotion_on_z if one else vec([bool(c.emotion_on_z) for c in configs]),
            "free_bits": vec([c.free_bits for c in configs]) if any(c.free_bits > 0 for c in configs) else None,
        },
        "weights": {
            "kl_weight": vec([c.kl_factor(epoch) for c in configs]),
            "weight_arousal": vec([c.weight_arousal * r for c, r in zip(configs, ramps)]),
            "weight_valence": vec([c.weight_valence * r for c, r in zip(configs, ramps)]),
        },
    }


def _example_sums(terms: dict, batch: int, reduction: str) -> dict:
    """A batch's terms as sums over its examples ("loss" stays the batch objective): the form
    the epoch's figures are summed in, by :class:`Trainer` and by the batched trainer."""
    out = {}
    for k, v in terms.items():
        v = v.detach()
        if k == "recon":
            v = v if reduction == "sum" else v * batch
        elif k != "loss":
            v = v * batch
        out[k] = v
    return out


def _accumulate(sums: dict, terms: dict, batch: int, reduction: str) -> None:
    """Add a batch's terms as sums over examples (no device sync: tensors stay tensors)."""
    for k, v in _example_sums(terms, batch, reduction).items():
        sums[k] = sums[k] + v if k in sums else v


class _CtrlC:
    """While active (main thread only, and only where Ctrl-C has Python's default handler): the
    first SIGINT sets ``requested`` (the loop saves and stops after the epoch under way), a
    second raises KeyboardInterrupt at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self) -> _CtrlC:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def non_finite(row: dict, weights_finite: bool = True) -> str | None:
    """What is not finite in an epoch's figures (a history row: the loss first, then the other
    numbers in row order) or, with ``weights_finite`` False, its weights: "loss nan", "val_recon
    inf", "weights nan or inf"; None when all is finite."""
    for key in ("loss", *row):
        value = row.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} {value}"
    return None if weights_finite else "weights nan or inf"


@torch.no_grad()
def weights_finite(module: torch.nn.Module) -> bool:
    """True when every parameter of ``module`` is a finite number (one device synchronisation)."""
    flags = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


def diverged_message(epoch: int, what: str, lr: float, *, flag: str = "--lr") -> str:
    """The first part of the one line a diverged run stops with."""
    return f"training diverged at epoch {epoch} ({what}): lower {flag} (now {lr:g})"


def _warn_missing_emotions(data: EncodedData, where: str) -> None:
    """One warning when the data set lacks melodies of some emotion (a folder absent or empty)."""
    counts = np.bincount(np.asarray(data.labels, dtype=np.int64), minlength=4)
    missing = [f"{LABELS[e]} {NAMES[e]}" for e in range(4) if counts[e] == 0]
    if missing:
        have = ", ".join(f"{LABELS[e]} {NAMES[e]}" for e in range(4) if counts[e])
        warnings.warn(
            f"{where}: no melodies of {', '.join(missing)} (folder absent or empty); the model is "
            f"trained on {have} only and will not learn the emotion{'s' if len(missing) > 1 else ''} "
            "it never saw",
            EmovaeWarning,
            stacklevel=3,
        )


def fit_to_data(model: TrainedModel, data: EncodedData) -> TrainedModel:
    """Fit ``model``'s sampler to the codes of its training split and give it the hashes of the
    whole data set (the copy guard); a model whose codes are not finite keeps no sampler."""
    train = data.vocab.decode(data.indices[data.train_idx])
    try:
        model.fit_sampler(train, data.labels[data.train_idx], hashes=data.melody_hashes)
    except EmovaeError:
        model.sampler = None
    return model


def train(
    data_root=None,
    out_dir=None,
    *,
    model_config: CVAEConfig | None = None,
    config: TrainConfig | None = None,
    data: EncodedData | None = None,
    resume: bool = False,
    callbacks: list[Callback] = (),
    progress: bool = True,
    trainer_factory=None,
) -> TrainedModel:
    """Train a model and return it.

    ``out_dir`` receives ``checkpoint.pt`` (the latest training state) and ``history.json``.
    With ``resume=True`` the run in ``out_dir`` continues with its own stored configuration
    (:func:`resumed_config`: ``config.epochs`` may extend it, ``config.device`` move it; the rest
    of ``config`` and ``model_config`` are the stored run's). ``callbacks`` are called
    after every epoch (:class:`Callback`). ``out_dir`` is checked (a folder that can be
    written) before any work. Ctrl-C saves and raises :class:`TrainingInterrupted` (module doc).
    ``trainer_factory(data, model_config, config)`` builds the object that trains (default: the
    fastest for the device, :func:`fastest_trainer`; :class:`Trainer` and
    :class:`emovae.batched.GraphTrainer` share one interface)."""
    out = check_output(out_dir, "folder", what="run folder") if out_dir is not None else None
    ckpt_path = out / "checkpoint.pt" if out else None
    previous = None
    for leftover in stale_temporaries(out) if out else []:  # a write that SIGKILL cut short
        with contextlib.suppress(OSError):
            leftover.unlink()
    if out and ckpt_path.exists():
        if not resume:
            raise EmovaeError(
                f"{out}: holds a training run already; pass --resume to continue it or choose another --out"
            )
        previous = load_model(ckpt_path)
        config = resumed_config(previous, **({k: getattr(config, k) for k in RESUME_APPLIES} if config else {}))
        model_config = previous.model_config
    elif resume:
        raise EmovaeError(f"{out}: no checkpoint.pt to resume from")
    config = config or TrainConfig()
    if data is None:
        vocab = previous.vocab if previous else None
        root = resolve_data_root(data_root)
        data = encode_dataset(root, vocab=vocab, split_seed=config.split_seed, heldout=config.heldout)
        if not previous:
            _warn_missing_emotions(data, str(root))
    elif not previous:
        _warn_missing_emotions(data, "data set")
    trainer = (trainer_factory or fastest_trainer(config))(data, model_config, config)
    if previous:
        trainer.restore(previous)

    start = trainer.epoch
    saved = previous.epoch if previous else None  # the epoch the run folder's checkpoint holds
    bar = tqdm(
        range(start, config.epochs),
        initial=start,
        total=config.epochs,
        desc="train",
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    with _CtrlC() as ctrl_c:
        for _ in bar:
            t0 = time.perf_counter()
            row = {"epoch": trainer.epoch + 1, **trainer.train_epoch()}
            if config.validate:
                row.update(trainer.validate())
            row["seconds"] = time.perf_counter() - t0
            what = non_finite(row, weights_finite(trainer.model))
            if what is not None:  # diverged: nothing of this epoch is kept or written
                bar.close()
                kept = (
                    ""
                    if not out
                    else f"; {ckpt_path} keeps epoch {saved}"
                    if saved is not None
                    else "; no checkpoint was written"
                )
                raise TrainingDiverged(
                    f"{diverged_message(row['epoch'], what, config.lr)} and train again{kept}", row["epoch"], saved
                )
            for callback in callbacks:
                callback.on_epoch_end(trainer, row)
            trainer.history.append(row)
            bar.set_postfix(
                loss=f"{row['loss']:.1f}",
                recon=f"{row['recon']:.2f}",
                **({"D": f"{row['d_train']['mean_recall']:.0f}%"} if "d_train" in row else {}),
            )
            epoch = trainer.epoch
            stop = ctrl_c.requested and epoch < config.epochs
            early = getattr(trainer, "stop_requested", False)  # a callback's EarlyStopping
            if out and (stop or early or epoch % config.checkpoint_every == 0 or epoch == config.epochs):
                trainer.save(ckpt_path)
                write_text(out / "history.json", json.dumps(trainer.history, indent=1))
                saved = epoch
            if early:
                bar.close()
                break
            if stop:
                bar.close()
                raise TrainingInterrupted(epoch, ckpt_path)
    if out and start == config.epochs:  # nothing left to do: still hand back the stored run
        return previous
    return trainer.trained_model()
