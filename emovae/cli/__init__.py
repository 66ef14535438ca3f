"""Command-line interface: ``emovae train | evaluate | generate | metrics | reproduce | ...``.

A thin layer over the Python API. Bad input ends with one line ``emovae: error: ...`` and exit
status 2 (no traceback); warnings are one line ``emovae: warning: ...``; Ctrl-C ends with one
line ``emovae: interrupted ...`` and exit status 130 (a training run saves a checkpoint first).

Boundaries are checked before any work: numbers and points as they are parsed
(:mod:`emovae.cli.args`), output folders and files before a model is loaded, with the one
``--force`` policy (:mod:`emovae.cli.output`).

One module per group of commands, each with ``add_parser(subparsers)`` and ``run(args)`` (and,
where Ctrl-C deserves its own line, ``interrupted(args, exc)``). A new command is a new module
plus one line in :data:`COMMANDS`, whose order is the order ``emovae --help`` lists them in.
"""

from __future__ import annotations

import sys
import warnings

from ..errors import EmovaeError, TrainingInterrupted
from ..limits import one_line
from . import data, evaluate, fit_sampler, generate, melodies, metrics, report, reproduce, serve, sweep, train
from .args import EXIT_ERROR, EXIT_INTERRUPTED, Parser, saved_after
from .output import release_all

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_INTERRUPTED", "build_parser", "main"]

COMMANDS = (
    train,  # train
    evaluate,  # evaluate
    generate,  # generate
    melodies,  # encode, transform, interpolate
    metrics,  # metrics
    serve,  # serve
    report,  # report
    sweep,  # sweep
    fit_sampler,  # fit-sampler
    data,  # data build | check | manifest
    reproduce,  # reproduce
)


def build_parser() -> Parser:
    parser = Parser(
        prog="emovae",
        description="Melodies with a chosen emotion: a conditional VAE whose latent "
        "plane is Russell's valence-arousal plane (Grekow 2025). Data: --data DIR, $EMOVAE_DATA, or the "
        "training set rebuilt from music21's corpus (emovae data build).",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"emovae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        known = set(sub.choices)
        module.add_parser(sub)
        for name in sub.choices.keys() - known:  # each command remembers the module that runs it
            sub.choices[name].set_defaults(command_module=module)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"emovae: warning: {one_line(message)}", file=sys.stderr)


def _interrupted(args, exc: KeyboardInterrupt) -> str:
    """The line Ctrl-C ends with: the command's own (a training run: where it stands), or the common one."""
    own = getattr(args.command_module, "interrupted", None)
    line = own(args, exc) if own else None
    if line:
        return line
    if isinstance(exc, TrainingInterrupted):
        return saved_after(exc)
    return "interrupted; no file was left half-written"


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed on one line)
        return int(exc.code or 0)
    warnings.showwarning = _one_line_warning
    try:
        text = args.command_module.run(args)
        try:
            print(text)
        except UnicodeEncodeError:  # a non-UTF-8 file name on a strict terminal: its odd bytes as U+FFFD
            print(str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        return 0
    except EmovaeError as exc:
        print(f"emovae: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the file system refused something the checks could not foresee
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"emovae: error: {one_line(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        print(f"emovae: {_interrupted(args, exc)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        release_all()  # the output folders' locks (cli.output.hold)
