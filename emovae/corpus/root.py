"""Finding the data set: how every command gets its folder (``--data``, else ``$EMOVAE_DATA``,
else the training set rebuilt from music21's corpus, built on first use)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import EmovaeError, EmovaeWarning
from .rebuild import build, default_dir, is_built

__all__ = ["resolve_data_root"]


def resolve_data_root(arg: str | os.PathLike | None, *, build_missing: bool = True) -> Path:
    """The data set folder: ``arg`` (from --data) if given, else $EMOVAE_DATA, else the training
    set rebuilt from music21's corpus (:func:`default_dir`; built on first use with a one-line
    warning, unless ``build_missing`` is False: then an error says how to get it)."""
    if arg is not None and str(arg) != "":
        path, source = Path(arg).expanduser(), ""
    elif os.environ.get("EMOVAE_DATA", ""):
        path, source = Path(os.environ["EMOVAE_DATA"]).expanduser(), " (from EMOVAE_DATA)"
    else:
        path = default_dir()
        if is_built(path):
            return path
        if not build_missing:
            raise EmovaeError(
                "no data set: pass --data DIR, set EMOVAE_DATA, or run `emovae data build` "
                "(the training set rebuilt from music21's corpus)"
            )
        warnings.warn(
            EmovaeWarning(
                f"no data set given (--data, EMOVAE_DATA): rebuilding the training set from music21's corpus "
                f"into {path} (once)"
            ),
            stacklevel=2,
        )
        return build(path, progress=True)
    if not path.exists():
        raise EmovaeError(f"{path}{source}: no such directory")
    if not path.is_dir():
        raise EmovaeError(f"{path}{source}: not a directory")
    return path
