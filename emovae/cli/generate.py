"""``emovae generate``: melodies of chosen emotions, one point (``--at``) or a longer melody along a path."""

from __future__ import annotations

import warnings

import numpy as np

from ..data import _count
from ..errors import EmovaeError, EmovaeWarning
from .args import (
    FORMAT_HELP,
    MAX_COUNT,
    MODEL_HELP,
    count,
    formats,
    is_number,
    point,
    positive_float,
    positive_int,
    seed,
    temperature,
)
from .output import MEDIA, OutFolder, add_force, plane_plot, progress, write_melodies


def add_parser(subparsers) -> None:
    g = subparsers.add_parser(
        "generate",
        help="write melodies of chosen emotions (MIDI, score, audio)",
        description="Writes OUT/e1..e4/<name>.mid, or the files --format asks for (.musicxml, .svg, .wav; "
        "MIDI only when midi is among them). Sampling "
        "as the paper: z ~ N(0, 2^2) around the emotion's quadrant centre (CVAE-EmoReg), "
        "read by argmax (--temperature 0). --at decodes one point; --path a longer melody "
        "whose emotion moves.",
    )
    g.add_argument("checkpoint", nargs="?", help=MODEL_HELP)
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument(
        "--emotion",
        action="append",
        help="e1..e4, Q1..Q4 or happy/angry/sad/relaxed; repeatable (default: all four; with --at: the "
        "point's quadrant)",
    )
    g.add_argument(
        "-n",
        "--count",
        type=count,
        default=None,
        help=f"melodies per emotion, at most {MAX_COUNT:,} (default: 20; with --at: 1)",
    )
    g.add_argument("--seed", type=seed, default=None, help="sampling seed (default: 0)")
    g.add_argument(
        "--at",
        type=point,
        metavar="V,A",
        help="decode this point of the plane, e.g. --at=2,-1.5 (valence,arousal; write = before a minus sign)",
    )
    g.add_argument(
        "--path",
        metavar="WAYPOINTS",
        help='a longer melody along a path: emotions (happy,sad,relaxed) or points ("2,2;-2,-1")',
    )
    g.add_argument(
        "--bars",
        type=positive_int,
        default=16,
        help="length of a --path melody in bars, a multiple of 4 (default: 16)",
    )
    g.add_argument(
        "--temperature",
        type=temperature,
        default=0.0,
        help="0 = argmax at each step (the paper's way, default); above 0 = sample from softmax(logits/T)",
    )
    g.add_argument("--format", default="midi", help=FORMAT_HELP)
    g.add_argument(
        "--plot",
        action="store_true",
        help="also write OUT/plane.png: the generated points over the training points (needs the data set)",
    )
    g.add_argument("--data", help="data set for --plot (default: $EMOVAE_DATA)")
    g.add_argument(
        "--shift",
        choices=["auto", "yes", "no"],
        default=None,
        help="sample around the quadrant centre (auto: yes for CVAE-EmoReg; default: auto)",
    )
    g.add_argument(
        "--sampler",
        choices=["paper", "fitted"],
        default=None,
        help="paper: z ~ N(0, 2^2) around the quadrant centre; fitted: a Gaussian fitted to where the model put "
        "each emotion's training melodies (default: fitted where the checkpoint carries it, else paper)",
    )
    g.add_argument(
        "--spread", type=positive_float, default=1.0, help="fitted sampler: its spread times this (default: 1)"
    )
    g.add_argument(
        "--unique",
        action="store_true",
        help="the copy guard: a melody equal to a training melody is drawn again near its point",
    )
    add_force(
        g,
        "write into an e1..e4 folder (or over plane.png, path melodies) that holds an earlier run's "
        "files: they are removed once the new ones are written",
    )


def run(args) -> str:
    chosen = formats(args.format)
    if args.path is not None and args.at is not None:
        raise EmovaeError("give --at or --path, not both")
    if args.path is not None:
        return _along_path(args, chosen)
    if args.bars != 16:
        warnings.warn(
            f"--bars {args.bars} ignored without --path: melodies are 4 bars (give --path for a longer one)",
            EmovaeWarning,
            stacklevel=2,
        )
    return _melodies(args, chosen)


def _waypoints(text: str) -> list[str]:
    """--path: emotions split at commas, or points split at semicolons (one point alone: V,A)."""
    text = text.strip()
    waypoints = (
        text.split(";")
        if ";" in text or text.count(",") == 1 and all(is_number(t) for t in text.split(","))
        else text.split(",")
    )
    if len(waypoints) > 1 and any(not w.strip() for w in waypoints):
        raise EmovaeError(
            f"--path {text!r}: an empty waypoint (two separators in a row, or one at an end); "
            "give an emotion or a point V,A at each"
        )
    return [w for w in waypoints if w.strip()]


def _along_path(args, chosen: list[str]) -> str:
    from ..emotions import NAMES

    ignored = [
        flag
        for flag, given in (
            ("--emotion", args.emotion),
            ("-n", args.count),
            ("--shift", args.shift),
            ("--plot", args.plot),
        )
        if given
    ]
    if ignored:
        warnings.warn(
            f"{', '.join(ignored)} ignored with --path: one melody, each segment with its point's "
            "quadrant emotion (its plane picture is always drawn)",
            EmovaeWarning,
            stacklevel=2,
        )
    out = OutFolder(args.out, [f"path_*{ext}" for ext in (*MEDIA, ".png")], args.force)
    from ..api import load

    model = load(args.checkpoint)
    melody = model.path(
        _waypoints(args.path),
        bars=args.bars,
        seed=0 if args.seed is None else args.seed,
        temperature=args.temperature,
    )
    stage = out.stage()  # moved into place by finish: a run cut short leaves nothing
    paths = write_melodies([melody], stage, chosen)
    pts = np.asarray(melody.points)
    plane_plot(model, stage / f"{melody.name}.png", pts, [f"{k + 1}" for k in range(len(pts))], pts, args.data)
    out.finish()
    route = " -> ".join(f"{NAMES[e]} ({v:+.1f}, {a:+.1f})" for e, (v, a) in zip(melody.emotions, melody.points))
    return f"wrote {melody.name} ({melody.bars} bars: {route}) under {out.path}: " + ", ".join(p.name for p in paths)


def _at_emotions(args) -> list[int]:
    """--at: the emotions to decode the point with (its quadrant's unless --emotion), with warnings."""
    from ..emotions import NAMES, emotion_index, quadrant_of_point

    n = args.count or 1
    if args.shift is not None:
        warnings.warn("--shift ignored with --at: the point is decoded as given", EmovaeWarning, stacklevel=3)
    if n > 1 and args.temperature == 0:
        warnings.warn(
            f"-n {n} at one point with --temperature 0 gives {n} identical melodies; "
            "give --temperature above 0 for different ones",
            EmovaeWarning,
            stacklevel=3,
        )
    if args.seed is not None and args.temperature == 0:
        warnings.warn(
            "--seed has no effect at one point with --temperature 0 (argmax: the point fixes the melody)",
            EmovaeWarning,
            stacklevel=3,
        )
    quadrant = quadrant_of_point(*args.at)
    emotions = [emotion_index(e) for e in args.emotion] if args.emotion else [quadrant]
    for e in emotions:
        if e != quadrant:
            warnings.warn(
                f"--emotion {NAMES[e]} with --at={args.at[0]:g},{args.at[1]:g}, a point of Q{quadrant + 1} "
                f"{NAMES[quadrant]}: decoded with {NAMES[e]} as the condition",
                EmovaeWarning,
                stacklevel=3,
            )
    return emotions


def _refuse_foreign_melodies(out, folders: list[str]) -> None:
    """An e1..e4 folder with melodies emovae did not write (not named e1_...) would mix them into
    the new set (``metrics`` reads every .mid there), and --force must not delete them: refused."""
    from pathlib import Path

    for name in folders:
        folder = Path(out) / name
        foreign = sorted(
            p.name
            for ext in MEDIA
            for p in (folder.glob(f"*{ext}") if folder.is_dir() else ())
            if p.is_file() and not p.name.startswith(f"{name}_")
        )
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise EmovaeError(
                f"--out {out}: {name}/{foreign[0]}{more} not written by emovae (its files are {name}/{name}_*); "
                "they would be mixed into the new set and --force removes only emovae's files: move them or "
                "choose another folder"
            )


def _melodies(args, chosen: list[str]) -> str:
    """Sampled melodies per emotion (or the melodies at one point) under OUT/e1..e4/."""
    from ..emotions import LABELS, emotion_index

    if args.at is not None:
        emotions = _at_emotions(args)
    else:
        emotions = [emotion_index(e) for e in (args.emotion or LABELS)]  # unknown emotions fail before any write
    emotions = list(dict.fromkeys(emotions))
    # what emovae writes there: e1/e1_000.mid ..., e1/e1_v+1.00_a+2.00_000.mid; --force removes only those
    patterns = [f"{LABELS[e]}/{LABELS[e]}_*{ext}" for e in emotions for ext in MEDIA] + (
        ["plane.png"] if args.plot else []
    )
    _refuse_foreign_melodies(args.out, [LABELS[e] for e in emotions])
    out = OutFolder(args.out, patterns, args.force)
    from ..api import load

    model = load(args.checkpoint)
    shift = {None: None, "auto": None, "yes": True, "no": False}[args.shift]
    sampler = args.sampler or model.trained.default_sampler
    if args.spread != 1.0 and (args.at is not None or sampler == "paper"):
        why = "--at decodes one point" if args.at is not None else "the paper sampler is in use"
        warnings.warn(f"--spread ignored: it widens the fitted sampler, and {why}", EmovaeWarning, stacklevel=2)
    sampling_seed = 0 if args.seed is None else args.seed
    paths, points, marked, written = [], [], [], 0
    stage = out.stage()  # the whole set is moved into place by finish: a run cut short leaves nothing
    # one emotion at a time: memory holds one emotion's melodies, not all of them (a bar on a terminal)
    for e in progress(emotions, "generate", "emotion"):
        if args.at is not None:
            found = model.at(*args.at, emotion=e, n=args.count or 1, seed=sampling_seed, temperature=args.temperature)
            melodies = found if isinstance(found, list) else [found]
        else:
            melodies = model.generate(
                e,
                n=args.count or 20,
                seed=sampling_seed,
                temperature=args.temperature,
                shift=shift,
                sampler=args.sampler,
                spread=args.spread,
                unique=args.unique,
            )
        paths += write_melodies(melodies, stage / LABELS[e], chosen)
        points += [m.point for m in melodies]
        marked += [e] * len(melodies)
        written += len(melodies)
        del melodies
    if args.plot:
        paths.append(plane_plot(model, stage / "plane.png", np.asarray(points), data_root=args.data, emotions=marked))
    out.finish()
    return (
        f"wrote {_count(len(paths), 'file')} ({', '.join(chosen)}) for {written} "
        f"{'melody' if written == 1 else 'melodies'} under {out.path}"
    )
