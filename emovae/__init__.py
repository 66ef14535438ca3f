"""emovae: melodies with a chosen emotion from a conditional VAE with an emotion-shaped latent plane.

The small public API; each name lives in the module of its section of the paper. Names are
loaded on first use (PEP 562), so ``import emovae`` costs next to nothing and a command pays
only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

_EXPORTS = {
    # the user's API: a model that speaks in melodies
    "load": "api",
    "Model": "api",
    "Melody": "api",
    # configurations
    "CVAEConfig": "config",
    "TrainConfig": "config",
    "PRESETS": "config",
    "preset": "config",
    # emotions, errors
    "LABELS": "emotions",
    "NAMES": "emotions",
    "emotion_index": "emotions",
    "EmovaeError": "errors",
    "EmovaeWarning": "errors",
    # data and encoding
    "Vocabulary": "data",
    "load_dataset": "data",
    "read_melody": "data",
    "write_midi": "data",
    "melody_to_music": "data",
    # model, checkpoints, training
    "CVAE": "model",
    "TrainedModel": "checkpoint",
    "load_model": "checkpoint",
    "train": "training",
    "encode_dataset": "training",
    "train_batched": "batched",
    "load_sweep": "sweep",
    "run_sweep": "sweep",
    # evaluation, generation
    "quadrant_accuracy": "evaluate",
    "evaluate_model": "evaluate",
    "folder_metrics": "metrics",
    "generate": "generation",
    "generate_set": "generation",
    "reproduce": "reproduction",
    "bundled": "weights",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from .api import Melody, Model, load
    from .batched import train_batched
    from .checkpoint import TrainedModel, load_model
    from .config import PRESETS, CVAEConfig, TrainConfig, preset
    from .data import Vocabulary, load_dataset, melody_to_music, read_melody, write_midi
    from .emotions import LABELS, NAMES, emotion_index
    from .errors import EmovaeError, EmovaeWarning
    from .evaluate import evaluate_model, quadrant_accuracy
    from .generation import generate, generate_set
    from .metrics import folder_metrics
    from .model import CVAE
    from .reproduction import reproduce
    from .sweep import load_sweep, run_sweep
    from .training import encode_dataset, train
    from .weights import bundled


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emovae' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
