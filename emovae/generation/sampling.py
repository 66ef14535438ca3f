"""Sampling melodies of an emotion, or decoding a chosen point.

**Sampling (the paper).** z ~ N(0, std^2 I) with std = 2; for CVAE-EmoReg shifted to the centre
of the emotion's quadrant (e1 (+2, +2), e2 (-2, +2), e3 (-2, -2), e4 (+2, -2)), not truncated.
CVAE-Base is sampled unshifted. The decoder's softmax is read by argmax at each step
(``temperature=0``, what the paper and the authors' code do); a temperature above 0 draws each
step from softmax(logits / T) instead.

**A chosen point.** (valence, arousal) anywhere on [-PLANE_LIMIT, PLANE_LIMIT]^2, decoded with
the emotion of its quadrant as condition unless another emotion is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checkpoint import TrainedModel, load_model
from ..data import write_midi
from ..emotions import LABELS, check_point, emotion_index
from ..limits import check_count, check_seed

__all__ = ["generate", "generate_set"]


def generate(
    model,
    emotion,
    n: int = 20,
    *,
    seed: int = 0,
    shift: bool | None = None,
    std: float = 2.0,
    at: tuple[float, float] | None = None,
    temperature: float = 0.0,
    sampler: str | None = None,
) -> np.ndarray:
    """n melodies (raw tokens, (n, 64)) of one emotion from a model (loaded, a path or a name).

    ``shift`` defaults to True for CVAE-EmoReg and False for CVAE-Base; ``at`` = (valence,
    arousal) decodes that one point n times instead of sampling (the same melody at
    temperature 0). ``sampler``: "paper", "fitted", or None for the model's own
    (:meth:`emovae.checkpoint.TrainedModel.sample_points`).

    A thin wrapper for scripts: :meth:`emovae.checkpoint.TrainedModel.sample` (the model's verb)
    or, with ``at``, :meth:`~emovae.checkpoint.TrainedModel.decode`; for melodies as objects
    use :meth:`emovae.api.Model.generate`. Each value is checked by the function that uses it."""
    model: TrainedModel = load_model(model)
    emotion = emotion_index(emotion)
    if at is None:
        return model.sample(emotion, n, seed=seed, shift=shift, std=std, temperature=temperature, sampler=sampler)
    v, a = check_point(*at)
    z = np.tile(np.asarray([[v, a]], dtype=np.float32), (check_count(n), 1))
    return model.decode(z, emotion, temperature=temperature, seed=check_seed(seed))


def generate_set(
    model,
    out_dir,
    *,
    n_per_emotion: int = 20,
    seed: int = 0,
    emotions=LABELS,
    shift: bool | None = None,
    std: float = 2.0,
) -> list[Path]:
    """Write n melodies per emotion as out_dir/e1..e4/NNN.mid (the paper's generated sets)."""
    model = load_model(model)
    paths = []
    for emotion in emotions:
        i = emotion_index(emotion)
        tokens = generate(model, i, n_per_emotion, seed=seed, shift=shift, std=std, sampler="paper")
        for k, melody in enumerate(tokens):
            path = Path(out_dir) / LABELS[i] / f"{LABELS[i]}_{k:03d}.mid"
            write_midi(melody, path)
            paths.append(path)
    return paths
