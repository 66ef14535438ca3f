"""The figures of a trained model: Table 2 on its own split (:func:`evaluate_model`), the
per-epoch :class:`QuadrantLog` callback, reconstruction accuracy, D_i with the reconstruction per
split (:func:`split_figures`) and the generated melodies the report and the sweep judge
(:func:`generated_set`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import EmovaeError
from .table2 import QuadrantAccuracy, quadrant_accuracy, table2_markdown


def model_split(model, data_root=None, data=None):
    """The data set encoded with the model's vocabulary and split as the model's run split it
    (an :class:`emovae.train.EncodedData`)."""
    from ..corpus import resolve_data_root
    from ..training import encode_dataset

    if data is not None:
        return data
    tc = model.train_config
    data = encode_dataset(
        resolve_data_root(data_root),
        vocab=model.vocab,
        split_seed=tc.split_seed,
        heldout=tc.heldout,
        vocab_owner=str(model.path or "model"),
    )
    if model.state.names == data.names and model.state.train_idx:  # the very split the model was trained with
        data.train_idx = np.asarray(model.state.train_idx)
        data.heldout_idx = np.asarray(model.state.heldout_idx)
    return data


@dataclass
class SplitEvaluation:
    """The latent points of one split, their labels and their quadrant accuracy."""

    points: np.ndarray
    labels: np.ndarray
    accuracy: QuadrantAccuracy


def evaluate_model(model, data_root=None, data=None) -> dict[str, SplitEvaluation]:
    """Table 2 of a trained model (a :class:`~emovae.checkpoint.TrainedModel`, a checkpoint
    file, a run folder or a bundled name): ``{"train": ..., "heldout": ...}``, each the mu of
    every example of that split (encoded under its own label) and its quadrant accuracy."""
    from ..checkpoint import load_model

    model = load_model(model)
    data = model_split(model, data_root, data)
    out = {}
    for split, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
        if len(rows):
            raw = model.vocab.decode(data.indices[rows])
            pts = model.encode(raw, data.labels[rows])
            out[split] = SplitEvaluation(pts, data.labels[rows], quadrant_accuracy(pts, data.labels[rows]))
    return out


def write_evaluation(evaluation: dict[str, SplitEvaluation], out_dir, name: str = "model") -> list:
    """Write ``latent_<split>.png`` and ``accuracy.json`` for :func:`evaluate_model`'s result."""
    import json
    from pathlib import Path

    from ..atomic import write_text
    from ..plots import plot_latent

    out = Path(out_dir)
    paths = [
        plot_latent(
            ev.points, ev.labels, out / f"latent_{split}.png", title=f"{name}: {split} split", accuracy=ev.accuracy
        )
        for split, ev in evaluation.items()
    ]
    write_text(out / "accuracy.json", json.dumps({s: ev.accuracy.to_dict() for s, ev in evaluation.items()}, indent=1))
    return [*paths, out / "accuracy.json"]


def evaluation_markdown(evaluation: dict[str, SplitEvaluation]) -> str:
    """Table 2 of each split as Markdown, one after the other."""
    text = []
    for split, ev in evaluation.items():
        text += [
            f"quadrant accuracy, {split} split ({len(ev.labels)} examples):",
            table2_markdown({"model": ev.accuracy}),
        ]
    return "\n".join(text)


class QuadrantLog:
    """Training callback: every ``every`` epochs (and at the last), the quadrant accuracy of
    both splits goes into the history row (``d_train``, ``d_heldout``), and with ``out_dir``
    a picture of the training split's latent plane is written to ``latent/epoch_NNNN.png``."""

    def __init__(self, every: int = 50, out_dir=None):
        self.every = every  # epochs between measurements
        self.out_dir = out_dir  # run folder for the pictures (None: no pictures)

    def on_epoch_end(self, trainer, row: dict) -> None:
        from pathlib import Path

        epoch = trainer.epoch
        if epoch % self.every and epoch != trainer.config.epochs:
            return
        for split in ("train", "heldout"):
            if len(trainer.splits[split][2]):
                pts, labels = trainer.latent(split)
                acc = quadrant_accuracy(pts, labels)
                row[f"d_{split}"] = acc.to_dict()
                if self.out_dir is not None and split == "train":
                    from ..plots import plot_latent

                    plot_latent(
                        pts,
                        labels,
                        Path(self.out_dir) / "latent" / f"epoch_{epoch:04d}.png",
                        title=f"epoch {epoch}: training split",
                        accuracy=acc,
                    )


# ---------------------------------------------------------------------------- reconstruction


def reconstruction_accuracy(reconstructed, original) -> dict:
    """Token and melody accuracy of reconstructions ``(N, T)`` against the originals ``(N, T)``.

    ``token_accuracy = #{(n, t) : r[n, t] = x[n, t]} / (N T)``;
    ``melody_accuracy = #{n : r[n] = x[n] at every step} / N``; both 0 for ``N = 0``.
    """
    r, x = np.asarray(reconstructed), np.asarray(original)
    if r.shape != x.shape or r.ndim != 2:
        raise EmovaeError(f"reconstruction: expected two (N, T) token arrays of one shape, got {r.shape} and {x.shape}")
    if not r.size:
        return {"n": int(r.shape[0]), "token_accuracy": 0.0, "melody_accuracy": 0.0}
    same = r == x
    return {
        "n": int(r.shape[0]),
        "token_accuracy": float(same.mean()),
        "melody_accuracy": float(same.all(axis=1).mean()),
    }


def reconstruction(model, raw, labels) -> dict:
    """How well a model rebuilds melodies from their codes: each of the raw-token melodies
    ``(N, 64)`` is encoded under its label to its whole latent mean mu and decoded back (argmax).
    The one measure the report and the sweep use: :func:`reconstruction_accuracy`'s
    ``token_accuracy`` and ``melody_accuracy``, plus per melody the cross-entropy
    ``ce = -sum_t log p(x_t | mu) / N`` and the KL term ``kl = sum_d -(1 + logvar - mu^2 - e^logvar) / 2``
    averaged over the melodies (NaN for N = 0)."""
    import torch
    import torch.nn.functional as F

    raw = np.asarray(raw)
    if len(raw) == 0:
        return {"n": 0, "token_accuracy": math.nan, "melody_accuracy": math.nan, "ce": math.nan, "kl": math.nan}
    net = model.net
    net.eval()
    with torch.no_grad():
        idx = torch.as_tensor(model.vocab.encode(raw), device=model.device)
        lab = torch.as_tensor(np.asarray(labels), device=model.device)
        mu, logvar = net.encode(idx, lab)
        logits = net.decode(mu, lab).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx.reshape(-1), reduction="sum") / len(idx)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()
        rebuilt = model.vocab.decode(logits.argmax(-1).cpu().numpy())
    return {**reconstruction_accuracy(rebuilt, raw), "ce": float(ce), "kl": float(kl)}


# ---------------------------------------------------------------------------- D_i and reconstruction of a model


def split_figures(model, data) -> dict[str, dict]:
    """D_i and reconstruction of a trained model on each split of ``data`` that holds melodies
    (``"train"``, ``"heldout"``): ``{"accuracy": QuadrantAccuracy}`` (:func:`evaluate_model`: the
    quadrant recall D_i, precision and overall share of the melodies' latent means) merged with
    :func:`reconstruction` of the same melodies under their labels (``n``, ``token_accuracy``,
    ``melody_accuracy``, ``ce``, ``kl``). The figures ``emovae report`` (section 5) and the
    sweep's rows are made of."""
    out = {}
    for split, ev in evaluate_model(model, data=data).items():
        rows = data.train_idx if split == "train" else data.heldout_idx
        raw = model.vocab.decode(data.indices[rows])
        out[split] = {"accuracy": ev.accuracy, **reconstruction(model, raw, ev.labels)}
    return out


def generated_set(
    model, n_per_emotion: int, *, seed: int, sampler: str = "paper", unique: bool = False, spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(tokens (4 n, 64), asked (4 n,))``: ``n_per_emotion`` melodies of each emotion e1..e4 in
    turn, drawn by :meth:`~emovae.checkpoint.TrainedModel.sample` (``sampler``, ``seed``; ``unique``:
    the copy guard; ``spread``: the fitted sampler's), and the emotion each was asked for. The
    generated melodies ``emovae report`` and the sweep judge (control, novelty, Table 3)."""
    tokens = np.concatenate(
        [model.sample(e, n_per_emotion, seed=seed, sampler=sampler, unique=unique, spread=spread) for e in range(4)]
    )
    return tokens, np.repeat(np.arange(4), n_per_emotion)
