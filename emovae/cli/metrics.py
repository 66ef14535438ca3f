"""``emovae metrics``: Table 3 (MusPy metrics per emotion) for folders laid out as e1..e4."""

from __future__ import annotations

from pathlib import Path

from ..errors import EmovaeError


def add_parser(subparsers) -> None:
    m = subparsers.add_parser("metrics", help="Table 3 (MusPy metrics per emotion) for folders laid out as e1..e4")
    m.add_argument("folders", nargs="+", help="folders holding e1..e4/*.mid")
    m.add_argument("--name", action="append", help="column name per folder (default: folder name)")
    m.add_argument("--no-paper", action="store_true", help="leave out the paper's columns")


def run(args) -> str:
    from ..metrics import folder_metrics, table3_markdown

    names = args.name or []
    if len(names) > len(args.folders):
        raise EmovaeError(f"{len(names)} --name given for {len(args.folders)} folders")
    names = names + [Path(f).name for f in args.folders[len(names) :]]
    return table3_markdown({n: folder_metrics(f) for n, f in zip(names, args.folders)}, paper=not args.no_paper)
