"""The sweep file (TOML): its settings, configurations and runs (:func:`load_sweep`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomllib

from ..config import PRESETS, CVAEConfig, TrainConfig, check_settings, preset
from ..errors import EmovaeError

_SWEEP_KEYS = {"seeds", "epochs", "group_size", "workers", "backend", "device", "name", "tf32", "checkpoint_every"}
_BACKENDS = ("process", "ray")


@dataclass
class RunSpec:
    """One run of a sweep: a configuration at a seed."""

    config: str
    seed: int
    model: CVAEConfig
    train: TrainConfig
    paper: bool = False  # one of the paper's two configurations, unchanged

    @property
    def name(self) -> str:
        return f"{self.config}-s{self.seed}"


@dataclass
class Sweep:
    runs: list[RunSpec]
    group_size: int = 32
    workers: int = 1
    backend: str = "process"
    source: str = ""
    configs: list[str] = field(default_factory=list)
    tf32: bool = False  # on CUDA, float32 matrix products on TF32 tensor cores (faster, 10-bit mantissa)


def _where(path, what: str) -> str:
    return f"{path}: {what}"


def load_sweep(path, *, device: str | None = None, epochs: int | None = None) -> Sweep:
    """Read and check a sweep file; every problem is one EmovaeError line naming the file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmovaeError(f"{path}: no such sweep file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmovaeError(f"{path}: cannot read the sweep file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise EmovaeError(f"{path}: not valid TOML ({exc})") from None
    head = doc.get("sweep", {})
    if not isinstance(head, dict):
        raise EmovaeError(_where(path, "[sweep] must be a table"))
    unknown = set(head) - _SWEEP_KEYS
    if unknown:
        raise EmovaeError(_where(path, f"unknown [sweep] key(s) {sorted(unknown)}"))
    seeds = head.get("seeds", [33])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise EmovaeError(_where(path, f"seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}"))
    if len(set(seeds)) != len(seeds):
        raise EmovaeError(_where(path, f"seeds repeat: {seeds}"))
    epochs = epochs if epochs is not None else head.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise EmovaeError(_where(path, f"epochs must be a whole number >= 1, got {epochs!r}"))
    backend = head.get("backend", "process")
    if backend not in _BACKENDS:
        raise EmovaeError(_where(path, f"backend {backend!r} is not one of {', '.join(_BACKENDS)}"))
    group_size, workers = head.get("group_size", 32), head.get("workers", 1)
    for what, v in (("group_size", group_size), ("workers", workers)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise EmovaeError(_where(path, f"{what} must be a whole number >= 1, got {v!r}"))
    configs = doc.get("config", [])
    if not isinstance(configs, list) or not configs:
        raise EmovaeError(_where(path, "no [[config]] tables: name at least one configuration"))
    train_fields = {f.name for f in fields(TrainConfig)}
    model_fields = {f.name for f in fields(CVAEConfig)}
    runs, names = [], []
    for i, table in enumerate(configs):
        table = dict(table)
        name = table.pop("name", None)
        if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "-_." for ch in name):
            raise EmovaeError(_where(path, f"config {i + 1} needs a name of letters, digits, '-', '_' or '.'"))
        if name in names:
            raise EmovaeError(_where(path, f"config name {name!r} is used twice"))
        names.append(name)
        chosen = table.pop("preset", "paper-emoreg")
        if not isinstance(chosen, str):
            raise EmovaeError(_where(path, f"config {name!r}: preset must be a name, got {chosen!r}"))
        try:
            base = preset(chosen)
        except EmovaeError as exc:
            raise EmovaeError(_where(path, f"config {name!r}: {exc}")) from None
        model_over = table.pop("model", {})
        if not isinstance(model_over, dict) or set(model_over) - model_fields:
            bad = sorted(set(model_over) - model_fields) if isinstance(model_over, dict) else model_over
            raise EmovaeError(_where(path, f"config {name!r}: unknown model setting(s) {bad}"))
        bad = sorted(set(table) - train_fields - {"seed"})
        if bad:
            raise EmovaeError(_where(path, f"config {name!r}: unknown training setting(s) {bad}"))
        if "seed" in table:
            raise EmovaeError(_where(path, f"config {name!r}: seeds come from [sweep] seeds"))
        try:
            model = dataclasses.replace(base.model, **model_over)
            over = dict(table)
            if epochs is not None:
                over["epochs"] = epochs
            if "checkpoint_every" in head and "checkpoint_every" not in over:
                over["checkpoint_every"] = head["checkpoint_every"]
            if device is not None:
                over["device"] = device
            elif "device" in head:
                over["device"] = head["device"]
            train = dataclasses.replace(base.train, **over)
        except TypeError as exc:
            raise EmovaeError(_where(path, f"config {name!r}: {exc}")) from None
        check_settings(model, _where(path, f"config {name!r}: model"))
        check_settings(train, _where(path, f"config {name!r}"))
        small = min(model.hidden, model.dense, model.n_steps, train.batch_size, train.epochs, train.checkpoint_every)
        if model.latent < 2 or small < 1:
            raise EmovaeError(
                _where(
                    path,
                    f"config {name!r}: latent >= 2 and hidden, dense, batch_size, epochs, checkpoint_every >= 1 needed",
                )
            )
        paper = base.name in PRESETS and not model_over and not (set(table) - {"device"})
        for s in seeds:
            runs.append(RunSpec(name, s, model, dataclasses.replace(train, seed=s), paper=paper))
    tf32 = head.get("tf32", False)
    if not isinstance(tf32, bool):
        raise EmovaeError(_where(path, f"tf32 must be true or false, got {tf32!r}"))
    return Sweep(runs, group_size, workers, backend, str(path), names, tf32)
