"""``emovae sweep``: configurations x seeds side by side (emovae.sweep); one CSV row per run."""

from __future__ import annotations

from pathlib import Path

from .args import positive_int


def add_parser(subparsers) -> None:
    sw = subparsers.add_parser(
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
    sw.add_argument("--workers", type=positive_int, help="override the file's workers")
    sw.add_argument("--epochs", type=positive_int, help="override every configuration's epochs")
    sw.add_argument("--device", help="override the device: auto, cpu or cuda")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> str:
    from ..sweep import load_sweep, run_sweep

    sweep = load_sweep(args.config, device=args.device, epochs=args.epochs)
    rows = run_sweep(
        sweep, args.out, data_root=args.data, backend=args.backend, workers=args.workers, progress=not args.quiet
    )
    collapsed = sum(bool(r["collapsed"]) for r in rows)
    return f"sweep: {len(rows)} runs ({collapsed} collapsed) in {Path(args.out) / 'sweep.csv'}"
