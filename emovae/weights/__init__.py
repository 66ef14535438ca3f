"""Model weights bundled with the package (CC BY-NC 4.0: trained on the CC BY-NC musgenvae data).

``cvae_plane.pt`` is a model-only checkpoint of the default preset (``plane``, with the density
fitted to its training codes); ``cvae_emoreg.pt`` and ``cvae_base.pt`` are the paper's presets
(``paper-emoreg``, ``paper-base``; 700 epochs). ``README.md`` beside them says how each was trained.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EmovaeError

HERE = Path(__file__).parent
NAMES = {
    "plane": "cvae_plane.pt",
    "default": "cvae_plane.pt",
    "emoreg": "cvae_emoreg.pt",
    "paper-emoreg": "cvae_emoreg.pt",
    "base": "cvae_base.pt",
    "paper-base": "cvae_base.pt",
}


def bundled(model: str = "plane") -> Path:
    """Path of the bundled checkpoint 'plane' (the default, CVAE-Plane), 'emoreg' (CVAE-EmoReg)
    or 'base' (CVAE-Base), or a preset name."""
    if model not in NAMES:
        raise EmovaeError(f"unknown bundled model {model!r}: use plane, emoreg or base")
    path = HERE / NAMES[model]
    if not path.is_file():
        raise EmovaeError(f"{path}: no bundled {model} weights in this installation; pass a checkpoint")
    return path


def is_bundled(path) -> bool:
    """True for a file of this folder (the bundled weights)."""
    return HERE.resolve() in Path(path).resolve().parents
