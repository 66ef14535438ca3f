"""K runs trained side by side (:func:`train_batched`): run folders, resume, D every few epochs,
checkpoints, and a diverged run stopped alone.

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
import time
import warnings

from tqdm.auto import tqdm

from ..atomic import check_output, stale_temporaries
from ..checkpoint import TrainedModel, load_model
from ..config import CVAEConfig, TrainConfig
from ..errors import EmovaeError, EmovaeWarning
from ..training.data import EncodedData
from .trainer import BatchedTrainer

__all__ = ["train_batched"]


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
