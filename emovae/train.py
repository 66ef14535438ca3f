"""Training: the authors' configuration, readable top to bottom.

RMSprop as Keras defines it (v = rho v + (1 - rho) g^2, w -= lr g / sqrt(v + eps), epsilon inside
the root), lr 0.001, batch 16, 700 epochs, the training split shuffled every epoch. After every
epoch a held-out pass (L_R + L_KLD) as the authors' ``model.fit(validation_data=...)`` does. Every
``log_every`` epochs: quadrant accuracies on both splits and a latent-plane picture. Checkpoints
carry configs, vocabulary, optimizer and RNG states; they are written atomically, and
``resume=True`` continues a stopped run exactly where its last checkpoint left it.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import data as data_mod
from .atomic import write_text
from .checkpoint import Checkpoint, check_vocabulary, load_checkpoint, save_checkpoint
from .errors import EmovaeError
from .evaluate import quadrant_accuracy
from .losses import cvae_loss
from .model import CVAE, CVAEConfig

MODELS = {  # the paper's two models: same network, with and without the emotion terms
    "emoreg": {"weight_arousal": 80.0, "weight_valence": 70.0},
    "base": {"weight_arousal": 0.0, "weight_valence": 0.0},
}


@dataclass
class TrainConfig:
    epochs: int = 700              # passes over the training split
    batch_size: int = 16           # examples per optimizer step
    lr: float = 1e-3               # RMSprop learning rate
    rho: float = 0.9               # RMSprop decay of the mean squared gradient (Keras default)
    eps: float = 1e-7              # RMSprop epsilon, inside the square root as in Keras
    weight_arousal: float = 80.0   # weight of L_EmoA; both weights 0 = CVAE-Base
    weight_valence: float = 70.0   # weight of L_EmoV
    reduction: str = "sum"         # L_R over the batch: "sum" (the authors') or "mean" (per example)
    seed: int = 33                 # initialisation, shuffling and sampling noise
    split_seed: int = 42           # the stratified train / held-out split
    heldout: float = 0.2           # share of each emotion held out
    log_every: int = 50            # epochs between quadrant accuracies and latent pictures
    checkpoint_every: int = 10     # epochs between checkpoints (also at each log and at the end)
    validate: bool = True          # held-out L_R + L_KLD after every epoch, as the authors do
    device: str = "auto"           # "auto" (CUDA when present), "cpu" or "cuda"
    precision: str = "fp32"        # GRU matrix products: "fp32" or "bf16"

    @classmethod
    def for_model(cls, model: str, **overrides) -> "TrainConfig":
        """The paper's configuration of 'emoreg' (CVAE-EmoReg) or 'base' (CVAE-Base)."""
        if model not in MODELS:
            raise EmovaeError(f"unknown model {model!r}: use one of {', '.join(MODELS)}")
        return cls(**{**MODELS[model], **overrides})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EmovaeError(f"device {name!r}: no CUDA GPU is available here (use --device auto or cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise EmovaeError(f"unknown device {name!r}: use auto, cpu or cuda") from None


class KerasRMSprop(torch.optim.Optimizer):
    """RMSprop exactly as Keras 3 defines it: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).

    (PyTorch's RMSprop puts eps outside the root, sqrt(v) + eps, with other defaults.)"""

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps})

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
            torch._foreach_mul_(vs, group["rho"])
            torch._foreach_addcmul_(vs, grads, grads, value=1 - group["rho"])
            denom = torch._foreach_add(vs, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])


@dataclass
class EncodedData:
    """The data set encoded once per run: vocabulary indices, labels and the split."""
    vocab: data_mod.Vocabulary
    indices: np.ndarray            # (N, 64) int64 vocabulary indices
    labels: np.ndarray             # (N,) int64 0..3
    names: list = field(default_factory=list)   # "e1/file.mid" per example
    train_idx: np.ndarray = None
    heldout_idx: np.ndarray = None


def encode_dataset(root, *, vocab: data_mod.Vocabulary | None = None, split_seed: int = 42,
                   heldout: float = 0.2) -> EncodedData:
    """Read and encode every file once. The vocabulary is built from the whole data set (the
    authors build it before the split) unless one is given (a trained model's: then a pitch it
    lacks is an error that says so)."""
    ds = data_mod.load_dataset(root)
    if vocab is None:
        vocab = data_mod.Vocabulary.build(ds.tokens)
    else:
        check_vocabulary(vocab, ds.tokens, where="model")
    names = [f"{Path(p).parent.name}/{Path(p).name}" for p in ds.paths]
    train_idx, heldout_idx = data_mod.split(ds.labels, test_size=heldout, seed=split_seed)
    return EncodedData(vocab, vocab.encode(ds.tokens), ds.labels, names, train_idx, heldout_idx)


class Trainer:
    """Holds the model, the optimizer, the encoded data on the device and the RNGs."""

    def __init__(self, data: EncodedData, model_config: CVAEConfig | None = None,
                 config: TrainConfig | None = None):
        self.config = config = config or TrainConfig()
        self.data = data
        self.device = resolve_device(config.device)
        model_config = model_config or CVAEConfig()
        model_config = dataclasses.replace(model_config, vocab_size=data.vocab.size, precision=config.precision)
        torch.manual_seed(config.seed)
        self.model = CVAE(model_config).to(self.device)
        self.optimizer = KerasRMSprop(self.model.parameters(), lr=config.lr, rho=config.rho, eps=config.eps)
        self.shuffle_rng = torch.Generator().manual_seed(config.seed + 1)
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 2)
        self.epoch = 0
        self.history: list[dict] = []
        # tensors on the device, built once
        idx = torch.as_tensor(data.indices, dtype=torch.long, device=self.device)
        lab = torch.as_tensor(data.labels, dtype=torch.long, device=self.device)
        onehot = F.one_hot(idx, data.vocab.size).float()
        self.splits = {}
        for name, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
            rows = torch.as_tensor(rows, dtype=torch.long, device=self.device)
            self.splits[name] = (onehot[rows], idx[rows], lab[rows])

    # -- one epoch -------------------------------------------------------------------------
    def train_epoch(self) -> dict:
        """One pass over the shuffled training split; returns per-example means of the terms."""
        cfg, model = self.config, self.model
        x, y, e = self.splits["train"]
        n = len(e)
        order = torch.randperm(n, generator=self.shuffle_rng).to(self.device)
        model.train()
        sums: dict[str, torch.Tensor] = {}
        n_batches = 0
        for start in range(0, n, cfg.batch_size):
            rows = order[start:start + cfg.batch_size]
            logits, mu, logvar = model(x[rows], e[rows], generator=self.noise_rng)
            terms = cvae_loss(logits, y[rows], mu, logvar, e[rows], weight_arousal=cfg.weight_arousal,
                              weight_valence=cfg.weight_valence, reduction=cfg.reduction)
            self.optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            self.optimizer.step()
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
        gen = torch.Generator(self.device).manual_seed(self.config.seed * 100_003 + self.epoch)
        logits, mu, logvar = self.model(x, e, generator=gen)
        terms = cvae_loss(logits, y, mu, logvar, e, weight_arousal=0, weight_valence=0, reduction="mean")
        return {"val_recon": float(terms["recon"]), "val_kld": float(terms["kld"])}

    @torch.no_grad()
    def latent(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """mu of every example of a split, and their labels."""
        x, _, e = self.splits[split]
        self.model.eval()
        mu, _ = self.model.encode(x, e)
        return mu.float().cpu().numpy(), e.cpu().numpy()

    # -- checkpoints -----------------------------------------------------------------------
    def save(self, path) -> Path:
        state = {
            "optimizer": self.optimizer.state_dict(),
            "shuffle_rng": self.shuffle_rng.get_state(),
            "noise_rng": self.noise_rng.get_state(),
            "noise_device": self.device.type,
            "train_idx": self.data.train_idx.tolist(),
            "heldout_idx": self.data.heldout_idx.tolist(),
            "names": list(self.data.names),
        }
        return save_checkpoint(path, model=self.model, vocab=self.data.vocab, train_config=asdict(self.config),
                               epoch=self.epoch, history=self.history, state=state)

    def restore(self, ckpt: Checkpoint) -> None:
        st = ckpt.state
        if st.get("names") != list(self.data.names) or ckpt.vocab != self.data.vocab:
            raise EmovaeError("cannot resume: the data set differs from the one this run was trained on")
        self.model.load_state_dict(ckpt.model.state_dict())
        self.optimizer.load_state_dict(st["optimizer"])
        self.shuffle_rng.set_state(st["shuffle_rng"])
        if st.get("noise_device") == self.device.type:
            self.noise_rng.set_state(st["noise_rng"])
        else:  # a CPU generator state does not fit a CUDA generator: reseed, deterministically
            self.noise_rng.manual_seed(self.config.seed + 2 + 7919 * ckpt.epoch)
        self.epoch = ckpt.epoch
        self.history = list(ckpt.history)


def _accumulate(sums: dict, terms: dict, batch: int, reduction: str) -> None:
    """Add a batch's terms as sums over examples (no device sync: tensors stay tensors)."""
    for k, v in terms.items():
        v = v.detach()
        if k == "recon":
            v = v if reduction == "sum" else v * batch
        elif k != "loss":
            v = v * batch
        sums[k] = sums[k] + v if k in sums else v


def train(data_root=None, out_dir=None, *, model_config: CVAEConfig | None = None,
          config: TrainConfig | None = None, data: EncodedData | None = None, resume: bool = False,
          progress: bool = True) -> Checkpoint:
    """Train a model and return its final checkpoint.

    ``out_dir`` receives ``checkpoint.pt`` (the latest training state), ``history.json`` and
    ``latent/epoch_NNNN.png``. With ``resume=True`` the run in ``out_dir`` continues with its own
    stored configuration (``config.epochs`` may extend it)."""
    from .plots import plot_latent

    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint.pt" if out else None
    previous = None
    if out and ckpt_path.exists():
        if not resume:
            raise EmovaeError(f"{out}: holds a training run already; pass --resume to continue it or choose another --out")
        previous = load_checkpoint(ckpt_path)
        stored = TrainConfig(**{k: v for k, v in previous.train_config.items()
                                if k in {f.name for f in dataclasses.fields(TrainConfig)}})
        overrides = {"epochs": config.epochs} if config else {}
        if config and config.device != stored.device:
            overrides["device"] = config.device
        config = dataclasses.replace(stored, **overrides)
        model_config = previous.model_config
    elif resume:
        raise EmovaeError(f"{out}: no checkpoint.pt to resume from")
    config = config or TrainConfig()
    if data is None:
        vocab = previous.vocab if previous else None
        data = encode_dataset(data_mod.resolve_data_root(data_root), vocab=vocab,
                              split_seed=config.split_seed, heldout=config.heldout)
    trainer = Trainer(data, model_config, config)
    if previous:
        trainer.restore(previous)

    start = trainer.epoch
    bar = tqdm(range(start, config.epochs), initial=start, total=config.epochs, desc="train",
               unit="epoch", disable=not progress, dynamic_ncols=True)
    for _ in bar:
        t0 = time.perf_counter()
        row = {"epoch": trainer.epoch + 1, **trainer.train_epoch()}
        if config.validate:
            row.update(trainer.validate())
        row["seconds"] = time.perf_counter() - t0
        epoch = trainer.epoch
        if epoch % config.log_every == 0 or epoch == config.epochs:
            for split in ("train", "heldout"):
                if len(trainer.splits[split][2]):
                    pts, labels = trainer.latent(split)
                    acc = quadrant_accuracy(pts, labels)
                    row[f"d_{split}"] = acc.to_dict()
                    if out and split == "train":
                        plot_latent(pts, labels, out / "latent" / f"epoch_{epoch:04d}.png",
                                    title=f"epoch {epoch}: training split", accuracy=acc)
        trainer.history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.1f}", recon=f"{row['recon']:.2f}",
                        **({"D": f"{row['d_train']['mean_recall']:.0f}%"} if "d_train" in row else {}))
        if out and (epoch % config.checkpoint_every == 0 or epoch % config.log_every == 0 or epoch == config.epochs):
            trainer.save(ckpt_path)
            write_text(out / "history.json", json.dumps(trainer.history, indent=1))
    if out and start == config.epochs:  # nothing left to do: still hand back the stored run
        return previous
    return Checkpoint(model=trainer.model, vocab=data.vocab, model_config=trainer.model.config,
                      train_config=asdict(config), epoch=trainer.epoch, history=trainer.history,
                      state={"train_idx": data.train_idx.tolist(), "heldout_idx": data.heldout_idx.tolist(),
                             "names": list(data.names)})
