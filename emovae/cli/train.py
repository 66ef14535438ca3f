"""``emovae train``: a preset with settings overridden, or ``--resume`` of a stopped run."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import EmovaeError, EmovaeWarning, TrainingInterrupted
from .args import (
    MAX_UNITS,
    epochs_or_off,
    latent,
    positive_float,
    positive_int,
    seed,
    train_defaults,
    units,
    weight,
)

_TRAIN_FLAGS = (
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "split_seed",
    "weight_arousal",
    "weight_valence",
    "reduction",
    "checkpoint_every",
    "device",
    "precision",
    "emotion_loss",
    "margin",
    "emotion_on_z",
    "kl_weight",
    "kl_warmup",
    "kl_cycle",
    "emotion_warmup",
    "free_bits",
    "weight_decay",
)
_MODEL_FLAGS = ("hidden", "dense", "latent", "encoder_condition")


def add_parser(subparsers) -> None:
    from ..config import ALIASES, DEFAULT_PRESET, PRECISIONS, PRESETS

    d = train_defaults()
    presets_help = "; ".join(f"{name}: {pr.description}" for name, pr in PRESETS.items())
    t = subparsers.add_parser(
        "train",
        help="train a model (a preset, settings overridden) on a data set",
        description="Train a model; writes OUT/checkpoint.pt, OUT/history.json, OUT/latent/*.png. "
        "Settings not given come from the preset.",
    )
    t.add_argument("--data", help="data set folder with e1..e4/*.mid (default: $EMOVAE_DATA)")
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument(
        "--preset",
        "--model",
        dest="preset",
        default=None,
        choices=[*PRESETS, *ALIASES],
        metavar="NAME",
        help=f"named configuration (default: {DEFAULT_PRESET}). {presets_help}",
    )
    t.add_argument("--epochs", type=positive_int, help=f"passes over the training split (preset: {d['epochs']})")
    t.add_argument("--batch-size", type=positive_int, help=f"examples per step (preset: {d['batch_size']})")
    t.add_argument("--lr", type=positive_float, help=f"RMSprop learning rate (preset: {d['lr']:g})")
    t.add_argument("--seed", type=seed, help=f"initialisation, shuffling and noise (preset: {d['seed']})")
    t.add_argument("--split-seed", type=seed, help=f"stratified 80/20 split (preset: {d['split_seed']})")
    t.add_argument(
        "--weight-arousal", type=weight, help="weight of L_EmoA (preset: 80 for paper-emoreg, 0 for paper-base)"
    )
    t.add_argument(
        "--weight-valence", type=weight, help="weight of L_EmoV (preset: 70 for paper-emoreg, 0 for paper-base)"
    )
    t.add_argument("--reduction", choices=["sum", "mean"], help=f"L_R over the batch (preset: {d['reduction']})")
    t.add_argument("--hidden", type=units, help=f"GRU units, at most {MAX_UNITS} (preset: {d['hidden']})")
    t.add_argument("--dense", type=units, help=f"encoder Dense units, at most {MAX_UNITS} (preset: {d['dense']})")
    rec = t.add_argument_group("recipe settings beyond the paper (see emovae.config.TrainConfig)")
    rec.add_argument("--emotion-loss", choices=["cosine", "hinge"], help="emotion terms: the paper's -cos or a hinge")
    rec.add_argument("--margin", type=weight, help="hinge margin (preset: 1)")
    rec.add_argument("--emotion-on-z", action="store_const", const=True, help="emotion terms on the sampled z too")
    rec.add_argument("--kl-weight", type=weight, help="beta, the weight of L_KLD (preset: 1)")
    rec.add_argument("--kl-warmup", type=epochs_or_off, help="epochs of linear beta warm-up (preset: 0, off)")
    rec.add_argument("--kl-cycle", type=epochs_or_off, help="cyclical beta period in epochs (preset: 0, off)")
    rec.add_argument("--emotion-warmup", type=epochs_or_off, help="epochs of linear emotion-weight warm-up (preset: 0)")
    rec.add_argument("--free-bits", type=weight, help="KL floor per latent dimension, nats (preset: 0, off)")
    rec.add_argument("--weight-decay", type=weight, help="decoupled weight decay (preset: 0)")
    rec.add_argument("--latent", type=latent, help="latent dimensions: 2 = the plane, more = content beside it")
    rec.add_argument(
        "--label-free-encoder",
        dest="encoder_condition",
        action="store_const",
        const=False,
        help="the encoder reads the melody alone (a user's melody can be placed without a label)",
    )
    t.add_argument(
        "--log-every",
        type=positive_int,
        default=None,
        help="epochs between quadrant accuracies and latent pictures (default: 50; --resume: the run's own)",
    )
    t.add_argument("--checkpoint-every", type=positive_int, help=f"(preset: {d['checkpoint_every']})")
    t.add_argument("--no-validate", action="store_true", help="skip the held-out pass after each epoch")
    t.add_argument("--device", help="auto (GPU when present), cpu or cuda (default: auto)")
    t.add_argument(
        "--precision",
        choices=PRECISIONS,
        help=f"GRU matrix products; bf16-grad: fp32 forward, bf16 backward (default: {d['precision']})",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out with its stored configuration (only --epochs and --device apply; "
        "other settings given are ignored, with a warning)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> str:
    import dataclasses

    from ..atomic import check_output
    from ..config import DEFAULT_PRESET, preset
    from .output import hold

    out = check_output(args.out, "folder")
    hold(out)  # a second run into this folder meanwhile is refused
    stored = out / "checkpoint.pt"
    settings = _stored_settings(out) if args.resume and stored.is_file() else {}
    data_root = args.data if args.data is not None else settings.get("data")
    log_every = args.log_every or settings.get("log_every") or 50
    if args.resume and stored.is_file():  # training.resumed_config decides; this reports it
        from ..checkpoint import load_model
        from ..training import RESUME_APPLIES, resumed_config

        previous = load_model(stored)
        config = resumed_config(previous, **{k: getattr(args, k) for k in RESUME_APPLIES})
        ignored = [k for k in ("preset", *_TRAIN_FLAGS, *_MODEL_FLAGS) if k not in RESUME_APPLIES]
        ignored = [f"--{k.replace('_', '-')}" for k in ignored if getattr(args, k) is not None]
        ignored += ["--no-validate"] if args.no_validate else []
        if ignored:
            applies = " and ".join(f"--{k}" for k in RESUME_APPLIES)
            warnings.warn(
                f"{', '.join(ignored)} ignored with --resume: the run continues with its stored settings "
                f"(only {applies} apply)",
                EmovaeWarning,
                stacklevel=2,
            )
        target = config.epochs
        if previous.epoch >= target:
            asked = f"--epochs {args.epochs}" if args.epochs else f"its {target} epochs"
            past = "past" if previous.epoch > target else "at"
            warnings.warn(
                f"{out}: already trained {previous.epoch} epochs, {past} {asked}; nothing to do"
                + ("" if args.epochs else " (give --epochs N above it to continue)"),
                EmovaeWarning,
                stacklevel=2,
            )
            return f"nothing to do: {previous.epoch} epochs already; checkpoint: {stored}"
        model_config = previous.model_config
    else:
        overrides = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
        if args.no_validate:
            overrides["validate"] = False
        chosen = preset(args.preset or DEFAULT_PRESET, **overrides)
        sizes = {k: getattr(args, k) for k in _MODEL_FLAGS if getattr(args, k) is not None}
        model_config = dataclasses.replace(chosen.model, **sizes)
        config = chosen.train
    from ..evaluate import QuadrantLog
    from ..training import train

    if not args.resume:
        from ..corpus import resolve_data_root

        data_root = str(resolve_data_root(args.data).resolve())
    ckpt = train(
        data_root,
        out,
        model_config=model_config,
        config=config,
        resume=args.resume,
        progress=not args.quiet,
        callbacks=[QuadrantLog(every=log_every, out_dir=out), _StoreSettings(out, data_root, log_every)],
    )
    last = ckpt.history[-1] if ckpt.history else {}
    acc = last.get("d_train")
    tail = f"; D_i train mean {acc['mean_recall']:.1f}%" if acc and acc.get("mean_recall") is not None else ""
    return f"trained {ckpt.epoch} epochs{tail}; checkpoint: {stored}"


SETTINGS = "settings.json"  # what --resume takes from the run besides its checkpoint: --data, --log-every


def _stored_settings(out: Path) -> dict:
    import json

    try:
        stored = json.loads((out / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


class _StoreSettings:
    """Writes the run's --data and --log-every beside its first checkpoint (``settings.json``), so
    that ``--resume`` uses them."""

    def __init__(self, out: Path, data, log_every: int):
        self.out, self.settings, self.done = (
            out,
            {"data": None if data is None else str(data), "log_every": log_every},
            False,
        )

    def on_epoch_end(self, trainer, row: dict) -> None:
        if not self.done:
            import json

            from ..atomic import write_text

            write_text(self.out / SETTINGS, json.dumps(self.settings, indent=1))
            self.done = True


def interrupted(args, exc: KeyboardInterrupt) -> str | None:
    """Ctrl-C outside the training loop's own save: where the last checkpoint is, if any."""
    if isinstance(exc, TrainingInterrupted):
        return None  # the loop saved: the common line (continue with --resume)
    stored = Path(args.out) / "checkpoint.pt"
    if not stored.is_file():
        return "interrupted before the first checkpoint; nothing to resume (start it again without --resume)"
    try:
        from ..checkpoint import load_model

        epoch = f" (epoch {load_model(stored).epoch})"
    except (EmovaeError, OSError):
        epoch = ""
    return f"interrupted; the last checkpoint is {stored}{epoch}: continue with --resume"
