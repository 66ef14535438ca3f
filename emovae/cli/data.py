"""``emovae data build | check | manifest``: the training set from music21's corpus (emovae.corpus)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import EmovaeError
from ..limits import one_line
from .args import Parser
from .output import new_file


def add_parser(subparsers) -> None:
    da = subparsers.add_parser(
        "data",
        help="the training set: rebuild it from music21's corpus, or check a folder against the manifest",
        description="The 344 melodies of Grekow and Dimitrova-Grekow (2021) are Bach chorale lines from "
        "music21's corpus; the manifest (emovae/manifest/musgenvae.csv, labels CC BY-NC) says where each one "
        "starts. Commands that need the data set and get neither --data nor $EMOVAE_DATA use the rebuilt set.",
    )
    dsub = da.add_subparsers(dest="data_command", required=True, metavar="ACTION", parser_class=Parser)
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


def run(args) -> str:
    return {"build": _build, "check": _check, "manifest": _manifest}[args.data_command](args)


def _build(args) -> str:
    from .. import corpus

    folder = Path(args.folder) if args.folder else corpus.default_dir()
    if corpus.is_built(folder):
        return f"{folder}: already built (344 melodies from music21's corpus); use it with --data or EMOVAE_DATA"
    n = len(corpus.load_manifest())
    corpus.build(folder, progress=not args.quiet)
    return f"{folder}: {n} melodies rebuilt from music21's corpus, every hash as in the manifest"


def _check(args) -> str:
    from .. import corpus

    folder = corpus.resolve_data_root(args.folder, build_missing=False)
    ok, problems = corpus.check(folder)
    for line in problems[:20]:
        print(f"emovae: {one_line(line)}", file=sys.stderr)
    if len(problems) > 20:
        print(f"emovae: ... and {len(problems) - 20} more", file=sys.stderr)
    if problems:
        raise EmovaeError(f"{folder}: {len(problems)} files differ from the manifest ({ok} match)")
    return f"{folder}: all {ok} melodies as in the manifest"


def _manifest(args) -> str:
    from .. import corpus
    from ..atomic import write_text

    out = new_file(args.out)
    entries, unmatched = corpus.derive_manifest(corpus.resolve_data_root(args.folder), progress=not args.quiet)
    for line in unmatched:
        print(f"emovae: warning: {one_line(line)}", file=sys.stderr)
    write_text(out, corpus.manifest_text(entries))
    return f"{out}: {len(entries)} melodies matched, {len(unmatched)} not"
