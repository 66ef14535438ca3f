"""``emovae report``: evaluation beyond the paper (emovae.report)."""

from __future__ import annotations

from pathlib import Path

from ..errors import EmovaeError
from .args import positive_int, seed
from .output import OutFolder, add_force

_REPORT = ("report.md", "results.json", "plane_va_*.png", "grid_features_*.png", "seeds_*.png")  # --force replaces


def add_parser(subparsers) -> None:
    rp = subparsers.add_parser(
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
        help="a model to generate from: plane, emoreg, base, a checkpoint or a run folder; repeatable "
        "(default: the bundled plane, emoreg and base)",
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
    rp.add_argument("--grid", type=positive_int, default=41, help="grid points per axis over the plane (default: 41)")
    rp.add_argument(
        "-n", "--count", type=positive_int, default=100, help="melodies generated per emotion (default: 100)"
    )
    rp.add_argument("--seed", type=seed, default=0, help="seed for generation and the classifier (default: 0)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    add_force(rp, "replace an earlier report in --out")


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


def run(args) -> str:
    from ..report import report

    runs = {name: value.split(",") for name, value in _named(args.runs, "--runs").items()}
    out = OutFolder(args.out, _REPORT, args.force)
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
