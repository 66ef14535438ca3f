"""Model weights bundled with the package (CC BY-NC 4.0: trained on the CC BY-NC musgenvae data).

``cvae_emoreg.pt`` and ``cvae_base.pt`` are model-only checkpoints of the paper's configuration
(700 epochs); ``README.md`` beside them says how they were trained.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import EmovaeError

HERE = Path(__file__).parent


def bundled(model: str = "emoreg") -> Path:
    """Path of the bundled checkpoint of 'emoreg' (CVAE-EmoReg) or 'base' (CVAE-Base)."""
    if model not in ("emoreg", "base"):
        raise EmovaeError(f"unknown bundled model {model!r}: use emoreg or base")
    path = HERE / f"cvae_{model}.pt"
    if not path.is_file():
        raise EmovaeError(f"{path}: no bundled {model} weights in this installation; pass a checkpoint")
    return path
