"""emovae: melodies with a chosen emotion from a conditional VAE with an emotion-shaped latent plane.

The small public API; each name lives in the module of its section of the paper.
"""
from .checkpoint import Checkpoint, as_checkpoint, load_checkpoint, save_checkpoint
from .data import Vocabulary, load_dataset, melody_to_music, read_melody, write_midi
from .emotions import LABELS, NAMES, emotion_index
from .errors import EmovaeError, EmovaeWarning
from .evaluate import quadrant_accuracy
from .generate import generate, generate_set
from .metrics import folder_metrics
from .model import CVAE, CVAEConfig
from .reproduce import evaluate_checkpoint, reproduce
from .train import TrainConfig, encode_dataset, train
from .weights import bundled

__version__ = "0.1.0"
__all__ = [
    "CVAE", "CVAEConfig", "Checkpoint", "as_checkpoint", "EmovaeError", "EmovaeWarning", "LABELS", "NAMES", "TrainConfig",
    "Vocabulary", "bundled", "emotion_index", "encode_dataset", "evaluate_checkpoint", "folder_metrics",
    "generate", "generate_set", "load_checkpoint", "load_dataset", "melody_to_music", "quadrant_accuracy",
    "read_melody", "reproduce", "save_checkpoint", "train", "write_midi",
]
