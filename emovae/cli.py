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


def _train_defaults() -> dict:
    from .config import DEFAULT_PRESET, PRESETS

    return PRESETS[DEFAULT_PRESET].train.to_dict() | PRESETS[DEFAULT_PRESET].model.to_dict()


def build_parser() -> argparse.ArgumentParser:
    from .config import ALIASES, DEFAULT_PRESET, PRECISIONS, PRESETS

    d = _train_defaults()
    p = _Parser(prog="emovae", description="Melodies with a chosen emotion: a conditional VAE whose latent "
                "plane is Russell's valence-arousal plane (Grekow 2025). Data: --data DIR or $EMOVAE_DATA.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets_help = "; ".join(f"{name}: {pr.description}" for name, pr in PRESETS.items())
    t = sub.add_parser("train", help="train a model (a preset, settings overridden) on a data set",
                       description="Train a model; writes OUT/checkpoint.pt, OUT/history.json, OUT/latent/*.png. "
                                   "Settings not given come from the preset.")
    t.add_argument("--data", help="data set folder with e1..e4/*.mid (default: $EMOVAE_DATA)")
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--preset", "--model", dest="preset", default=DEFAULT_PRESET,
                   choices=[*PRESETS, *ALIASES], metavar="NAME",
                   help=f"named configuration (default: {DEFAULT_PRESET}). {presets_help}")
    t.add_argument("--epochs", type=_positive_int, help=f"passes over the training split (preset: {d['epochs']})")
    t.add_argument("--batch-size", type=_positive_int, help=f"examples per step (preset: {d['batch_size']})")
    t.add_argument("--lr", type=float, help=f"RMSprop learning rate (preset: {d['lr']:g})")
    t.add_argument("--seed", type=int, help=f"initialisation, shuffling and noise (preset: {d['seed']})")
    t.add_argument("--split-seed", type=int, help=f"stratified 80/20 split (preset: {d['split_seed']})")
    t.add_argument("--weight-arousal", type=float, help="weight of L_EmoA (preset: 80 for paper-emoreg, 0 for paper-base)")
    t.add_argument("--weight-valence", type=float, help="weight of L_EmoV (preset: 70 for paper-emoreg, 0 for paper-base)")
    t.add_argument("--reduction", choices=["sum", "mean"], help=f"L_R over the batch (preset: {d['reduction']})")
    t.add_argument("--hidden", type=_positive_int, help=f"GRU units (preset: {d['hidden']})")
    t.add_argument("--dense", type=_positive_int, help=f"encoder Dense units (preset: {d['dense']})")
    t.add_argument("--log-every", type=_positive_int, default=50,
                   help="epochs between quadrant accuracies and latent pictures (default: 50)")
    t.add_argument("--checkpoint-every", type=_positive_int, help=f"(preset: {d['checkpoint_every']})")
    t.add_argument("--no-validate", action="store_true", help="skip the held-out pass after each epoch")
    t.add_argument("--device", help="auto (GPU when present), cpu or cuda (default: auto)")
    t.add_argument("--precision", choices=PRECISIONS, help=f"GRU matrix products (default: {d['precision']})")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out with its stored configuration (only --epochs and --device apply)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="quadrant accuracy (Table 2) and latent pictures of a model")
    e.add_argument("checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    e.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    e.add_argument("--out", help="folder for latent pictures and accuracy.json")

    g = sub.add_parser("generate", help="write melodies of chosen emotions as MIDI",
                       description="Writes OUT/e1..e4/*.mid. Sampling as the paper: z ~ N(0, 2^2) around "
                                   "the emotion's quadrant centre (CVAE-EmoReg).")
    g.add_argument("checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
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

    s = sub.add_parser("serve", help="the emotion plane in the browser: a local web page and JSON API",
                       description="Starts a local web server (FastAPI + uvicorn; pip install 'emovae[web]'). "
                                   "Open the printed address: click the plane to hear and see the melody there.")
    s.add_argument("checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=_positive_int, default=8000, help="port (default: 8000)")
    s.add_argument("--data", help="data set folder for the training melodies' dots (default: $EMOVAE_DATA, if set)")

    r = sub.add_parser("reproduce", help="train both paper presets and write a report of Tables 2, 3 and Figs. 5-7")
    r.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    r.add_argument("--out", default="reproduction", help="report folder (default: reproduction)")
    r.add_argument("--epochs", type=_positive_int, default=d["epochs"])
    r.add_argument("--seed", type=int, default=d["seed"])
    r.add_argument("--device", default="auto")
    r.add_argument("--precision", choices=PRECISIONS, default=d["precision"])
    r.add_argument("--quiet", action="store_true")
    return p


_TRAIN_FLAGS = ("epochs", "batch_size", "lr", "seed", "split_seed", "weight_arousal", "weight_valence",
                "reduction", "checkpoint_every", "device", "precision")


def _train(args) -> str:
    import dataclasses

    from .config import preset
    from .evaluate import QuadrantLog
    from .training import train

    overrides = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
    if args.no_validate:
        overrides["validate"] = False
    chosen = preset(args.preset, **overrides)
    sizes = {k: getattr(args, k) for k in ("hidden", "dense") if getattr(args, k) is not None}
    model_config = dataclasses.replace(chosen.model, **sizes)
    config = chosen.train
    stored = Path(args.out) / "checkpoint.pt"
    if args.resume and stored.is_file():   # the stored run's settings; only --epochs and --device apply
        from .checkpoint import load_model

        previous = load_model(stored).train_config
        config = dataclasses.replace(previous, epochs=args.epochs or previous.epochs,
                                     device=args.device or previous.device)
    ckpt = train(args.data, args.out, model_config=model_config, config=config, resume=args.resume,
                 progress=not args.quiet, callbacks=[QuadrantLog(every=args.log_every, out_dir=args.out)])
    last = ckpt.history[-1] if ckpt.history else {}
    acc = last.get("d_train")
    tail = f"; D_i train mean {acc['mean_recall']:.1f}%" if acc and acc.get("mean_recall") is not None else ""
    return f"trained {ckpt.epoch} epochs{tail}; checkpoint: {Path(args.out) / 'checkpoint.pt'}"


def _evaluate(args) -> str:
    from .checkpoint import load_model
    from .evaluate import evaluate_model, evaluation_markdown, write_evaluation

    model = load_model(args.checkpoint)
    ev = evaluate_model(model, args.data)
    if args.out:
        write_evaluation(ev, args.out, name=model.path.name)
    return f"{model.path} (epoch {model.epoch})\n\n" + evaluation_markdown(ev)


def _generate(args) -> str:
    from .checkpoint import load_model
    from .data import write_midi
    from .emotions import LABELS, emotion_index
    from .generation import generate, generate_set

    model = load_model(args.checkpoint)
    emotions = [emotion_index(e) for e in (args.emotion or LABELS)]   # unknown emotions fail before any write
    shift = {"auto": None, "yes": True, "no": False}[args.shift]
    if args.at is None:
        paths = generate_set(model, args.out, n_per_emotion=args.count, seed=args.seed, emotions=emotions,
                             shift=shift)
    else:
        paths = []
        for e in emotions:
            tokens = generate(model, e, 1, at=args.at)
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
    from .reproduction import reproduce

    report = reproduce(args.data, args.out, epochs=args.epochs, seed=args.seed, device=args.device,
                       precision=args.precision, progress=not args.quiet)
    return f"report: {report}"


def _serve(args) -> str:
    from .server import serve

    serve(args.checkpoint, host=args.host, port=args.port, data_root=args.data)
    return "server stopped"


COMMANDS = {"serve": _serve, "train": _train, "evaluate": _evaluate, "generate": _generate, "metrics": _metrics,
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
