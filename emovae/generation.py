"""Generation as the paper does it: sample z, decode with the emotion as condition, write MIDI.

z ~ N(0, std^2 I) with std = 2; for CVAE-EmoReg shifted to the centre of the emotion's quadrant
(e1 (+2, +2), e2 (-2, +2), e3 (-2, -2), e4 (+2, -2)), not truncated. CVAE-Base is sampled
unshifted. The decoder's softmax is read by argmax at each step (the paper's way; a temperature
above 0 samples from it instead). A point can also be chosen by hand: ``valence`` and
``arousal`` on the plane [-PLANE_LIMIT, PLANE_LIMIT]^2.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import TrainedModel, load_model
from .data import write_midi
from .emotions import LABELS, PLANE_LIMIT, check_point, emotion_index

__all__ = ["PLANE_LIMIT", "check_point", "generate", "generate_set"]


def generate(model, emotion, n: int = 20, *, seed: int = 0, shift: bool | None = None,
             std: float = 2.0, at: tuple[float, float] | None = None, temperature: float = 0.0) -> np.ndarray:
    """n melodies (raw tokens, (n, 64)) of one emotion from a model (loaded, a path or a name).

    ``shift`` defaults to True for CVAE-EmoReg and False for CVAE-Base; ``at`` = (valence,
    arousal) decodes that one point n times instead of sampling (the same melody at
    temperature 0)."""
    model: TrainedModel = load_model(model)
    emotion = emotion_index(emotion)
    if at is not None:
        v, a = check_point(*at)
        from .checkpoint import check_count

        z = np.tile(np.asarray([[v, a]], dtype=np.float32), (check_count(n), 1))
        return model.decode(z, emotion, temperature=temperature, seed=seed)
    return model.sample(emotion, n, seed=seed, shift=shift, std=std, temperature=temperature)


def generate_set(model, out_dir, *, n_per_emotion: int = 20, seed: int = 0, emotions=LABELS,
                 shift: bool | None = None, std: float = 2.0) -> list[Path]:
    """Write n melodies per emotion as out_dir/e1..e4/NNN.mid (the paper's generated sets)."""
    model = load_model(model)
    paths = []
    for emotion in emotions:
        i = emotion_index(emotion)
        tokens = generate(model, i, n_per_emotion, seed=seed, shift=shift, std=std)
        for k, melody in enumerate(tokens):
            path = Path(out_dir) / LABELS[i] / f"{LABELS[i]}_{k:03d}.mid"
            write_midi(melody, path)
            paths.append(path)
    return paths
