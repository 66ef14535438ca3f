"""The small API every tool goes through: ``emovae.load()`` and :class:`Melody`.

>>> import emovae
>>> model = emovae.load()                                   # bundled CVAE-EmoReg   # doctest: +SKIP
>>> sad = model.generate(emotion="sad", n=4, seed=1)        # 4 Melody objects       # doctest: +SKIP
>>> sad[0].to_midi("sad.mid"); sad[0].to_svg("sad.svg")                              # doctest: +SKIP

A :class:`Model` wraps a :class:`emovae.checkpoint.TrainedModel` and hands back
:class:`Melody` objects: tokens, the emotion they were decoded with, their latent point(s).
The rules (sampling, placing a melody, moving it, paths) are :mod:`emovae.generation`'s.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import generation as gen
from .checkpoint import TrainedModel, load_model
from .data import N_STEPS, REST, _count, notes_of, read_segments
from .emotions import LABELS, NAMES, check_point, emotion_index, quadrant_of_point
from .errors import EmovaeError, EmovaeWarning
from .limits import check_count, check_seed, check_temperature

__all__ = ["Melody", "Model", "load"]


@dataclass(frozen=True, eq=False)
class Melody:
    """A melody: raw tokens (a multiple of 64 steps), the emotion(s) it was decoded with, and its
    point(s) on the plane (one per 4-bar segment)."""

    tokens: np.ndarray  # raw tokens (64 per 4 bars): 0..127 onset, 128 rest, 129 hold
    emotions: tuple[int, ...] = ()  # condition of each segment, 0..3 = e1..e4
    points: tuple[tuple[float, float], ...] = ()  # (valence, arousal) of each segment
    name: str = "melody"  # a file-name stem
    source: str | None = None  # the file it was read from, if any
    info: dict = field(default_factory=dict)  # anything else worth keeping (placement, temperature...)

    @property
    def emotion(self) -> str | None:
        """The emotion name of the first segment (happy, angry, sad, relaxed), if known."""
        return NAMES[self.emotions[0]] if self.emotions else None

    @property
    def point(self) -> tuple[float, float] | None:
        return self.points[0] if self.points else None

    @property
    def bars(self) -> int:
        return len(self.tokens) // 16

    @property
    def notes(self) -> list[tuple[int, int, int]]:
        """(onset step, duration in steps, MIDI pitch) of each note; a step is a sixteenth."""
        return notes_of(self.tokens)

    @property
    def degenerate(self) -> bool:
        """True without a note or with a single repeated pitch: the validity rule's tests of the
        notes (:func:`emovae.novelty.note_reason`); its rest test is left out, since the training
        set's longest rest bounds a 4-bar decoder output, not a melody of any length."""
        from .novelty import note_reason

        return note_reason(self.tokens) is not None

    def segments(self) -> np.ndarray:
        return np.asarray(self.tokens).reshape(-1, N_STEPS)

    # -- outputs ---------------------------------------------------------------------------
    def to_midi(self, path: str | os.PathLike) -> Path:
        from .data import write_midi

        write_midi(self.tokens, path)
        return Path(path)

    def to_musicxml(self, path: str | os.PathLike | None = None) -> str:
        from .render import to_musicxml

        return to_musicxml(self.tokens, path, title=self.name)

    def to_svg(self, path: str | os.PathLike | None = None) -> str:
        from .render import to_svg

        return to_svg(self.tokens, path)

    def to_wav(self, path: str | os.PathLike | None = None, **kwargs) -> bytes:
        from .render import to_wav

        return to_wav(self.tokens, path, **kwargs)

    def midi_bytes(self) -> bytes:
        from .data import midi_bytes

        return midi_bytes(self.tokens)

    def save(self, stem: str | os.PathLike, formats=("midi",)) -> list[Path]:
        """Write ``stem.mid`` / ``.musicxml`` / ``.svg`` / ``.wav`` for the formats asked for."""
        from .render import write

        return write(self.tokens, stem, formats, title=self.name)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "bars": self.bars,
            "emotions": [NAMES[e] for e in self.emotions],
            "points": [[round(v, 4), round(a, 4)] for v, a in self.points],
            "notes": [list(n) for n in self.notes],
            "tokens": np.asarray(self.tokens).tolist(),
            **self.info,
        }

    def __repr__(self) -> str:
        pts = ", ".join(f"({v:+.2f}, {a:+.2f})" for v, a in self.points[:3])
        return f"Melody({self.name!r}, {self.bars} bars, {_count(len(self.notes), 'note')}, {self.emotion}, {pts})"


def _as_melody(item, what: str = "melody") -> Melody:
    """A Melody from a Melody, a MIDI file path or raw tokens (a multiple of 64 steps)."""
    if isinstance(item, Melody):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        return Melody(read_segments(path).reshape(-1), name=path.stem, source=str(path))
    arr = np.asarray(item)
    if arr.ndim != 1 or len(arr) == 0 or len(arr) % N_STEPS or not np.issubdtype(arr.dtype, np.integer):
        raise EmovaeError(f"{what}: give a Melody, a MIDI file or integer tokens of 64 steps per 4 bars")
    return Melody(arr.astype(np.int64))


def _check_notes(m: Melody) -> None:
    """Silence is not placed on the plane: a melody without a note, or without one in its first 4
    bars, is refused with the line the MIDI reader gives such a file (:func:`emovae.data.read_segments`),
    so the API, the command line and the web API answer it alike."""
    tokens = np.asarray(m.tokens)
    what = m.source or m.name
    if not (tokens < REST).any():
        raise EmovaeError(f"{what}: no notes")
    if not (tokens[:N_STEPS] < REST).any():
        raise EmovaeError(f"{what}: no notes in the first 4 bars ({N_STEPS} sixteenths)")


class Model:
    """A trained model that speaks in melodies. ``emovae.load()`` makes one.

    Every argument is checked once, by the rules the command line and the server use
    (:mod:`emovae.limits`), with the same one-line :class:`~emovae.errors.EmovaeError`: ``n`` a
    whole number from 1 to 100,000 (:data:`emovae.limits.MAX_COUNT`; NumPy integers are whole
    numbers, 2.5 and True are not), ``seed`` a whole number from 0 to 2**32 - 1, ``temperature`` 0 or a number from 0.001
    up, points finite and on the plane [-8, 8]^2 (NumPy scalars are numbers), emotions one of
    e1..e4, Q1..Q4 or their names. Melodies are decoded in batches of
    :data:`emovae.checkpoint.MAX_BATCH`, so memory stays bounded.
    """

    def __init__(self, trained: TrainedModel):
        self.trained = trained  # the TrainedModel underneath (encode / decode / sample on tokens)

    def __repr__(self) -> str:
        return f"Model({self.trained.title}, {self.trained.path or 'in memory'})"

    @property
    def title(self) -> str:
        return self.trained.title

    def _melodies(self, tokens, emotions, points, stem: str, **info) -> list[Melody]:
        return [
            Melody(t, (int(e),), ((float(p[0]), float(p[1])),), f"{stem}_{k:03d}", info=dict(info))
            for k, (t, e, p) in enumerate(zip(tokens, emotions, points))
        ]

    def generate(
        self,
        emotion="happy",
        n: int = 4,
        *,
        seed: int = 0,
        temperature: float = 0.0,
        shift: bool | None = None,
        sampler: str | None = None,  # "paper" (z ~ N(0, 2^2) around the quadrant centre) or "fitted"; None: the model's
        spread: float = 1.0,  # fitted sampler: the codes' own spread times this
        unique: bool = False,  # the copy guard: a melody equal to a training melody is drawn again nearby
    ) -> list[Melody]:
        """n melodies of an emotion (:mod:`emovae.samplers`): the paper's sampler, or the density
        fitted to the training codes where the model carries one; ``temperature`` 0 = argmax."""
        e = emotion_index(emotion)
        temperature = check_temperature(temperature)
        z = self.trained.sample_points(e, n, seed=seed, shift=shift, sampler=sampler, spread=spread)  # checks n, seed
        seed = int(seed)
        tokens = self.trained._decode(z, e, temperature, seed)
        if unique:
            z, tokens = self.trained._redraw_copies(z, e, tokens, seed, temperature)
        return self._melodies(tokens, [e] * len(z), z, LABELS[e], temperature=temperature, seed=seed)

    def at(
        self, valence: float, arousal: float, *, emotion=None, n: int = 1, seed: int = 0, temperature: float = 0.0
    ) -> Melody | list[Melody]:
        """The melody at a point of the plane (decoded with its quadrant's emotion unless
        ``emotion`` names another); with n > 1 (and a temperature above 0) a list of n."""
        v, a = check_point(valence, arousal)
        e = quadrant_of_point(v, a) if emotion is None else emotion_index(emotion)
        n, seed, temperature = check_count(n), check_seed(seed), check_temperature(temperature)
        z = np.tile(np.asarray([[v, a]], dtype=np.float32), (n, 1))
        if temperature == 0:  # argmax: one decoding, the same melody n times
            tokens = np.repeat(self.trained._decode(z[:1], e, 0.0, 0), n, axis=0)
        else:
            tokens = [self.trained._decode(z[:1], e, temperature, seed + k)[0] for k in range(n)]
        out = self._melodies(tokens, [e] * n, z, f"{LABELS[e]}_v{v:+.2f}_a{a:+.2f}", temperature=temperature)
        return out[0] if n == 1 else out

    def encode(self, melody, *, emotion=None, data=None) -> Melody:
        """Place a melody (a Melody, a MIDI file or tokens) on the plane, segment by segment
        (one point per 4 bars): see :func:`emovae.generation.place` for the rule. The result
        carries the points, and ``info["placements"]`` says what each one means. A melody
        without a note in its first 4 bars is refused (silence has no place), as the MIDI
        reader refuses such a file: "NAME: no notes", or "NAME: no notes in the first 4 bars
        (64 sixteenths)" when its notes come later.

        Without ``emotion``, a model whose encoder reads the label is given the label of the
        emotion classifier fitted on the data set (``data``, default $EMOVAE_DATA;
        :mod:`emovae.verdict`), with its probability; without a data set the emotion is reported
        unknown (``info["placements"][k]["unknown"]`` says why)."""
        m = _as_melody(melody)
        _check_notes(m)
        clf, unknown = None, ""
        if emotion is None and self.trained.model_config.encoder_condition:
            from .verdict import classifier

            clf, unknown = classifier(data)
        placements = gen.place(
            self.trained, m.segments(), emotion, what=m.source or m.name, classifier=clf, unknown=unknown or ""
        )
        return Melody(
            m.tokens,
            tuple(pl.emotion if pl.probabilities else pl.quadrant for pl in placements),
            tuple(pl.point for pl in placements),
            m.name,
            m.source,
            {"placements": [pl.to_dict() for pl in placements], "verdicts": [pl.verdict() for pl in placements]},
        )

    def transform(self, melody, to, *, emotion=None, temperature: float = 0.0, seed: int = 0) -> Melody:
        """Move a melody into the quadrant of emotion ``to``: each segment's point mirrored across
        the axes (:func:`emovae.generation.transform_point`) and decoded with that emotion;
        octave-shifted back if it was shifted into the vocabulary."""
        e = emotion_index(to)
        seed, temperature = check_seed(seed), check_temperature(temperature)
        placed = self.encode(melody, emotion=emotion)
        targets = np.asarray([gen.transform_point(p, e) for p in placed.points], dtype=np.float32)
        tokens = self.trained._decode(targets, e, temperature, seed)
        shift = placed.info["placements"][0]["octave_shift"]
        tokens = _shift_back(tokens, shift)
        return Melody(
            tokens.reshape(-1),
            (e,) * len(targets),
            tuple(map(tuple, targets.tolist())),
            f"{placed.name}_to_{NAMES[e]}",
            placed.source,
            {"from_points": [list(p) for p in placed.points]},
        )

    def path(self, waypoints, bars: int = 16, *, seed: int = 0, temperature: float = 0.0) -> Melody:
        """A melody of ``bars`` bars (a multiple of 4) whose emotion follows a path through
        waypoints (emotion names or (valence, arousal) points)."""
        tokens, points, emotions = gen.along_path(self.trained, waypoints, bars, seed=seed, temperature=temperature)
        names = "_".join(NAMES[e] for e in dict.fromkeys(emotions))
        return Melody(tokens, tuple(emotions), tuple(map(tuple, points.tolist())), f"path_{names}_{bars}bars")

    def interpolate(self, a, b, steps: int = 8, *, temperature: float = 0.0, seed: int = 0) -> list[Melody]:
        """``steps`` melodies from a to b (each a point or a melody, placed by :meth:`encode`),
        both ends included, each decoded with its point's quadrant emotion."""
        seed, temperature = check_seed(seed), check_temperature(temperature)
        steps = check_count(steps, "steps")
        ends = []
        for end in (a, b):
            if isinstance(end, (tuple, list)) and len(end) == 2 and not isinstance(end[0], (tuple, list)):
                ends.append(check_point(*end))
            else:
                placed = self.encode(end)
                if len(placed.points) > 1:
                    warnings.warn(
                        f"{placed.source or placed.name}: {len(placed.points)} four-bar segments; the point "
                        "of the first is the end of the line (encode shows every segment's point)",
                        EmovaeWarning,
                        stacklevel=2,
                    )
                ends.append(placed.point)
        pts = gen.interpolate_points(ends[0], ends[1], steps)
        emotions = [quadrant_of_point(*p) for p in pts]
        tokens = self.trained._decode(pts.astype(np.float32), emotions, temperature, seed)
        return self._melodies(tokens, emotions, pts, "step")


def _shift_back(tokens: np.ndarray, shift: int) -> np.ndarray:
    if not shift:
        return tokens
    out = tokens.copy()
    notes = tokens < REST
    out[notes] = np.clip(tokens[notes] - shift, 0, 127)
    return out


def load(spec: str | os.PathLike | None = None, *, device: str = "cpu", precision: str | None = None) -> Model:
    """A :class:`Model`: the bundled CVAE-EmoReg (``None`` or "emoreg"), the bundled CVAE-Base
    ("base"), a checkpoint file or a run folder."""
    if spec is not None and not isinstance(spec, (str, os.PathLike, TrainedModel)):
        raise EmovaeError(
            f"emovae.load({spec!r}): give a checkpoint file, a run folder or a bundled model's name "
            f"(plane, emoreg, base), not a {type(spec).__name__}"
        )
    trained = load_model(spec, device=device, precision=precision)
    if not trained.training_hashes and _bundled(spec):  # trained on the manifest's melodies: its hashes
        from .corpus import load_manifest

        trained.training_hashes = frozenset(e.sha256 for e in load_manifest())
    return Model(trained)


def _bundled(spec) -> bool:
    from .checkpoint import resolve_checkpoint
    from .weights import is_bundled

    return not isinstance(spec, TrainedModel) and is_bundled(resolve_checkpoint(spec))
