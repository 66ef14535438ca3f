"""The training loop, :func:`train`: checkpoints, history, callbacks, resume, Ctrl-C and the
divergence stop around the trainer the device calls for (:func:`fastest_trainer`).

Interruptions. Every file of a run (``checkpoint.pt``, ``history.json``, the latent pictures)
is written atomically, so a run killed at any moment (even by SIGKILL) leaves its last
checkpoint whole, and ``resume=True`` from it reaches the very weights and optimizer state an
uninterrupted run reaches (same seed, same machine); temporary files a killed write left are
removed when the run starts again. Ctrl-C (SIGINT, in the main thread) lets the epoch under way
finish, saves a checkpoint and raises :class:`~emovae.errors.TrainingInterrupted` (a
KeyboardInterrupt that says where the run was saved); a second Ctrl-C stops at once, leaving the
last checkpoint written.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time

from tqdm.auto import tqdm

from ..atomic import check_output, stale_temporaries, write_text
from ..checkpoint import TrainedModel, load_model, resolve_device
from ..config import CVAEConfig, TrainConfig
from ..corpus import resolve_data_root
from ..errors import EmovaeError, TrainingDiverged, TrainingInterrupted
from .callbacks import Callback
from .data import EncodedData, _warn_missing_emotions, encode_dataset
from .divergence import diverged_message, non_finite, weights_finite
from .resume import RESUME_APPLIES, resumed_config
from .trainer import Trainer

__all__ = ["fastest_trainer", "train"]


def fastest_trainer(config: TrainConfig):
    """The trainer factory :func:`train` uses when given none: on CUDA with fp32 or bf16-grad
    products :class:`emovae.batched.GraphTrainer` (each step a CUDA graph), elsewhere
    :class:`Trainer`. The one place that picks the fast path."""
    if config.precision in ("fp32", "bf16-grad") and resolve_device(config.device).type == "cuda":
        from ..batched import GraphTrainer  # the layer beside this one (pyproject.toml)

        return GraphTrainer
    return Trainer


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
