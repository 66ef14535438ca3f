"""``emovae reproduce``: the paper end to end (emovae.reproduction); resumable by running it again."""

from __future__ import annotations

from ..errors import TrainingInterrupted
from .args import positive_int, saved_after, seed, train_defaults


def add_parser(subparsers) -> None:
    from ..config import PRECISIONS

    d = train_defaults()
    r = subparsers.add_parser(
        "reproduce", help="train both paper presets and write a report of Tables 2, 3 and Figs. 5-7"
    )
    r.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    r.add_argument("--out", default="reproduction", help="report folder (default: reproduction)")
    r.add_argument(
        "--epochs", type=positive_int, default=d["epochs"], help=f"epochs per model (default: {d['epochs']})"
    )
    r.add_argument("--seed", type=seed, default=d["seed"], help=f"training seed (default: {d['seed']})")
    r.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default: auto)")
    r.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d["precision"],
        help=f"training precision (default: {d['precision']})",
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> str:
    from ..atomic import check_output
    from ..reproduction import reproduce

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


def interrupted(args, exc: KeyboardInterrupt) -> str:
    """Ctrl-C: the runs keep their last checkpoints; the same command continues from them."""
    if isinstance(exc, TrainingInterrupted):
        return saved_after(exc, "run the same command again")
    return "interrupted; run the same command again to continue from the runs' last checkpoints"
