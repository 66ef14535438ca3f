"""Your own melodies on the plane: ``emovae encode``, ``transform`` and ``interpolate``."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from ..errors import EmovaeError, EmovaeWarning
from .args import FORMAT_HELP, MODEL_HELP, formats, point, positive_int, seed, temperature
from .output import MEDIA, OutFolder, add_force, media, plane_plot, progress, write_melodies


def add_parser(subparsers) -> None:
    c = subparsers.add_parser(
        "encode",
        help="place your own melodies on the emotion plane",
        description="Prints each melody's point (valence, arousal), quadrant and emotion. The paper's "
        "encoder reads the emotion label too, so without --emotion the label comes from the emotion "
        "classifier fitted on the data set (--data, $EMOVAE_DATA; its probability shown) and the "
        "melody is encoded under it; without a data set the emotion is reported unknown. A melody "
        "longer than 4 bars gives one point per 4-bar segment: its path over the plane.",
    )
    c.add_argument("melodies", nargs="+", help="MIDI files or folders of them")
    c.add_argument("--model", dest="checkpoint", help=MODEL_HELP)
    c.add_argument("--emotion", help="encode under this label instead of trying all four")
    c.add_argument("--json", action="store_true", help="print JSON (one object per melody) instead of text")
    add_force(c, "replace an existing --plot file")
    c.add_argument("--plot", metavar="PNG", help="draw the melodies' points (and paths) on the plane into this PNG")
    c.add_argument(
        "--data",
        help="data set for the emotion classifier (without --emotion) and --plot's training points "
        "(default: $EMOVAE_DATA)",
    )

    tr = subparsers.add_parser(
        "transform",
        help="move your melody into another emotion's quadrant",
        description="Places the melody (as encode does), mirrors its point across the axes into the "
        "target quadrant (keeping its distance to each axis) and decodes it with the target "
        "emotion. Writes OUT/<name>_to_<emotion>.mid (+ --format).",
    )
    tr.add_argument("melody", help="a MIDI file")
    tr.add_argument("--to", required=True, help="target emotion: happy, angry, sad, relaxed (or e1..e4, Q1..Q4)")
    tr.add_argument("--out", required=True, help="output folder")
    tr.add_argument("--model", dest="checkpoint", help=MODEL_HELP)
    tr.add_argument("--emotion", help="the melody's own label (default: found as encode does)")
    tr.add_argument("--temperature", type=temperature, default=0.0, help="0 = argmax (default)")
    tr.add_argument("--seed", type=seed, default=None, help="sampling seed with --temperature above 0 (default: 0)")
    tr.add_argument("--format", default="midi", help=FORMAT_HELP)
    add_force(tr, "replace this melody's earlier transform in --out")

    ip = subparsers.add_parser(
        "interpolate",
        help="melodies on the straight line between two melodies or points",
        description="Writes OUT/step_000.mid ... (+ --format), each decoded with its point's quadrant emotion.",
    )
    ip.add_argument(
        "start",
        help="a MIDI file, a point V,A or an emotion (its quadrant centre); a point starting with a minus "
        "sign needs -- before the two ends: interpolate --out DIR -- -1,2 2,-1",
    )
    ip.add_argument("end", help="a MIDI file, a point V,A or an emotion (its quadrant centre)")
    ip.add_argument("--steps", type=positive_int, default=8, help="melodies, both ends included, 2 to 256 (default: 8)")
    ip.add_argument("--out", required=True, help="output folder")
    ip.add_argument("--model", dest="checkpoint", help=MODEL_HELP)
    ip.add_argument("--format", default="midi", help=FORMAT_HELP)
    add_force(ip, "replace an earlier interpolation's steps in --out")


def run(args) -> str:
    return {"encode": _encode, "transform": _transform, "interpolate": _interpolate}[args.command](args)


def _melody_files(items) -> list[Path]:
    """MIDI files, folders of them (and their subfolders, one level: e1..e4) expanded."""
    from ..data import midi_files

    files = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = midi_files(path) + [
                f
                for sub in sorted(path.iterdir())
                if sub.is_dir() and not sub.name.startswith(".")
                for f in midi_files(sub)
            ]
            if not found:
                raise EmovaeError(f"{path}: no .mid files in this folder (or its subfolders)")
            files += found
        else:
            files.append(path)
    return files


def _encode(args) -> str:
    import json

    from ..api import load
    from ..emotions import emotion_index

    if args.emotion is not None:
        emotion_index(args.emotion)
    if args.plot:
        from ..atomic import check_output

        plot = check_output(args.plot, "file", what="--plot")
        if plot.exists() and not args.force:
            raise EmovaeError(f"--plot {plot}: exists; pass --force to replace it, or choose another file name")
    files = _melody_files(args.melodies)
    model = load(args.checkpoint)
    results = [
        model.encode(f, emotion=args.emotion, data=args.data) for f in progress(files, "encode", "file")
    ]  # every file read before any output
    if args.plot:
        marks = np.asarray([p for m in results for p in m.points])
        labels = [
            f"{m.name}" if len(m.points) == 1 else f"{m.name} {k + 1}" for m in results for k in range(len(m.points))
        ]
        paths = [np.asarray(m.points) for m in results if len(m.points) > 1]
        plane_plot(
            model,
            Path(args.plot),
            marks,
            labels,
            paths[0] if len(paths) == 1 else None,
            args.data,
            mark_name="your melodies",
        )
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
    from ..emotions import NAMES, emotion_index

    chosen = formats(args.format)
    target = emotion_index(args.to)
    if args.emotion is not None:
        emotion_index(args.emotion)
    if args.seed is not None and args.temperature == 0:
        warnings.warn(
            "--seed has no effect with --temperature 0 (argmax: the point fixes the melody)",
            EmovaeWarning,
            stacklevel=2,
        )
    out = OutFolder(args.out, media(f"{Path(args.melody).stem}_to_{NAMES[target]}"), args.force)
    from ..api import load

    model = load(args.checkpoint)
    moved = model.transform(
        args.melody,
        target,
        emotion=args.emotion,
        temperature=args.temperature,
        seed=0 if args.seed is None else args.seed,
    )
    paths = write_melodies([moved], out.path, chosen)
    out.finish()
    src = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.info["from_points"])
    dst = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.points)
    return f"{args.melody}: {src} -> {dst} ({moved.emotion}); wrote " + ", ".join(str(p) for p in paths)


def _end(text: str):
    """An interpolation end: a point V,A or an emotion (its quadrant centre) unless a file of
    that name exists, else a MIDI file."""
    from ..emotions import quadrant_centre

    if Path(text).exists() or Path(text).suffix.lower() in (".mid", ".midi"):
        return text  # the MIDI reader says what is wrong with it
    if "," in text:
        return point(text)
    try:
        return tuple(quadrant_centre(text))
    except EmovaeError:
        raise EmovaeError(
            f"{text}: neither a MIDI file, a point V,A nor an emotion (happy, angry, sad, relaxed, e1..e4)"
        ) from None


def _interpolate(args) -> str:
    chosen = formats(args.format)
    try:
        start, end = _end(args.start), _end(args.end)
    except argparse.ArgumentTypeError as exc:
        raise EmovaeError(str(exc)) from None
    from ..limits import MAX_PATH_POINTS

    if not 2 <= args.steps <= MAX_PATH_POINTS * 4:
        raise EmovaeError(f"--steps {args.steps}: from 2 to {MAX_PATH_POINTS * 4} are allowed (both ends included)")
    out = OutFolder(args.out, [f"step_*{ext}" for ext in MEDIA], args.force)
    from ..api import load

    model = load(args.checkpoint)
    melodies = model.interpolate(start, end, args.steps)
    write_melodies(melodies, out.stage(), chosen)  # moved into place by finish: a run cut short leaves nothing
    out.finish()
    route = " -> ".join(f"({v:+.1f}, {a:+.1f})" for v, a in (m.point for m in melodies))
    return f"wrote {len(melodies)} melodies under {out.path}: {route}"
