"""The checkpoint file: its format, writing it, finding it, reading it back.

A checkpoint file carries everything needed to use it: the architecture (``CVAEConfig``), the
training settings (``TrainConfig``), the vocabulary, the weights, the epoch and the history. A
training checkpoint also holds a :class:`TrainingState` (optimizer, RNG states, the split), so
``emovae train --resume`` continues exactly where the run stopped. Files are written atomically.
A model-only file (:meth:`TrainedModel.export`) drops the optimizer and RNG states; the weights
bundled with the package are such files.

One rule finds a checkpoint (:func:`resolve_checkpoint`): ``None`` or a preset name (``emoreg``,
``base``, ``paper-emoreg``, ``paper-base``) means the bundled weights, a folder means its
``checkpoint.pt``, anything else is a file. A model whose weights hold NaN or infinity (a
diverged run) is neither written nor loaded.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..config import ALIASES, DEFAULT_PRESET, PRESETS, TrainConfig
from ..data import Vocabulary
from ..errors import EmovaeError
from ..model import CVAE
from ..samplers import FittedSampler

FORMAT = "emovae-checkpoint-1"


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N' as a torch.device."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EmovaeError(f"device {name!r}: no CUDA GPU is available here (use --device auto or cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise EmovaeError(f"unknown device {name!r}: use auto, cpu or cuda") from None


@dataclass
class TrainingState:
    """What a training run needs beyond the weights to continue bit for bit, and its split."""

    names: list = field(default_factory=list)  # "e1/file.mid" per example of the data set
    train_idx: list = field(default_factory=list)  # rows of the training split
    heldout_idx: list = field(default_factory=list)  # rows of the held-out split
    optimizer: dict | None = None  # the optimizer's state_dict (None in a model-only file)
    shuffle_rng: torch.Tensor | None = None  # CPU generator state: the order of the examples
    noise_rng: torch.Tensor | None = None  # generator state of the sampling noise
    noise_device: str = "cpu"  # the device type the noise generator lived on

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> TrainingState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    def model_only(self) -> TrainingState:
        """The split without the optimizer and RNG states."""
        return TrainingState(names=list(self.names), train_idx=list(self.train_idx), heldout_idx=list(self.heldout_idx))


def save_checkpoint(
    path,
    *,
    net: CVAE,
    vocab: Vocabulary,
    train_config: TrainConfig,
    epoch: int = 0,
    history: list | None = None,
    state: TrainingState | None = None,
    sampler: FittedSampler | None = None,
    training_hashes=(),
) -> Path:
    """Write a checkpoint atomically (a crash never leaves a half-written file). A model whose
    weights are not all finite numbers (a diverged run) is not written: EmovaeError."""
    bad = _non_finite_weight(net.state_dict())
    if bad is not None:
        raise EmovaeError(f"{path}: not written: weight {bad} holds NaN or infinite values (a diverged model)")
    payload = {
        "format": FORMAT,
        "model_config": net.config.to_dict(),
        "vocab": vocab.to_list(),
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "train_config": train_config.to_dict(),
        "epoch": int(epoch),
        "history": list(history or []),
        "state": (state or TrainingState()).to_dict(),
        "sampler": sampler.to_dict() if sampler is not None else None,
        "training_hashes": sorted(training_hashes),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def resolve_checkpoint(spec: str | os.PathLike | None = None) -> Path:
    """The checkpoint file meant by ``spec``: None or a preset name = the bundled weights, a
    folder = its checkpoint.pt, anything else = the file itself."""
    from ..weights import NAMES as BUNDLED_NAMES
    from ..weights import bundled

    if spec is None:
        return bundled(DEFAULT_PRESET)
    text = str(spec)
    name = ALIASES.get(text, text)
    if name in PRESETS and not Path(text).exists():
        if name not in BUNDLED_NAMES:
            raise EmovaeError(f"{text}: a preset without bundled weights; train it (emovae train --preset {text})")
        return bundled(name.removeprefix("paper-"))
    path = Path(spec)
    return path / "checkpoint.pt" if path.is_dir() else path


def _non_finite_weight(weights: dict) -> str | None:
    """The name of the first floating-point tensor of a state dict holding NaN or infinity, or None."""
    for name, value in weights.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6: a zip archive
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # older torch.save: a pickled magic number


def _read_payload(path: Path) -> dict:
    """The dict stored in an emovae checkpoint file, or a one-line EmovaeError in plain words
    saying what the file is: empty, not a PyTorch checkpoint, truncated or damaged, a file of
    pickled Python objects that needs code to load (refused: loading runs code), or a PyTorch
    file of someone else's (no emovae marker). Library messages are never passed on."""
    import pickle
    import re
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(len(_LEGACY_MAGIC))
    except OSError as exc:
        raise EmovaeError(f"{path}: cannot be read ({' '.join((exc.strerror or str(exc)).split())})") from None
    if not head:
        raise EmovaeError(f"{path}: an empty file, not a checkpoint")
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise EmovaeError(
                f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read to its "
                "end; copy or download it again)"
            ) from None
        if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
            raise EmovaeError(
                f"{path}: not an emovae checkpoint (not a PyTorch checkpoint file: a zip archive of other files)"
            )
    elif not head.startswith(_LEGACY_MAGIC):
        raise EmovaeError(f"{path}: not an emovae checkpoint (not a PyTorch checkpoint file at all)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([A-Za-z_][\w.]*)", str(exc))
        if found or "Weights only load failed" in str(exc):  # code a checkpoint of plain data never holds
            what = f" ({found.group(1)})" if found else ""
            raise EmovaeError(
                f"{path}: holds pickled Python objects{what} that need code to load; emovae "
                "loads only its own checkpoints of plain data (not an emovae checkpoint)"
            ) from None
        raise EmovaeError(f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read)") from None
    except Exception:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ValueError... for a bad file
        raise EmovaeError(f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read)") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise EmovaeError(
            f"{path}: not an emovae checkpoint (a PyTorch file without the '{FORMAT}' marker: someone else's model?)"
        )
    return payload
