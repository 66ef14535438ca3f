"""The emotion of a melody given without a label: evidence, not the encoder's say.

The paper's encoder reads the emotion label with the melody, so the label whose point lies
deepest in its own quadrant says more about the label than about the melody (on the 344
training melodies it names their own emotion for 44% with CVAE-EmoReg, 24% with CVAE-Base:
``benchmarks/encode_verdict.py``). Without a label the emotion comes from the emotion
classifier of :mod:`emovae.classifier` (its probability shown), fitted on the data set
(:func:`emovae.corpus.resolve_data_root`) once per process and data folder; where there is no
data set (or no scikit-learn) the answer is "emotion unknown", saying why.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

from .errors import EmovaeError

__all__ = ["classifier", "clear_cache"]

_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


def classifier(data: str | os.PathLike | None = None):
    """``(EmotionClassifier, None)`` fitted on the data set's melodies (cached per process and
    folder), or ``(None, reason)`` where it cannot be had: no data set, no scikit-learn."""
    from .corpus import resolve_data_root

    try:
        root = resolve_data_root(data, build_missing=False)
    except EmovaeError as exc:
        return None, str(exc)
    key = str(Path(root).resolve())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key], None
        try:
            from .classifier import EmotionClassifier
            from .data import load_dataset

            with warnings.catch_warnings():  # the data set's own reading notes are not about the user's melody
                warnings.simplefilter("ignore")
                ds = load_dataset(root)  # a bar on a terminal while it reads
                import sys

                from tqdm.auto import tqdm

                on_terminal = bool(getattr(sys.stderr, "isatty", lambda: False)())
                with tqdm(
                    total=1, desc="fit the emotion classifier", unit="fit", disable=not on_terminal, leave=False
                ) as bar:
                    clf = EmotionClassifier().fit(ds.tokens, ds.labels, seed=0)
                    bar.update(1)
        except ImportError as exc:
            return None, f"the emotion classifier needs scikit-learn ({exc.name} is missing)"
        except EmovaeError as exc:
            return None, f"no emotion classifier: {exc}"
        _CACHE[key] = clf
        return clf, None


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
