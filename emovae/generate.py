"""Generation as the paper does it: sample z, decode with the emotion as condition, write MIDI.

z ~ N(0, std^2 I) with std = 2; for CVAE-EmoReg shifted to the centre of the emotion's quadrant
(e1 (+2, +2), e2 (-2, +2), e3 (-2, -2), e4 (+2, -2)), not truncated. CVAE-Base is sampled
unshifted. The decoder's softmax is read by argmax at each step. A point can also be chosen by
hand: ``valence`` and ``arousal`` on the plane [-PLANE_LIMIT, PLANE_LIMIT]^2.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .checkpoint import Checkpoint, as_checkpoint
from .data import write_midi
from .emotions import LABELS, emotion_index, quadrant_centre
from .errors import EmovaeError

PLANE_LIMIT = 8.0  # |valence|, |arousal| beyond this lie far outside every training point


def check_point(valence: float, arousal: float) -> tuple[float, float]:
    """Raise unless (valence, arousal) is a finite point on the plane."""
    for name, v in (("valence", valence), ("arousal", arousal)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and abs(v) <= PLANE_LIMIT):
            raise EmovaeError(
                f"coordinate ({valence}, {arousal}) is off the plane: {name} must be a number in "
                f"[-{PLANE_LIMIT:g}, {PLANE_LIMIT:g}]"
            )
    return float(valence), float(arousal)


def sample_latent(n: int, emotion, *, shift: bool = True, std: float = 2.0, radius: float = 2.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """n points z ~ N(0, std^2 I), shifted to the emotion's quadrant centre when ``shift``."""
    z = torch.randn(n, 2, generator=generator) * std
    if shift:
        z = z + torch.tensor(quadrant_centre(emotion, radius))
    return z


@torch.no_grad()
def decode_points(ckpt: Checkpoint, z: torch.Tensor, emotion) -> np.ndarray:
    """Decode latent points (n, 2) with an emotion as condition -> raw tokens (n, 64)."""
    model = ckpt.model.eval()
    device = next(model.parameters()).device
    e = torch.full((len(z),), emotion_index(emotion), dtype=torch.long, device=device)
    logits = model.decode(z.to(device, torch.float32), e)
    return ckpt.vocab.decode(logits.argmax(-1).cpu().numpy())


def generate(model, emotion, n: int = 20, *, seed: int = 0, shift: bool | None = None,
             std: float = 2.0, at: tuple[float, float] | None = None) -> np.ndarray:
    """n melodies (raw tokens, (n, 64)) of one emotion from a checkpoint (path or loaded).

    ``shift`` defaults to True for CVAE-EmoReg and False for CVAE-Base; ``at`` = (valence,
    arousal) decodes that one point n times (the same melody) instead of sampling."""
    ckpt = as_checkpoint(model)
    emotion = emotion_index(emotion)
    if at is not None:
        z = torch.tensor([check_point(*at)], dtype=torch.float32).repeat(n, 1)
    else:
        shift = ckpt.emotion_regularized if shift is None else shift
        gen = torch.Generator().manual_seed(seed * 4 + emotion)
        z = sample_latent(n, emotion, shift=shift, std=std, generator=gen)
    return decode_points(ckpt, z, emotion)


def generate_set(model, out_dir, *, n_per_emotion: int = 20, seed: int = 0, emotions=LABELS,
                 shift: bool | None = None, std: float = 2.0) -> list[Path]:
    """Write n melodies per emotion as out_dir/e1..e4/NNN.mid (the paper's generated sets)."""
    ckpt = as_checkpoint(model)
    paths = []
    for emotion in emotions:
        i = emotion_index(emotion)
        tokens = generate(ckpt, i, n_per_emotion, seed=seed, shift=shift, std=std)
        for k, melody in enumerate(tokens):
            path = Path(out_dir) / LABELS[i] / f"{LABELS[i]}_{k:03d}.mid"
            write_midi(melody, path)
            paths.append(path)
    return paths
