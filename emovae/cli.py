"""Command-line interface: ``emovae train | evaluate | generate | metrics | reproduce``.

A thin layer over the Python API. Bad input ends with one line ``emovae: error: ...`` and exit
status 2 (no traceback); warnings are one line ``emovae: warning: ...``.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from .errors import EmovaeError, EmovaeWarning

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


def _temperature(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not (v >= 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: a number >= 0 is needed (0 = argmax)")
    return v


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

    g = sub.add_parser("generate", help="write melodies of chosen emotions (MIDI, score, audio)",
                       description="Writes OUT/e1..e4/<name>.mid (and .svg/.wav/.musicxml with --format). Sampling "
                                   "as the paper: z ~ N(0, 2^2) around the emotion's quadrant centre (CVAE-EmoReg), "
                                   "read by argmax (--temperature 0). --at decodes one point; --path a longer melody "
                                   "whose emotion moves.")
    g.add_argument("checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--emotion", action="append",
                   help="e1..e4, Q1..Q4 or happy/angry/sad/relaxed; repeatable (default: all four; with --at: the "
                        "point's quadrant)")
    g.add_argument("-n", "--count", type=_positive_int, default=None,
                   help="melodies per emotion (default: 20; with --at or --path: 1)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    g.add_argument("--at", type=_point, metavar="V,A",
                   help="decode this point of the plane, e.g. --at=2,-1.5 (valence,arousal; write = before a minus sign)")
    g.add_argument("--path", metavar="WAYPOINTS",
                   help="a longer melody along a path: emotions (happy,sad,relaxed) or points (\"2,2;-2,-1\")")
    g.add_argument("--bars", type=_positive_int, default=16, help="length of a --path melody in bars, a multiple of 4 "
                   "(default: 16)")
    g.add_argument("--temperature", type=_temperature, default=0.0,
                   help="0 = argmax at each step (the paper's way, default); above 0 = sample from softmax(logits/T)")
    g.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")
    g.add_argument("--plot", action="store_true",
                   help="also write OUT/plane.png: the generated points over the training points (needs the data set)")
    g.add_argument("--data", help="data set for --plot (default: $EMOVAE_DATA)")
    g.add_argument("--shift", choices=["auto", "yes", "no"], default="auto",
                   help="sample around the quadrant centre (auto: yes for CVAE-EmoReg)")

    c = sub.add_parser("encode", help="place your own melodies on the emotion plane",
                       description="Prints each melody's point (valence, arousal), quadrant and emotion. The paper's "
                                   "encoder reads the emotion label too, so without --emotion each melody is encoded "
                                   "under all four labels and the label whose point lies deepest in its own quadrant "
                                   "is reported (with how many labels land in their own quadrant). A melody longer "
                                   "than 4 bars gives one point per 4-bar segment: its path over the plane.")
    c.add_argument("melodies", nargs="+", help="MIDI files or folders of them")
    c.add_argument("--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    c.add_argument("--emotion", help="encode under this label instead of trying all four")
    c.add_argument("--json", action="store_true", help="print JSON (one object per melody) instead of text")
    c.add_argument("--plot", metavar="PNG", help="draw the melodies' points (and paths) on the plane into this PNG")

    tr = sub.add_parser("transform", help="move your melody into another emotion's quadrant",
                        description="Places the melody (as encode does), mirrors its point across the axes into the "
                                    "target quadrant (keeping its distance to each axis) and decodes it with the target "
                                    "emotion. Writes OUT/<name>_to_<emotion>.mid (+ --format).")
    tr.add_argument("melody", help="a MIDI file")
    tr.add_argument("--to", required=True, help="target emotion: happy, angry, sad, relaxed (or e1..e4, Q1..Q4)")
    tr.add_argument("--out", required=True, help="output folder")
    tr.add_argument("--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    tr.add_argument("--emotion", help="the melody's own label (default: found as encode does)")
    tr.add_argument("--temperature", type=_temperature, default=0.0)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")

    ip = sub.add_parser("interpolate", help="melodies on the straight line between two melodies or points",
                        description="Writes OUT/step_000.mid ... (+ --format), each decoded with its point's quadrant emotion.")
    ip.add_argument("start", help="a MIDI file or a point V,A (write = before a minus sign: --start=...)")
    ip.add_argument("end", help="a MIDI file or a point V,A")
    ip.add_argument("--steps", type=_positive_int, default=8, help="melodies, both ends included (default: 8)")
    ip.add_argument("--out", required=True, help="output folder")
    ip.add_argument("--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)")
    ip.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")

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

    rp = sub.add_parser("report", help="evaluation beyond the paper: emotion control, every point a melody, copies, seeds",
                        description="Writes OUT/report.md + PNGs: an independent emotion classifier (trained on real "
                                    "melodies only), its control accuracy on generated sets, a grid over the plane, "
                                    "novelty and diversity, D_i and reconstruction over seeds, Table 3 closeness.")
    rp.add_argument("--out", required=True, help="report folder")
    rp.add_argument("--model", action="append", metavar="[NAME=]SPEC",
                    help="a model to generate from: emoreg, base, a checkpoint or a run folder; repeatable "
                         "(default: the bundled emoreg and base)")
    rp.add_argument("--set", action="append", metavar="NAME=FOLDER",
                    help="a folder of generated melodies laid out as e1..e4 to judge too; repeatable "
                         "(default: the authors' sets found beside the data set)")
    rp.add_argument("--runs", action="append", metavar="NAME=FOLDER[,FOLDER...]",
                    help="training runs of one recipe over several seeds (run folders); repeatable")
    rp.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    rp.add_argument("--grid", type=_positive_int, default=41, help="grid points per axis over the plane (default: 41)")
    rp.add_argument("-n", "--count", type=_positive_int, default=100, help="melodies generated per emotion (default: 100)")
    rp.add_argument("--seed", type=int, default=0, help="seed for generation and the classifier (default: 0)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")

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


def _formats(text: str) -> list[str]:
    from .render import _formats as check

    return check(text)


def _write_melodies(melodies, folder: Path, formats) -> list[Path]:
    paths = []
    for melody in melodies:
        if melody.degenerate:
            warnings.warn(f"{melody.name}: a degenerate melody ({len(melody.notes)} notes, "
                          f"{len({p for _, _, p in melody.notes})} pitches); written all the same", EmovaeWarning, stacklevel=2)
        paths += melody.save(folder / melody.name, formats)
    return paths


def _plane_plot(model, path: Path, marks, labels=None, path_points=None, data_root=None) -> Path | None:
    """The plane with marks over the training points (when a data set can be found)."""
    from .plots import plot_plane

    train_pts, train_labels = np.zeros((0, 2)), np.zeros(0, dtype=int)
    try:
        from .evaluate import model_split

        data = model_split(model.trained, data_root)
        train_labels = data.labels
        train_pts = model.trained.encode(model.trained.vocab.decode(data.indices), data.labels)
    except EmovaeError as exc:
        warnings.warn(f"plane picture without training points ({exc})", EmovaeWarning, stacklevel=2)
    return plot_plane(train_pts, train_labels, path, marks=marks, mark_labels=labels, path_points=path_points,
                      title=f"{model.title}: generated points over the training melodies")


def _generate(args) -> str:
    from .api import load
    from .emotions import LABELS, NAMES, emotion_index, quadrant_of_point

    formats = _formats(args.format)
    model = load(args.checkpoint)
    out = Path(args.out)
    if args.path is not None and args.at is not None:
        raise EmovaeError("give --at or --path, not both")
    if args.path is not None:
        if args.emotion:
            warnings.warn("--emotion is ignored with --path: each segment takes its point's quadrant emotion",
                          EmovaeWarning, stacklevel=2)
        text = args.path.strip()
        waypoints = text.split(";") if ";" in text or text.count(",") == 1 and \
            all(_is_number(t) for t in text.split(",")) else text.split(",")
        waypoints = [w for w in waypoints if w.strip()]
        melody = model.path(waypoints, bars=args.bars, seed=args.seed, temperature=args.temperature)
        paths = _write_melodies([melody], out, formats)
        pts = np.asarray(melody.points)
        _plane_plot(model, out / f"{melody.name}.png", pts, [f"{k + 1}" for k in range(len(pts))], pts, args.data)
        route = " -> ".join(f"{NAMES[e]} ({v:+.1f}, {a:+.1f})" for e, (v, a) in zip(melody.emotions, melody.points))
        return f"wrote {melody.name} ({melody.bars} bars: {route}) under {out}: " + ", ".join(p.name for p in paths)
    if args.at is not None:
        n = args.count or 1
        if n > 1 and args.temperature == 0:
            warnings.warn(f"-n {n} at one point with --temperature 0 gives {n} identical melodies; "
                          "give --temperature above 0 for different ones", EmovaeWarning, stacklevel=2)
        quadrant = quadrant_of_point(*args.at)
        emotions = [emotion_index(e) for e in args.emotion] if args.emotion else [quadrant]
        for e in emotions:
            if e != quadrant:
                warnings.warn(f"--emotion {NAMES[e]} with --at={args.at[0]:g},{args.at[1]:g}, a point of Q{quadrant + 1} "
                              f"{NAMES[quadrant]}: decoded with {NAMES[e]} as the condition", EmovaeWarning, stacklevel=2)
        melodies = []
        for e in emotions:
            found = model.at(*args.at, emotion=e, n=n, seed=args.seed, temperature=args.temperature)
            melodies += found if isinstance(found, list) else [found]
    else:
        emotions = [emotion_index(e) for e in (args.emotion or LABELS)]   # unknown emotions fail before any write
        shift = {"auto": None, "yes": True, "no": False}[args.shift]
        melodies = [m for e in emotions for m in model.generate(e, n=args.count or 20, seed=args.seed,
                                                                 temperature=args.temperature, shift=shift)]
    paths = []
    for melody in melodies:
        paths += _write_melodies([melody], out / LABELS[melody.emotions[0]], formats)
    if args.plot:
        pts = np.asarray([m.point for m in melodies])
        paths.append(_plane_plot(model, out / "plane.png", pts, data_root=args.data))
    return f"wrote {len(paths)} files ({', '.join(formats)}) for {len(melodies)} melodies under {out}"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _melody_files(items) -> list[Path]:
    from .data import midi_files

    files = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = midi_files(path) + [f for sub in sorted(path.iterdir()) if sub.is_dir() and not
                                        sub.name.startswith(".") for f in midi_files(sub)]
            if not found:
                raise EmovaeError(f"{path}: no .mid files in this folder (or its subfolders)")
            files += found
        else:
            files.append(path)
    return files


def _encode(args) -> str:
    import json

    from .api import load

    model = load(args.checkpoint)
    files = _melody_files(args.melodies)
    results = [model.encode(f, emotion=args.emotion) for f in files]   # every file read before any output
    if args.plot:
        marks = np.asarray([p for m in results for p in m.points])
        labels = [f"{m.name}" if len(m.points) == 1 else f"{m.name} {k + 1}" for m in results
                  for k in range(len(m.points))]
        paths = [np.asarray(m.points) for m in results if len(m.points) > 1]
        _plane_plot(model, Path(args.plot), marks, labels, paths[0] if len(paths) == 1 else None)
    if args.json:
        return "\n".join(json.dumps({"file": m.source, "placements": m.info["placements"]}) for m in results)
    lines = []
    for m in results:
        for k, (pl, verdict) in enumerate(zip(m.info["placements"], m.info["verdicts"])):
            where = m.source if len(m.points) == 1 else f"{m.source} bars {4 * k + 1}-{4 * k + 4}"
            v, a = pl["point"]
            lines.append(f"{where}: valence {v:+.2f}, arousal {a:+.2f}: {verdict}")
    return "\n".join(lines)


def _transform(args) -> str:
    from .api import load

    formats = _formats(args.format)
    model = load(args.checkpoint)
    moved = model.transform(args.melody, args.to, emotion=args.emotion, temperature=args.temperature, seed=args.seed)
    paths = moved.save(Path(args.out) / moved.name, formats)
    src = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.info["from_points"])
    dst = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.points)
    return f"{args.melody}: {src} -> {dst} ({moved.emotion}); wrote " + ", ".join(str(p) for p in paths)


def _end(text: str):
    if "," in text and not Path(text).exists():
        return _point(text)
    return text


def _interpolate(args) -> str:
    from .api import load

    formats = _formats(args.format)
    model = load(args.checkpoint)
    try:
        start, end = _end(args.start), _end(args.end)
    except argparse.ArgumentTypeError as exc:
        raise EmovaeError(str(exc)) from None
    melodies = model.interpolate(start, end, args.steps)
    _write_melodies(melodies, Path(args.out), formats)
    route = " -> ".join(f"({v:+.1f}, {a:+.1f})" for v, a in (m.point for m in melodies))
    return f"wrote {len(melodies)} melodies under {args.out}: {route}"


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


def _named(items, what: str) -> dict:
    """NAME=VALUE items (or bare VALUEs, named by themselves) as a dict."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            name, value = Path(item).name or item, item
        if not name or not value:
            raise EmovaeError(f"{what} {item!r}: write NAME=VALUE")
        out[name] = value
    return out


def _report(args) -> str:
    from .report import report

    runs = {name: value.split(",") for name, value in _named(args.runs, "--runs").items()}
    path = report(args.out, models=_named(args.model, "--model") or None, sets=_named(args.set, "--set") or None,
                  runs=runs or None, data_root=args.data, grid=args.grid, n_per_emotion=args.count, seed=args.seed,
                  progress=not args.quiet)
    return f"report: {path}"


def _serve(args) -> str:
    from .server import serve

    serve(args.checkpoint, host=args.host, port=args.port, data_root=args.data)
    return "server stopped"


COMMANDS = {"report": _report, "serve": _serve, "encode": _encode, "transform": _transform, "interpolate": _interpolate,
            "train": _train, "evaluate": _evaluate, "generate": _generate, "metrics": _metrics,
            "reproduce": _reproduce}


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"emovae: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:   # --help (0) or a usage error (2, already printed on one line)
        return int(exc.code or 0)
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
