"""Command-line interface: ``emovae train | evaluate | generate | metrics | reproduce``.

A thin layer over the Python API. Bad input ends with one line ``emovae: error: ...`` and exit
status 2 (no traceback); warnings are one line ``emovae: warning: ...``.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .errors import EmovaeError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``emovae: error: ... (see emovae train --help)``."""

    def error(self, message):
        print(f"emovae: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def _point(text: str) -> tuple[float, float]:
    try:
        v, a = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"coordinate {text!r}: write VALENCE,AROUSAL, e.g. 2,-1.5") from None
    return v, a


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number >= 1 is needed")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="emovae", description="Melodies with a chosen emotion: a conditional VAE whose latent "
                "plane is Russell's valence-arousal plane (Grekow 2025). Data: --data DIR or $EMOVAE_DATA.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train CVAE-EmoReg or CVAE-Base on a data set",
                       description="Train a model; writes OUT/checkpoint.pt, OUT/history.json, OUT/latent/*.png.")
    t.add_argument("--data", help="data set folder with e1..e4/*.mid (default: $EMOVAE_DATA)")
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--model", choices=["emoreg", "base"], default="emoreg",
                   help="emoreg: with the emotion terms (80, 70); base: without (default: emoreg)")
    t.add_argument("--epochs", type=_positive_int, default=700)
    t.add_argument("--batch-size", type=_positive_int, default=16)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=33, help="initialisation, shuffling and noise")
    t.add_argument("--split-seed", type=int, default=42, help="stratified 80/20 split")
    t.add_argument("--weight-arousal", type=float, help="weight of L_EmoA (default by --model)")
    t.add_argument("--weight-valence", type=float, help="weight of L_EmoV (default by --model)")
    t.add_argument("--reduction", choices=["sum", "mean"], default="sum",
                   help="L_R over the batch: sum (the authors') or mean")
    t.add_argument("--hidden", type=_positive_int, default=512, help="GRU units")
    t.add_argument("--dense", type=_positive_int, default=100, help="encoder Dense units")
    t.add_argument("--log-every", type=_positive_int, default=50)
    t.add_argument("--checkpoint-every", type=_positive_int, default=10)
    t.add_argument("--no-validate", action="store_true", help="skip the held-out pass after each epoch")
    t.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    t.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="GRU matrix products")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out with its stored configuration (only --epochs and --device apply)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="quadrant accuracy (Table 2) and latent pictures of a model")
    e.add_argument("checkpoint", nargs="?", help="checkpoint file or run folder (default: bundled CVAE-EmoReg)")
    e.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    e.add_argument("--out", help="folder for latent pictures and accuracy.json")

    g = sub.add_parser("generate", help="write melodies of chosen emotions as MIDI",
                       description="Writes OUT/e1..e4/*.mid. Sampling as the paper: z ~ N(0, 2^2) around "
                                   "the emotion's quadrant centre (CVAE-EmoReg).")
    g.add_argument("checkpoint", nargs="?", help="checkpoint file or run folder (default: bundled CVAE-EmoReg)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--emotion", action="append",
                   help="e1..e4, Q1..Q4 or happy/angry/sad/relaxed; repeatable (default: all four)")
    g.add_argument("-n", "--count", type=_positive_int, default=20, help="melodies per emotion")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--at", type=_point, metavar="V,A", help="decode this point of the plane, e.g. --at=2,-1.5 (valence,arousal; write = before a minus sign)")
    g.add_argument("--shift", choices=["auto", "yes", "no"], default="auto",
                   help="sample around the quadrant centre (auto: yes for CVAE-EmoReg)")

    m = sub.add_parser("metrics", help="Table 3 (MusPy metrics per emotion) for folders laid out as e1..e4")
    m.add_argument("folders", nargs="+", help="folders holding e1..e4/*.mid")
    m.add_argument("--name", action="append", help="column name per folder (default: folder name)")
    m.add_argument("--no-paper", action="store_true", help="leave out the paper's columns")

    r = sub.add_parser("reproduce", help="train both models with the paper's configuration and write a report")
    r.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    r.add_argument("--out", default="reproduction", help="report folder (default: reproduction)")
    r.add_argument("--epochs", type=_positive_int, default=700)
    r.add_argument("--seed", type=int, default=33)
    r.add_argument("--device", default="auto")
    r.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    r.add_argument("--quiet", action="store_true")
    return p


def resolve_model(arg: str | None) -> Path:
    """A checkpoint path from a file, a run folder, or None / 'emoreg' / 'base' for the bundled weights."""
    from .weights import bundled

    if arg is None or arg in ("emoreg", "base"):
        return bundled(arg or "emoreg")
    path = Path(arg)
    return path / "checkpoint.pt" if path.is_dir() else path


def _train(args) -> str:
    from .model import CVAEConfig
    from .train import TrainConfig, train

    weights = {k: v for k, v in (("weight_arousal", args.weight_arousal), ("weight_valence", args.weight_valence))
               if v is not None}
    config = TrainConfig.for_model(
        args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        split_seed=args.split_seed, reduction=args.reduction, log_every=args.log_every,
        checkpoint_every=args.checkpoint_every, validate=not args.no_validate, device=args.device,
        precision=args.precision, **weights)
    ckpt = train(args.data, args.out, model_config=CVAEConfig(hidden=args.hidden, dense=args.dense),
                 config=config, resume=args.resume, progress=not args.quiet)
    last = ckpt.history[-1] if ckpt.history else {}
    acc = last.get("d_train")
    tail = f"; D_i train mean {acc['mean_recall']:.1f}%" if acc and acc.get("mean_recall") is not None else ""
    return f"trained {ckpt.epoch} epochs{tail}; checkpoint: {Path(args.out) / 'checkpoint.pt'}"


def _evaluate(args) -> str:
    import json

    from .atomic import write_text
    from .evaluate import table2_markdown
    from .plots import plot_latent
    from .checkpoint import as_checkpoint
    from .reproduce import evaluate_checkpoint

    path = resolve_model(args.checkpoint)
    ckpt = as_checkpoint(path)
    ev = evaluate_checkpoint(ckpt, args.data)
    text = [f"{path} (epoch {ckpt.epoch})"]
    for split, (pts, labels, acc) in ev.items():
        text += [f"\nquadrant accuracy, {split} split ({len(labels)} examples):", table2_markdown({"model": acc})]
        if args.out:
            plot_latent(pts, labels, Path(args.out) / f"latent_{split}.png",
                        title=f"{path.name}: {split} split", accuracy=acc)
    if args.out:
        write_text(Path(args.out) / "accuracy.json",
                   json.dumps({s: a.to_dict() for s, (_, _, a) in ev.items()}, indent=1))
    return "\n".join(text)


def _generate(args) -> str:
    from .data import write_midi
    from .emotions import LABELS, emotion_index
    from .checkpoint import as_checkpoint
    from .generate import generate, generate_set

    ckpt = as_checkpoint(resolve_model(args.checkpoint))
    emotions = [emotion_index(e) for e in (args.emotion or LABELS)]   # unknown emotions fail before any write
    shift = {"auto": None, "yes": True, "no": False}[args.shift]
    if args.at is None:
        paths = generate_set(ckpt, args.out, n_per_emotion=args.count, seed=args.seed, emotions=emotions,
                             shift=shift)
    else:
        paths = []
        for e in emotions:
            tokens = generate(ckpt, e, 1, at=args.at)
            path = Path(args.out) / LABELS[e] / f"{LABELS[e]}_v{args.at[0]:+.2f}_a{args.at[1]:+.2f}.mid"
            write_midi(tokens[0], path)
            paths.append(path)
    return f"wrote {len(paths)} MIDI files under {args.out}"


def _metrics(args) -> str:
    from .metrics import folder_metrics, table3_markdown

    names = args.name or []
    if len(names) > len(args.folders):
        from .errors import EmovaeError
        raise EmovaeError(f"{len(names)} --name given for {len(args.folders)} folders")
    names = names + [Path(f).name for f in args.folders[len(names):]]
    return table3_markdown({n: folder_metrics(f) for n, f in zip(names, args.folders)}, paper=not args.no_paper)


def _reproduce(args) -> str:
    from .reproduce import reproduce

    report = reproduce(args.data, args.out, epochs=args.epochs, seed=args.seed, device=args.device,
                       precision=args.precision, progress=not args.quiet)
    return f"report: {report}"


COMMANDS = {"train": _train, "evaluate": _evaluate, "generate": _generate, "metrics": _metrics,
            "reproduce": _reproduce}


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"emovae: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        print(COMMANDS[args.command](args))
        return 0
    except EmovaeError as exc:
        print(f"emovae: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("emovae: interrupted; a training run continues from its last checkpoint with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
