"""The data set of a run, encoded once (:class:`EncodedData`, :func:`encode_dataset`), and a
trained model's sampler fitted to its training codes (:func:`fit_to_data`)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data as data_mod
from ..checkpoint import TrainedModel
from ..emotions import LABELS, NAMES
from ..errors import EmovaeError, EmovaeWarning

__all__ = ["EncodedData", "encode_dataset", "fit_to_data"]


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
