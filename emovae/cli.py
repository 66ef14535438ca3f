"""Command-line interface: ``emovae train | evaluate | generate | metrics | reproduce | ...``.

A thin layer over the Python API. Bad input ends with one line ``emovae: error: ...`` and exit
status 2 (no traceback); warnings are one line ``emovae: warning: ...``; Ctrl-C ends with one
line ``emovae: interrupted ...`` and exit status 130 (a training run saves a checkpoint first).

Boundaries are checked before any work: numbers and points as they are parsed (counts at most
100,000 melodies per emotion), output folders and files before a model is loaded (an existing
file, an unwritable or read-only place: one line). An output folder that already holds what the
command would write (melodies in the same e1..e4 folder, the same transformed melody, steps of
an interpolation, an evaluation, a report) is refused unless ``--force``; with ``--force`` the
earlier files are removed once the new ones are written, files emovae did not write never.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from .errors import EmovaeError, EmovaeWarning, TrainingInterrupted

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
MAX_COUNT = 100_000  # melodies per emotion; = emovae.checkpoint.MAX_COUNT (not imported: no torch here)
MAX_SEED = 2**32 - 1  # = emovae.checkpoint.MAX_SEED
MIN_TEMPERATURE = 1e-3  # = emovae.checkpoint.MIN_TEMPERATURE
MAX_UNITS = 4096  # --hidden, --dense at most (the paper: 512 and 100)
MEDIA = (".mid", ".musicxml", ".svg", ".wav")  # the files a melody is written as


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``emovae: error: ... (see emovae train --help)``."""

    def error(self, message):
        print(f"emovae: error: {_single_line(message)} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def _single_line(text: str) -> str:
    """Whitespace collapsed and control characters (terminal escapes) dropped: one plain line."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def _shown(text: str, limit: int = 40) -> str:
    """The user's text as repr, cut to ``limit`` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _point(text: str) -> tuple[float, float]:
    """VALENCE,AROUSAL: two finite numbers on the plane [-8, 8]^2."""
    from .emotions import check_point

    try:
        v, a = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"coordinate {_shown(text)}: write VALENCE,AROUSAL, e.g. 2,-1.5") from None
    try:
        return check_point(v, a)
    except EmovaeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(text: str) -> float:
    """``text`` as a float; NaN when it is not a number, so every range check below fails."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _temperature(text: str) -> float:
    """0 (argmax) or a finite number >= MIN_TEMPERATURE."""
    v = _number(text)
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a number >= 0 is needed (0 = argmax)")
    if 0 < v < MIN_TEMPERATURE:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: use 0 (argmax) or a number >= {MIN_TEMPERATURE:g}")
    return v


def _positive_int(text: str, limit: int | None = None) -> int:
    """A whole number >= 1 (and <= ``limit`` when given)."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a whole number >= 1 is needed")
    if limit is not None and v > limit:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: at most {limit:,} (a whole number from 1 to {limit:,})")
    return v


def _count(text: str) -> int:
    """Melodies per emotion: 1..MAX_COUNT."""
    return _positive_int(text, MAX_COUNT)


def _units(text: str) -> int:
    """Layer sizes: 1..MAX_UNITS."""
    return _positive_int(text, MAX_UNITS)


def _epochs_or_off(text: str) -> int:
    """A whole number >= 0 (epochs of a schedule; 0 = off)."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a whole number >= 0 is needed")
    return v


def _latent(text: str) -> int:
    """Latent dimensions: 2 (the plane) to 64."""
    v = _positive_int(text, 64)
    if v < 2:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: at least 2 (the valence-arousal plane)")
    return v


def _port(text: str) -> int:
    return _positive_int(text, 65535)


def _seed(text: str) -> int:
    """A seed: a whole number from 0 to MAX_SEED."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a whole number from 0 to {MAX_SEED} is needed")
    return v


def _positive_float(text: str) -> float:
    v = _number(text)
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a number > 0 is needed")
    return v


def _weight(text: str) -> float:
    v = _number(text)
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"{_shown(text)}: a number >= 0 is needed")
    return v


def _train_defaults() -> dict:
    from .config import DEFAULT_PRESET, PRESETS

    return PRESETS[DEFAULT_PRESET].train.to_dict() | PRESETS[DEFAULT_PRESET].model.to_dict()


def build_parser() -> argparse.ArgumentParser:
    from .config import ALIASES, DEFAULT_PRESET, PRECISIONS, PRESETS

    d = _train_defaults()
    p = _Parser(
        prog="emovae",
        description="Melodies with a chosen emotion: a conditional VAE whose latent "
        "plane is Russell's valence-arousal plane (Grekow 2025). Data: --data DIR, $EMOVAE_DATA, or the "
        "training set rebuilt from music21's corpus (emovae data build).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets_help = "; ".join(f"{name}: {pr.description}" for name, pr in PRESETS.items())
    t = sub.add_parser(
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
    t.add_argument("--epochs", type=_positive_int, help=f"passes over the training split (preset: {d['epochs']})")
    t.add_argument("--batch-size", type=_positive_int, help=f"examples per step (preset: {d['batch_size']})")
    t.add_argument("--lr", type=_positive_float, help=f"RMSprop learning rate (preset: {d['lr']:g})")
    t.add_argument("--seed", type=_seed, help=f"initialisation, shuffling and noise (preset: {d['seed']})")
    t.add_argument("--split-seed", type=_seed, help=f"stratified 80/20 split (preset: {d['split_seed']})")
    t.add_argument(
        "--weight-arousal", type=_weight, help="weight of L_EmoA (preset: 80 for paper-emoreg, 0 for paper-base)"
    )
    t.add_argument(
        "--weight-valence", type=_weight, help="weight of L_EmoV (preset: 70 for paper-emoreg, 0 for paper-base)"
    )
    t.add_argument("--reduction", choices=["sum", "mean"], help=f"L_R over the batch (preset: {d['reduction']})")
    t.add_argument("--hidden", type=_units, help=f"GRU units, at most {MAX_UNITS} (preset: {d['hidden']})")
    t.add_argument("--dense", type=_units, help=f"encoder Dense units, at most {MAX_UNITS} (preset: {d['dense']})")
    rec = t.add_argument_group("recipe settings beyond the paper (see emovae.config.TrainConfig)")
    rec.add_argument("--emotion-loss", choices=["cosine", "hinge"], help="emotion terms: the paper's -cos or a hinge")
    rec.add_argument("--margin", type=_weight, help="hinge margin (preset: 1)")
    rec.add_argument("--emotion-on-z", action="store_const", const=True, help="emotion terms on the sampled z too")
    rec.add_argument("--kl-weight", type=_weight, help="beta, the weight of L_KLD (preset: 1)")
    rec.add_argument("--kl-warmup", type=_epochs_or_off, help="epochs of linear beta warm-up (preset: 0, off)")
    rec.add_argument("--kl-cycle", type=_epochs_or_off, help="cyclical beta period in epochs (preset: 0, off)")
    rec.add_argument(
        "--emotion-warmup", type=_epochs_or_off, help="epochs of linear emotion-weight warm-up (preset: 0)"
    )
    rec.add_argument("--free-bits", type=_weight, help="KL floor per latent dimension, nats (preset: 0, off)")
    rec.add_argument("--weight-decay", type=_weight, help="decoupled weight decay (preset: 0)")
    rec.add_argument("--latent", type=_latent, help="latent dimensions: 2 = the plane, more = content beside it")
    rec.add_argument(
        "--label-free-encoder",
        dest="encoder_condition",
        action="store_const",
        const=False,
        help="the encoder reads the melody alone (a user's melody can be placed without a label)",
    )
    t.add_argument(
        "--log-every",
        type=_positive_int,
        default=50,
        help="epochs between quadrant accuracies and latent pictures (default: 50)",
    )
    t.add_argument("--checkpoint-every", type=_positive_int, help=f"(preset: {d['checkpoint_every']})")
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

    e = sub.add_parser("evaluate", help="quadrant accuracy (Table 2) and latent pictures of a model")
    e.add_argument(
        "checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
    e.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    e.add_argument("--out", help="folder for latent pictures and accuracy.json")
    e.add_argument("--force", action="store_true", help="replace an earlier evaluation in --out")

    g = sub.add_parser(
        "generate",
        help="write melodies of chosen emotions (MIDI, score, audio)",
        description="Writes OUT/e1..e4/<name>.mid (and .svg/.wav/.musicxml with --format). Sampling "
        "as the paper: z ~ N(0, 2^2) around the emotion's quadrant centre (CVAE-EmoReg), "
        "read by argmax (--temperature 0). --at decodes one point; --path a longer melody "
        "whose emotion moves.",
    )
    g.add_argument(
        "checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
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
        type=_count,
        default=None,
        help=f"melodies per emotion, at most {MAX_COUNT:,} (default: 20; with --at: 1)",
    )
    g.add_argument("--seed", type=_seed, default=None, help="sampling seed (default: 0)")
    g.add_argument(
        "--at",
        type=_point,
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
        type=_positive_int,
        default=16,
        help="length of a --path melody in bars, a multiple of 4 (default: 16)",
    )
    g.add_argument(
        "--temperature",
        type=_temperature,
        default=0.0,
        help="0 = argmax at each step (the paper's way, default); above 0 = sample from softmax(logits/T)",
    )
    g.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")
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
        "--spread", type=_positive_float, default=1.0, help="fitted sampler: its spread times this (default: 1)"
    )
    g.add_argument(
        "--unique",
        action="store_true",
        help="the copy guard: a melody equal to a training melody is drawn again near its point",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="write into an e1..e4 folder (or over plane.png, path melodies) that holds an earlier run's "
        "files: they are removed once the new ones are written",
    )

    c = sub.add_parser(
        "encode",
        help="place your own melodies on the emotion plane",
        description="Prints each melody's point (valence, arousal), quadrant and emotion. The paper's "
        "encoder reads the emotion label too, so without --emotion each melody is encoded "
        "under all four labels and the label whose point lies deepest in its own quadrant "
        "is reported (with how many labels land in their own quadrant). A melody longer "
        "than 4 bars gives one point per 4-bar segment: its path over the plane.",
    )
    c.add_argument("melodies", nargs="+", help="MIDI files or folders of them")
    c.add_argument(
        "--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
    c.add_argument("--emotion", help="encode under this label instead of trying all four")
    c.add_argument("--json", action="store_true", help="print JSON (one object per melody) instead of text")
    c.add_argument("--plot", metavar="PNG", help="draw the melodies' points (and paths) on the plane into this PNG")
    c.add_argument("--data", help="data set for --plot's training points (default: $EMOVAE_DATA)")

    tr = sub.add_parser(
        "transform",
        help="move your melody into another emotion's quadrant",
        description="Places the melody (as encode does), mirrors its point across the axes into the "
        "target quadrant (keeping its distance to each axis) and decodes it with the target "
        "emotion. Writes OUT/<name>_to_<emotion>.mid (+ --format).",
    )
    tr.add_argument("melody", help="a MIDI file")
    tr.add_argument("--to", required=True, help="target emotion: happy, angry, sad, relaxed (or e1..e4, Q1..Q4)")
    tr.add_argument("--out", required=True, help="output folder")
    tr.add_argument(
        "--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
    tr.add_argument("--emotion", help="the melody's own label (default: found as encode does)")
    tr.add_argument("--temperature", type=_temperature, default=0.0, help="0 = argmax (default)")
    tr.add_argument("--seed", type=_seed, default=None, help="sampling seed with --temperature above 0 (default: 0)")
    tr.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")
    tr.add_argument("--force", action="store_true", help="replace this melody's earlier transform in --out")

    ip = sub.add_parser(
        "interpolate",
        help="melodies on the straight line between two melodies or points",
        description="Writes OUT/step_000.mid ... (+ --format), each decoded with its point's quadrant emotion.",
    )
    ip.add_argument("start", help="a MIDI file or a point V,A (write = before a minus sign: --start=...)")
    ip.add_argument("end", help="a MIDI file or a point V,A")
    ip.add_argument(
        "--steps", type=_positive_int, default=8, help="melodies, both ends included, 2 to 256 (default: 8)"
    )
    ip.add_argument("--out", required=True, help="output folder")
    ip.add_argument(
        "--model", dest="checkpoint", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
    ip.add_argument("--format", default="midi", help="comma-separated: midi, musicxml, svg, wav (default: midi)")
    ip.add_argument("--force", action="store_true", help="replace an earlier interpolation's steps in --out")

    m = sub.add_parser("metrics", help="Table 3 (MusPy metrics per emotion) for folders laid out as e1..e4")
    m.add_argument("folders", nargs="+", help="folders holding e1..e4/*.mid")
    m.add_argument("--name", action="append", help="column name per folder (default: folder name)")
    m.add_argument("--no-paper", action="store_true", help="leave out the paper's columns")

    s = sub.add_parser(
        "serve",
        help="the emotion plane in the browser: a local web page and JSON API",
        description="Starts a local web server (FastAPI + uvicorn; pip install 'emovae[web]'). "
        "Open the printed address: click the plane to hear and see the melody there.",
    )
    s.add_argument(
        "checkpoint", nargs="?", help="checkpoint file, run folder, or emoreg/base (default: bundled emoreg)"
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=_port, default=8000, help="port, 1 to 65535 (default: 8000)")
    s.add_argument("--data", help="data set folder for the training melodies' dots (default: $EMOVAE_DATA, if set)")

    rp = sub.add_parser(
        "report",
        help="evaluation beyond the paper: emotion control, every point a melody, copies, seeds",
        description="Writes OUT/report.md + PNGs: an independent emotion classifier (trained on real "
        "melodies only), its control accuracy on generated sets, a grid over the plane, "
        "novelty and diversity, D_i and reconstruction over seeds, Table 3 closeness.",
    )
    rp.add_argument("--out", required=True, help="report folder")
    rp.add_argument(
        "--model",
        action="append",
        metavar="[NAME=]SPEC",
        help="a model to generate from: emoreg, base, a checkpoint or a run folder; repeatable "
        "(default: the bundled emoreg and base)",
    )
    rp.add_argument(
        "--set",
        action="append",
        metavar="NAME=FOLDER",
        help="a folder of generated melodies laid out as e1..e4 to judge too; repeatable "
        "(default: the authors' sets found beside the data set)",
    )
    rp.add_argument(
        "--runs",
        action="append",
        metavar="NAME=FOLDER[,FOLDER...]",
        help="training runs of one recipe over several seeds (run folders); repeatable",
    )
    rp.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    rp.add_argument("--grid", type=_positive_int, default=41, help="grid points per axis over the plane (default: 41)")
    rp.add_argument(
        "-n", "--count", type=_positive_int, default=100, help="melodies generated per emotion (default: 100)"
    )
    rp.add_argument("--seed", type=_seed, default=0, help="seed for generation and the classifier (default: 0)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.add_argument("--force", action="store_true", help="replace an earlier report in --out")

    sw = sub.add_parser(
        "sweep",
        help="train configurations x seeds side by side; one CSV row per run and a Pareto plot",
        description="Reads a sweep file (TOML: [sweep] seeds, epochs, group_size, workers, backend; "
        "[[config]] name, preset and settings). Runs of one architecture train together as one "
        "batched model; finished runs are kept, so the same command continues a stopped sweep. "
        "Writes OUT/sweep.csv, OUT/pareto.png and OUT/runs/NAME-sSEED/.",
    )
    sw.add_argument("config", help="the sweep file (TOML)")
    sw.add_argument("--out", required=True, help="sweep folder (runs, sweep.csv, pareto.png)")
    sw.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    sw.add_argument("--backend", choices=("process", "ray"), help="override the file's backend")
    sw.add_argument("--workers", type=_positive_int, help="override the file's workers")
    sw.add_argument("--epochs", type=_positive_int, help="override every configuration's epochs")
    sw.add_argument("--device", help="override the device: auto, cpu or cuda")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")

    fs = sub.add_parser(
        "fit-sampler",
        help="fit the sampler (a Gaussian per emotion over the training codes) into an older checkpoint",
        description="Encodes the checkpoint's training split, fits a Gaussian per emotion to the codes, stores it "
        "and the data set's melody hashes (the copy guard) in the checkpoint (atomically).",
    )
    fs.add_argument("checkpoint", help="checkpoint file or run folder")
    fs.add_argument("--data", help="the data set it was trained on (default: $EMOVAE_DATA or the rebuilt set)")

    da = sub.add_parser(
        "data",
        help="the training set: rebuild it from music21's corpus, or check a folder against the manifest",
        description="The 344 melodies of Grekow and Dimitrova-Grekow (2021) are Bach chorale lines from "
        "music21's corpus; the manifest (emovae/manifest/musgenvae.csv, labels CC BY-NC) says where each one "
        "starts. Commands that need the data set and get neither --data nor $EMOVAE_DATA use the rebuilt set.",
    )
    dsub = da.add_subparsers(dest="data_command", required=True, metavar="ACTION", parser_class=_Parser)
    db = dsub.add_parser("build", help="write the 344 MIDI files from music21's corpus and check every hash")
    db.add_argument(
        "folder", nargs="?", help="where to write e1..e4 (default: the user cache, ~/.cache/emovae/musgenvae)"
    )
    db.add_argument("--quiet", action="store_true", help="no progress bar")
    dc = dsub.add_parser("check", help="compare a data set folder with the manifest, file by file")
    dc.add_argument("folder", nargs="?", help="the folder holding e1..e4 (default: --data's rules)")
    dm = dsub.add_parser(
        "manifest", help="match a folder of melodies named after music21's Bach chorales against the corpus"
    )
    dm.add_argument("folder", help="the folder holding e1..e4/bwvNNN.N.mxl.mid (the authors' files)")
    dm.add_argument("--out", required=True, help="the manifest CSV to write")
    dm.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("reproduce", help="train both paper presets and write a report of Tables 2, 3 and Figs. 5-7")
    r.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    r.add_argument("--out", default="reproduction", help="report folder (default: reproduction)")
    r.add_argument("--epochs", type=_positive_int, default=d["epochs"])
    r.add_argument("--seed", type=_seed, default=d["seed"])
    r.add_argument("--device", default="auto")
    r.add_argument("--precision", choices=PRECISIONS, default=d["precision"])
    r.add_argument("--quiet", action="store_true")
    return p


# ---------------------------------------------------------------------------- output folders


class _OutFolder:
    """An output folder checked before any work: writable, not a file, and not holding what
    this command would write (``patterns``, relative globs such as ``e1/*.mid``) from an
    earlier run unless ``force``. :meth:`finish` (after the new files are written) removes the
    earlier files the new run did not write again; nothing else is ever touched."""

    def __init__(self, path, patterns, force: bool = False, what: str = "--out"):
        from .atomic import check_output

        self.path = check_output(path, "folder", what=what)
        self.patterns = tuple(patterns)
        self.earlier = {p: _signature(p) for p in self._matching()}
        if self.earlier and not force:
            names = sorted(str(p.relative_to(self.path)) for p in self.earlier)
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            raise EmovaeError(
                f"{what} {self.path}: holds files of an earlier run ({names[0]}{more}); pass --force to "
                "replace them, or choose another folder"
            )

    def _matching(self) -> set[Path]:
        from .atomic import stale_temporaries

        if not self.path.is_dir():
            return set()
        found = {p for pattern in self.patterns for p in self.path.glob(pattern) if p.is_file()}
        for tmp in stale_temporaries(self.path):  # a write a killed run left half done
            target = tmp.parent / tmp.name[1:].rsplit(".", 2)[0]
            if any(_matches(target.relative_to(self.path), pattern) for pattern in self.patterns):
                found.add(tmp)
        return found

    def finish(self) -> int:
        """Remove the earlier run's files that were not written again; returns how many."""
        removed = 0
        for path, signature in self.earlier.items():
            if signature is not None and _signature(path) == signature:
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise EmovaeError(f"{path}: cannot remove this earlier file ({exc.strerror})") from None
        return removed


def _signature(path: Path):
    """What tells a file apart from the one that replaced it (atomic writes make a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _matches(relative: Path, pattern: str) -> bool:
    """``relative`` (e.g. e1/x.mid) matches the glob ``pattern`` part by part."""
    from fnmatch import fnmatchcase

    parts, globs = relative.parts, Path(pattern).parts
    return len(parts) == len(globs) and all(fnmatchcase(p, g) for p, g in zip(parts, globs))


def _media(stem: str) -> list[str]:
    """The files a melody called ``stem`` is written as (every format: a stale .wav beside a new .mid counts)."""
    return [f"{stem}{ext}" for ext in MEDIA]


# ---------------------------------------------------------------------------- commands

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
# with --resume the stored run's settings hold: every flag but --epochs and --device is ignored
_RESUME_IGNORES = ("preset", *(f for f in _TRAIN_FLAGS if f not in ("epochs", "device")), *_MODEL_FLAGS)


def _train(args) -> str:
    import dataclasses

    from .atomic import check_output
    from .config import DEFAULT_PRESET, preset

    out = check_output(args.out, "folder")
    stored = out / "checkpoint.pt"
    if args.resume and stored.is_file():  # the stored run's settings; only --epochs and --device apply
        from .checkpoint import load_model

        previous = load_model(stored)
        ignored = [f"--{k.replace('_', '-')}" for k in _RESUME_IGNORES if getattr(args, k) is not None]
        ignored += ["--no-validate"] if args.no_validate else []
        if ignored:
            warnings.warn(
                f"{', '.join(ignored)} ignored with --resume: the run continues with its stored settings "
                "(only --epochs and --device apply)",
                EmovaeWarning,
                stacklevel=2,
            )
        target = args.epochs or previous.train_config.epochs
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
        config = dataclasses.replace(
            previous.train_config, epochs=target, device=args.device or previous.train_config.device
        )
        model_config = previous.model_config
    else:
        overrides = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
        if args.no_validate:
            overrides["validate"] = False
        chosen = preset(args.preset or DEFAULT_PRESET, **overrides)
        sizes = {k: getattr(args, k) for k in _MODEL_FLAGS if getattr(args, k) is not None}
        model_config = dataclasses.replace(chosen.model, **sizes)
        config = chosen.train
    from .batched import fast_trainer
    from .evaluate import QuadrantLog
    from .training import train

    ckpt = train(
        args.data,
        out,
        model_config=model_config,
        config=config,
        resume=args.resume,
        progress=not args.quiet,
        callbacks=[QuadrantLog(every=args.log_every, out_dir=out)],
        trainer_factory=fast_trainer(config),  # on CUDA: each step a CUDA graph around cuDNN's GRU
    )
    last = ckpt.history[-1] if ckpt.history else {}
    acc = last.get("d_train")
    tail = f"; D_i train mean {acc['mean_recall']:.1f}%" if acc and acc.get("mean_recall") is not None else ""
    return f"trained {ckpt.epoch} epochs{tail}; checkpoint: {stored}"


_EVALUATION = ("latent_train.png", "latent_heldout.png", "accuracy.json")


def _evaluate(args) -> str:
    from .checkpoint import load_model
    from .evaluate import evaluate_model, evaluation_markdown, write_evaluation

    out = _OutFolder(args.out, _EVALUATION, args.force) if args.out else None
    model = load_model(args.checkpoint)
    ev = evaluate_model(model, args.data)
    if out:
        write_evaluation(ev, out.path, name=model.path.name)
        out.finish()
    return f"{model.path} (epoch {model.epoch})\n\n" + evaluation_markdown(ev)


def _formats(text: str) -> list[str]:
    from .render import _formats as check

    return check(text)


def _write_melodies(melodies, folder: Path, formats) -> list[Path]:
    """Write each melody (every format); one warning names those without notes or with a single pitch."""
    paths, odd = [], []
    for melody in melodies:
        notes = melody.notes
        pitches = {p for _, _, p in notes}
        if len(pitches) <= 1:
            odd.append(f"{melody.name} ({'no notes' if not notes else f'one pitch, {len(notes)} notes'})")
        paths += melody.save(folder / melody.name, formats)
    if odd:
        shown = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        which = "a melody" if len(odd) == 1 else f"{len(odd)} melodies"
        warnings.warn(
            f"{which} without notes or with a single pitch: {shown}; written all the same", EmovaeWarning, stacklevel=2
        )
    return paths


def _plane_plot(model, path: Path, marks, labels=None, path_points=None, data_root=None) -> Path | None:
    """The plane with marks over the training points (when a data set can be found)."""
    from .plots import plot_plane

    train_pts, train_labels = np.zeros((0, 2)), np.zeros(0, dtype=int)
    try:
        from .evaluate import model_split

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmovaeWarning)  # the training files' reading notes: not this command's
            data = model_split(model.trained, data_root)
        train_labels = data.labels
        train_pts = model.trained.encode(model.trained.vocab.decode(data.indices), data.labels)
    except EmovaeError as exc:
        warnings.warn(f"plane picture without training points ({exc})", EmovaeWarning, stacklevel=2)
    return plot_plane(
        train_pts,
        train_labels,
        path,
        marks=marks,
        mark_labels=labels,
        path_points=path_points,
        title=f"{model.title}: generated points over the training melodies",
    )


def _generate(args) -> str:
    from .emotions import LABELS, NAMES, emotion_index, quadrant_of_point

    formats = _formats(args.format)
    if args.path is not None and args.at is not None:
        raise EmovaeError("give --at or --path, not both")
    seed = 0 if args.seed is None else args.seed
    if args.path is not None:
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
        out = _OutFolder(args.out, [f"path_*{ext}" for ext in (*MEDIA, ".png")], args.force)
        from .api import load

        model = load(args.checkpoint)
        text = args.path.strip()
        waypoints = (
            text.split(";")
            if ";" in text or text.count(",") == 1 and all(_is_number(t) for t in text.split(","))
            else text.split(",")
        )
        waypoints = [w for w in waypoints if w.strip()]
        melody = model.path(waypoints, bars=args.bars, seed=seed, temperature=args.temperature)
        paths = _write_melodies([melody], out.path, formats)
        pts = np.asarray(melody.points)
        _plane_plot(model, out.path / f"{melody.name}.png", pts, [f"{k + 1}" for k in range(len(pts))], pts, args.data)
        out.finish()
        route = " -> ".join(f"{NAMES[e]} ({v:+.1f}, {a:+.1f})" for e, (v, a) in zip(melody.emotions, melody.points))
        return f"wrote {melody.name} ({melody.bars} bars: {route}) under {out.path}: " + ", ".join(
            p.name for p in paths
        )
    if args.at is not None:
        n = args.count or 1
        if args.shift is not None:
            warnings.warn("--shift ignored with --at: the point is decoded as given", EmovaeWarning, stacklevel=2)
        if n > 1 and args.temperature == 0:
            warnings.warn(
                f"-n {n} at one point with --temperature 0 gives {n} identical melodies; "
                "give --temperature above 0 for different ones",
                EmovaeWarning,
                stacklevel=2,
            )
        if args.seed is not None and args.temperature == 0:
            warnings.warn(
                "--seed has no effect at one point with --temperature 0 (argmax: the point fixes the melody)",
                EmovaeWarning,
                stacklevel=2,
            )
        quadrant = quadrant_of_point(*args.at)
        emotions = [emotion_index(e) for e in args.emotion] if args.emotion else [quadrant]
        for e in emotions:
            if e != quadrant:
                warnings.warn(
                    f"--emotion {NAMES[e]} with --at={args.at[0]:g},{args.at[1]:g}, a point of Q{quadrant + 1} "
                    f"{NAMES[quadrant]}: decoded with {NAMES[e]} as the condition",
                    EmovaeWarning,
                    stacklevel=2,
                )
    else:
        emotions = [emotion_index(e) for e in (args.emotion or LABELS)]  # unknown emotions fail before any write
    emotions = list(dict.fromkeys(emotions))
    patterns = [f"{LABELS[e]}/*{ext}" for e in emotions for ext in MEDIA] + (["plane.png"] if args.plot else [])
    out = _OutFolder(args.out, patterns, args.force)
    from .api import load

    model = load(args.checkpoint)
    shift = {None: None, "auto": None, "yes": True, "no": False}[args.shift]
    sampler = args.sampler or model.trained.default_sampler
    if args.spread != 1.0 and (args.at is not None or sampler == "paper"):
        why = "--at decodes one point" if args.at is not None else "the paper sampler is in use"
        warnings.warn(f"--spread ignored: it widens the fitted sampler, and {why}", EmovaeWarning, stacklevel=2)
    paths, points, count = [], [], 0
    for e in emotions:  # one emotion at a time: memory holds one emotion's melodies, not all of them
        if args.at is not None:
            found = model.at(*args.at, emotion=e, n=args.count or 1, seed=seed, temperature=args.temperature)
            melodies = found if isinstance(found, list) else [found]
        else:
            melodies = model.generate(
                e,
                n=args.count or 20,
                seed=seed,
                temperature=args.temperature,
                shift=shift,
                sampler=args.sampler,
                spread=args.spread,
                unique=args.unique,
            )
        paths += _write_melodies(melodies, out.path / LABELS[e], formats)
        points += [m.point for m in melodies]
        count += len(melodies)
        del melodies
    if args.plot:
        paths.append(_plane_plot(model, out.path / "plane.png", np.asarray(points), data_root=args.data))
    out.finish()
    return f"wrote {len(paths)} files ({', '.join(formats)}) for {count} melodies under {out.path}"


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

    from .api import load
    from .emotions import emotion_index

    if args.emotion is not None:
        emotion_index(args.emotion)
    if args.plot:
        from .atomic import check_output

        check_output(args.plot, "file", what="--plot")
    files = _melody_files(args.melodies)
    model = load(args.checkpoint)
    results = [model.encode(f, emotion=args.emotion) for f in files]  # every file read before any output
    if args.plot:
        marks = np.asarray([p for m in results for p in m.points])
        labels = [
            f"{m.name}" if len(m.points) == 1 else f"{m.name} {k + 1}" for m in results for k in range(len(m.points))
        ]
        paths = [np.asarray(m.points) for m in results if len(m.points) > 1]
        _plane_plot(model, Path(args.plot), marks, labels, paths[0] if len(paths) == 1 else None, args.data)
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
    from .emotions import NAMES, emotion_index

    formats = _formats(args.format)
    target = emotion_index(args.to)
    if args.emotion is not None:
        emotion_index(args.emotion)
    if args.seed is not None and args.temperature == 0:
        warnings.warn(
            "--seed has no effect with --temperature 0 (argmax: the point fixes the melody)",
            EmovaeWarning,
            stacklevel=2,
        )
    out = _OutFolder(args.out, _media(f"{Path(args.melody).stem}_to_{NAMES[target]}"), args.force)
    from .api import load

    model = load(args.checkpoint)
    moved = model.transform(
        args.melody,
        target,
        emotion=args.emotion,
        temperature=args.temperature,
        seed=0 if args.seed is None else args.seed,
    )
    paths = _write_melodies([moved], out.path, formats)
    out.finish()
    src = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.info["from_points"])
    dst = "; ".join(f"({v:+.2f}, {a:+.2f})" for v, a in moved.points)
    return f"{args.melody}: {src} -> {dst} ({moved.emotion}); wrote " + ", ".join(str(p) for p in paths)


def _end(text: str):
    if "," in text and not Path(text).exists():
        return _point(text)
    return text


def _interpolate(args) -> str:
    formats = _formats(args.format)
    try:
        start, end = _end(args.start), _end(args.end)
    except argparse.ArgumentTypeError as exc:
        raise EmovaeError(str(exc)) from None
    from .generation import MAX_PATH_POINTS

    if not 2 <= args.steps <= MAX_PATH_POINTS * 4:
        raise EmovaeError(f"--steps {args.steps}: from 2 to {MAX_PATH_POINTS * 4} are allowed (both ends included)")
    out = _OutFolder(args.out, [f"step_*{ext}" for ext in MEDIA], args.force)
    from .api import load

    model = load(args.checkpoint)
    melodies = model.interpolate(start, end, args.steps)
    _write_melodies(melodies, out.path, formats)
    out.finish()
    route = " -> ".join(f"({v:+.1f}, {a:+.1f})" for v, a in (m.point for m in melodies))
    return f"wrote {len(melodies)} melodies under {out.path}: {route}"


def _metrics(args) -> str:
    from .metrics import folder_metrics, table3_markdown

    names = args.name or []
    if len(names) > len(args.folders):
        raise EmovaeError(f"{len(names)} --name given for {len(args.folders)} folders")
    names = names + [Path(f).name for f in args.folders[len(names) :]]
    return table3_markdown({n: folder_metrics(f) for n, f in zip(names, args.folders)}, paper=not args.no_paper)


def _reproduce(args) -> str:
    from .atomic import check_output
    from .reproduction import reproduce

    check_output(args.out, "folder")
    report = reproduce(
        args.data,
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        progress=not args.quiet,
    )
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


_REPORT = ("report.md", "results.json", "plane_va_*.png", "grid_features_*.png", "seeds_*.png")


def _report(args) -> str:
    from .report import report

    runs = {name: value.split(",") for name, value in _named(args.runs, "--runs").items()}
    out = _OutFolder(args.out, _REPORT, args.force)
    path = report(
        out.path,
        models=_named(args.model, "--model") or None,
        sets=_named(args.set, "--set") or None,
        runs=runs or None,
        data_root=args.data,
        grid=args.grid,
        n_per_emotion=args.count,
        seed=args.seed,
        progress=not args.quiet,
    )
    out.finish()
    return f"report: {path}"


def _sweep(args) -> str:
    from .sweep import load_sweep, run_sweep

    sweep = load_sweep(args.config, device=args.device, epochs=args.epochs)
    rows = run_sweep(
        sweep, args.out, data_root=args.data, backend=args.backend, workers=args.workers, progress=not args.quiet
    )
    collapsed = sum(bool(r["collapsed"]) for r in rows)
    return f"sweep: {len(rows)} runs ({collapsed} collapsed) in {Path(args.out) / 'sweep.csv'}"


def _fit_sampler(args) -> str:
    from .checkpoint import load_model, resolve_checkpoint
    from .evaluate import model_split
    from .training import fit_to_data
    from .weights import is_bundled

    path = resolve_checkpoint(args.checkpoint)
    if is_bundled(path):
        raise EmovaeError(
            f"{path}: a bundled model; copy it first and fit the copy (the bundled ones sample as the paper)"
        )
    model = load_model(path)
    fit_to_data(model, model_split(model, args.data))
    if model.sampler is None:
        raise EmovaeError(f"{path}: its codes are not finite numbers; no sampler can be fitted")
    model.save(path, optimizer_state=model.state.optimizer is not None)
    means = "; ".join(
        f"{lab} ({v:+.2f}, {a:+.2f})" for lab, (v, a) in zip(("Q1", "Q2", "Q3", "Q4"), model.sampler.means)
    )
    return f"{path}: sampler fitted to {int(model.sampler.counts.sum())} training codes; centres {means}"


def _data(args) -> str:
    from . import corpus

    if args.data_command == "build":
        folder = Path(args.folder) if args.folder else corpus.default_dir()
        if corpus.is_built(folder):
            return f"{folder}: already built (344 melodies from music21's corpus); use it with --data or EMOVAE_DATA"
        n = len(corpus.load_manifest())
        corpus.build(folder, progress=not args.quiet)
        return f"{folder}: {n} melodies rebuilt from music21's corpus, every hash as in the manifest"
    if args.data_command == "check":
        folder = corpus.resolve_data_root(args.folder, build_missing=False)
        ok, problems = corpus.check(folder)
        for line in problems[:20]:
            print(f"emovae: {_single_line(line)}", file=sys.stderr)
        if len(problems) > 20:
            print(f"emovae: ... and {len(problems) - 20} more", file=sys.stderr)
        if problems:
            raise EmovaeError(f"{folder}: {len(problems)} files differ from the manifest ({ok} match)")
        return f"{folder}: all {ok} melodies as in the manifest"
    from .atomic import check_output, write_text

    out = check_output(args.out, "file", what="--out")
    if out.exists():
        raise EmovaeError(f"--out {out}: exists; choose another file name")
    entries, unmatched = corpus.derive_manifest(corpus.resolve_data_root(args.folder), progress=not args.quiet)
    for line in unmatched:
        print(f"emovae: warning: {_single_line(line)}", file=sys.stderr)
    write_text(out, corpus.manifest_text(entries))
    return f"{out}: {len(entries)} melodies matched, {len(unmatched)} not"


def _serve(args) -> str:
    from .server import serve

    serve(args.checkpoint, host=args.host, port=args.port, data_root=args.data)
    return "server stopped"


COMMANDS = {
    "fit-sampler": _fit_sampler,
    "data": _data,
    "report": _report,
    "serve": _serve,
    "sweep": _sweep,
    "encode": _encode,
    "transform": _transform,
    "interpolate": _interpolate,
    "train": _train,
    "evaluate": _evaluate,
    "generate": _generate,
    "metrics": _metrics,
    "reproduce": _reproduce,
}


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"emovae: warning: {_single_line(message)}", file=sys.stderr)


def _interrupted(args, exc: KeyboardInterrupt) -> str:
    """The line Ctrl-C ends with: where a training run stands, or that nothing is half-written."""
    if isinstance(exc, TrainingInterrupted):
        if exc.checkpoint is None:
            return f"interrupted after epoch {exc.epoch}; nothing saved (no run folder)"
        how = "run the same command again" if args.command == "reproduce" else "continue with --resume"
        return f"interrupted; saved after epoch {exc.epoch} in {exc.checkpoint}: {how}"
    if args.command == "train":
        stored = Path(args.out) / "checkpoint.pt"
        if not stored.is_file():
            return "interrupted before the first checkpoint; nothing to resume (start it again without --resume)"
        try:
            from .checkpoint import load_model

            epoch = f" (epoch {load_model(stored).epoch})"
        except (EmovaeError, OSError):
            epoch = ""
        return f"interrupted; the last checkpoint is {stored}{epoch}: continue with --resume"
    if args.command == "reproduce":
        return "interrupted; run the same command again to continue from the runs' last checkpoints"
    return "interrupted; no file was left half-written"


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed on one line)
        return int(exc.code or 0)
    warnings.showwarning = _one_line_warning
    try:
        print(COMMANDS[args.command](args))
        return 0
    except EmovaeError as exc:
        print(f"emovae: error: {_single_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the file system refused something the checks could not foresee
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"emovae: error: {_single_line(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        print(f"emovae: {_interrupted(args, exc)}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
