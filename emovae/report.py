"""``emovae report``: evaluation beyond the paper, one folder of Markdown + PNG + JSON.

Does a generated melody carry the emotion it was asked for, is it new, does every point of the
plane decode to a melody, does the plane's order hold for melodies the model never saw and over
training seeds, and how close are the generated sets to the training set? :func:`report` answers
all of it for trained models (checkpoints, run folders or the bundled ``emoreg`` / ``base``),
folders of generated MIDI laid out as ``e1..e4`` (by default the authors' published sets found
beside the data set) and groups of training runs over several seeds.

Sections of ``report.md`` (every figure is also in ``results.json``):

1. **The classifier on real melodies** (:mod:`emovae.classifier`): nested, tune-grouped 5-fold
   cross-validated accuracy (4 quadrants, arousal alone, valence alone) and its confusion
   matrix; and the accuracy on the authors' held-out split when trained on its training split.
   That split is not grouped by tune, so it is also given on the held-out melodies whose exact
   token sequence does not occur in the training split.
2. **Emotion control accuracy**: ``n_per_emotion`` melodies per emotion from each model (the
   paper's sampling, ``seed``) and every melody of each set, judged by a classifier trained on
   ALL real melodies (:func:`emovae.classifier.control_accuracy`), beside the classifier's own
   accuracy on real held-out melodies. **Continuous**: a ``grid x grid`` lattice over
   ``[-6, 6]^2`` is decoded (each point conditioned on the emotion of its own quadrant,
   :func:`emovae.evaluate.quadrant_of`), the classifier's valence and arousal
   (:meth:`~emovae.classifier.EmotionClassifier.predict_va`, in [-1, 1]) are compared with the
   point's coordinates (:func:`va_agreement`), and drawn over the plane.
3. **Every point a melody**: the same grid's validity (:func:`emovae.novelty.grid_stats`) and
   how note density, mode, mean pitch and pitch range change along each axis
   (:func:`axis_profiles`).
4. **Novelty and diversity** (:mod:`emovae.novelty`): per source and emotion, exact and near
   copies of training melodies, distinct melodies per 100, the degenerate (invalid) share.
5. **Order on unseen melodies and over seeds**: D_i (:func:`emovae.evaluate.evaluate_model`) and
   the reconstruction accuracy (:func:`reconstruction_accuracy`) on both splits, per model; per
   run of each ``runs`` group and as mean and sd over the runs (:func:`mean_sd`), with one
   picture of every run's D_i over the epochs.
6. **Closeness to the training set**: Table 3 (:mod:`emovae.metrics`) per model and set, the
   cells within half a training-set sigma marked (:func:`within_sigma`) and counted.

Everything is checked before the long work starts (one-line :class:`EmovaeError`); an
unreadable file of a set is skipped with a one-line :class:`EmovaeWarning` and counted. The
files are computed into a temporary folder beside ``out_dir`` and moved into it only when all
exist, ``report.md`` last.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .emotions import LABELS, NAMES, QUADRANTS
from .errors import EmovaeError, EmovaeWarning
from .evaluate import reconstruction, reconstruction_accuracy
from .metrics import SIGMA_SHARE, within_sigma

__all__ = [
    "GRID_LIMIT",
    "MAX_GRID",
    "MAX_PER_EMOTION",
    "NEAR_STEPS",
    "PROFILE_FEATURES",
    "axis_profiles",
    "mean_sd",
    "pearson",
    "plane_grid",
    "reconstruction_accuracy",
    "report",
    "va_agreement",
    "within_sigma",
]

GRID_LIMIT = 6.0  # the grid covers [-GRID_LIMIT, GRID_LIMIT]^2
MAX_GRID = 201  # grid points per axis at most (201 x 201 = 40,401 melodies)
MAX_PER_EMOTION = 10_000  # generated melodies per emotion at most
NEAR_STEPS = 4  # a near copy differs from a training melody in at most this many steps
#: Features drawn along each axis of the grid (names in :data:`emovae.features.FEATURE_NAMES`).
PROFILE_FEATURES = ("note_density", "mode", "pitch_mean", "pitch_range")
_NEEDS_NOTES = {"mode", "pitch_mean", "pitch_range"}  # undefined for a melody without notes

DEFAULT_MODELS = {"emovae CVAE-EmoReg": "emoreg", "emovae CVAE-Base": "base"}
_REFERENCE = "training set (all files)"  # Table 3's reference column


# ---------------------------------------------------------------------------- small measures


def plane_grid(grid: int, limit: float = GRID_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (g,), points (g*g, 2))``: ``coords = linspace(-limit, limit, g)`` and the lattice
    in row-major order, row ``i`` = arousal ``coords[i]`` (bottom to top), column ``j`` = valence
    ``coords[j]``: ``points[i * g + j] = (coords[j], coords[i])``."""
    coords = np.linspace(-limit, limit, grid)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    return coords, np.stack([xx.ravel(), yy.ravel()], axis=1)


def pearson(a, b) -> float | None:
    """Pearson correlation ``cov(a, b) / (sd(a) sd(b))`` of two equal-length series; None when
    either is constant (or has fewer than 2 values), where it is undefined."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise EmovaeError(f"pearson: expected two 1-D series of equal length, got {x.shape} and {y.shape}")
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if den == 0.0:
        return None
    return float((dx * dy).sum()) / den


def va_agreement(predicted, points, limit: float = GRID_LIMIT) -> dict:
    """How well predicted (valence, arousal) in [-1, 1] follow the points' coordinates.

    ``predicted`` and ``points`` are ``(N, 2)`` (valence, arousal). For each axis, with ``p`` the
    prediction and ``c`` the coordinate:

    - ``l1_sign = mean |p - s(c)|`` with ``s(c) = +1`` if ``c >= 0`` else ``-1`` (the quadrant
      rule of :func:`emovae.evaluate.quadrant_of`);
    - ``l1_scaled = mean |p - c / limit|`` (the coordinate scaled linearly to [-1, 1]);
    - ``pearson`` = :func:`pearson` of ``p`` and ``c`` (scale-free; None if either is constant).

    Example: predicted valences (1, 0) at x = (6, -3) with limit 6: l1_sign = (0 + 1) / 2 = 0.5,
    l1_scaled = (0 + 0.5) / 2 = 0.25, pearson = 1.
    """
    p = np.asarray(predicted, dtype=np.float64)
    c = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape != c.shape:
        raise EmovaeError(f"va_agreement: expected predictions and points of shape (N, 2), got {p.shape} and {c.shape}")
    if not p.size:
        raise EmovaeError("va_agreement: no points")
    out = {}
    for k, axis in enumerate(("valence", "arousal")):
        sign = np.where(c[:, k] >= 0, 1.0, -1.0)
        out[axis] = {
            "l1_sign": float(np.abs(p[:, k] - sign).mean()),
            "l1_scaled": float(np.abs(p[:, k] - c[:, k] / limit).mean()),
            "pearson": pearson(p[:, k], c[:, k]),
        }
    return out


def axis_profiles(values) -> tuple[np.ndarray, np.ndarray]:
    """``(along_valence, along_arousal)`` of a ``(g, g)`` grid of values laid out as
    :func:`plane_grid` (row = arousal, column = valence): ``along_valence[j] = mean_i v[i, j]``
    and ``along_arousal[i] = mean_j v[i, j]``, NaN values left out (NaN where all are NaN).

    ``[[1, 2], [3, NaN]]`` -> along valence ``(2, 2)``, along arousal ``(1.5, 3)``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise EmovaeError(f"axis_profiles: expected a (g, g) grid, got shape {v.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN line gives NaN, as documented
        return np.nanmean(v, axis=0), np.nanmean(v, axis=1)


def mean_sd(values) -> dict:
    """``{"n", "mean", "sd"}`` of numbers (None values left out): the mean and the sample
    standard deviation ``sqrt(sum (v - mean)^2 / (n - 1))``; sd None for fewer than 2 values,
    both None for none. (1, 2, 3) -> mean 2, sd 1."""
    vals = np.asarray([float(v) for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if not vals.size:
        return {"n": 0, "mean": None, "sd": None}
    return {"n": int(vals.size), "mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if vals.size > 1 else None}


# ---------------------------------------------------------------------------- checking the input


def _check_int(value, what: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EmovaeError(f"{what}: expected a whole number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise EmovaeError(f"{what} {int(value)}: must be {bound}")
    return int(value)


def _check_out(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EmovaeError(f"{out}: exists and is not a folder (the report needs a folder)")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise EmovaeError(f"{out}: cannot be created ({probe} is not a folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise EmovaeError(f"{out}: cannot be written ({probe} is not writable)")
    return out


@dataclass
class MidiSet:
    """A folder of melodies laid out as e1..e4: what could be read and what was skipped."""

    name: str
    folder: Path
    tokens: np.ndarray  # (N, 64) raw tokens of the readable files
    labels: np.ndarray  # (N,) emotion of each (its folder)
    paths: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [{"path", "reason"}]
    silent: int = 0  # readable files without a note: read as all rests


def read_set(name: str, folder) -> MidiSet:
    """Read ``folder/e1..e4/*.mid`` with :func:`emovae.data.read_melody`; an unreadable file is
    skipped with one EmovaeWarning and listed in ``skipped``. A readable MIDI file without a note
    (a model may generate silence) is a melody of 64 rests, counted in ``silent``. EmovaeError for a folder that does
    not exist, has no e1..e4 folder, holds no MIDI file, or none that can be read."""
    from .data import N_STEPS, REST, midi_files, read_melody

    root = Path(folder)
    if not root.is_dir():
        raise EmovaeError(f"set {name!r}: {root}: {'not a folder' if root.exists() else 'no such folder'}")
    present = [e for e, label in enumerate(LABELS) if (root / label).is_dir()]
    if not present:
        what = "empty folder" if not any(root.iterdir()) else "no e1..e4 folder"
        raise EmovaeError(f"set {name!r}: {root}: {what} (expected {root}/e1/*.mid ... {root}/e4/*.mid)")
    files = [(e, p) for e in present for p in midi_files(root / LABELS[e])]
    if not files:
        raise EmovaeError(f"set {name!r}: {root}: no .mid files in its e1..e4 folders")
    rows, labels, paths, skipped, silent = [], [], [], [], 0
    for e, path in files:
        try:
            rows.append(read_melody(path))
        except EmovaeError as exc:
            if _silent(path):  # a generated melody may be silence: a degenerate melody, not a bad file
                rows.append(np.full(N_STEPS, REST, dtype=np.int64))
                silent += 1
            else:
                reason = str(exc).splitlines()[0].removeprefix(f"{path}: ")
                warnings.warn(f"{path}: skipped, cannot be read ({reason})", EmovaeWarning, stacklevel=2)
                skipped.append({"path": str(path), "reason": reason})
                continue
        labels.append(e)
        paths.append(path)
    if not rows:
        raise EmovaeError(f"set {name!r}: {root}: none of its {len(files)} MIDI files can be read")
    return MidiSet(
        name, root, np.stack(rows).astype(np.int64), np.asarray(labels, dtype=np.int64), paths, skipped, silent
    )


def _silent(path) -> bool:
    """True for a MIDI file that MusPy reads but that holds no (non-drum) note."""
    import muspy

    try:
        music = muspy.read_midi(path)
    except Exception:  # noqa: BLE001 - mido/muspy raise many kinds for a bad file: a bad file, not silence
        return False
    return not any(track.notes for track in music.tracks if not track.is_drum)


class _Splits:
    """The data set encoded with a model's vocabulary and split as its run split it; encodes once
    per (vocabulary, split seed, held-out share)."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict = {}

    def __call__(self, model, what: str):
        from .training import EncodedData, encode_dataset

        tc = model.train_config
        key = (tuple(model.vocab.tokens), tc.split_seed, tc.heldout)
        if key not in self._cache:
            with warnings.catch_warnings():  # the data set was read (and warned about) once already
                warnings.simplefilter("ignore", EmovaeWarning)
                self._cache[key] = encode_dataset(
                    self.root, vocab=model.vocab, split_seed=tc.split_seed, heldout=tc.heldout, vocab_owner=what
                )
        base = self._cache[key]
        data = EncodedData(base.vocab, base.indices, base.labels, base.names, base.train_idx, base.heldout_idx)
        if model.state.names == data.names and model.state.train_idx:  # the very split it was trained with
            data.train_idx = np.asarray(model.state.train_idx, dtype=np.int64)
            data.heldout_idx = np.asarray(model.state.heldout_idx, dtype=np.int64)
        return data


def _load(spec, what: str, splits: _Splits):
    from .checkpoint import load_model

    try:
        model = load_model(spec)
    except EmovaeError as exc:
        raise EmovaeError(f"{what}: {exc}") from None
    return model, splits(model, f"{what} ({model.path or spec})")


def _slug(name: str, taken: set) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "item"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}_{k}", k + 1
    taken.add(slug)
    return slug


# ---------------------------------------------------------------------------- formatting


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.1f}"


def _num(x, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.{digits}f}"


def _table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _confusion_table(confusion, what: str = "asked") -> str:
    header = [f"{what} \\ assigned", *(f"{LABELS[e]} {NAMES[e]}" for e in range(4)), "n"]
    rows = [[f"{LABELS[e]} {NAMES[e]}", *map(int, confusion[e]), int(sum(confusion[e]))] for e in range(4)]
    return _table(header, rows)


def _jsonable(value):
    """Numbers, lists and dicts made JSON-safe: NumPy scalars to Python, NaN / inf to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _table3_json(column: dict) -> dict:
    return {LABELS[e]: {m: list(v) for m, v in metrics.items()} for e, metrics in column.items()}


# ---------------------------------------------------------------------------- the report


class _Progress:
    def __init__(self, total: int, enabled: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="report", unit="step", disable=not enabled, dynamic_ncols=True)

    def step(self, what: str):
        self.bar.set_description(what[:48])
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.bar.update(1)
        return False

    def close(self):
        self.bar.close()


def report(
    out_dir,
    *,
    models: dict | None = None,
    sets: dict | None = None,
    runs: dict | None = None,
    data_root=None,
    grid: int = 41,
    n_per_emotion: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``out_dir/report.md``, ``results.json`` and the PNGs; returns the path of report.md.

    ``models``: name -> model spec (bundled name, checkpoint file or run folder; default the
    bundled CVAE-EmoReg and CVAE-Base). ``sets``: name -> folder of MIDI files in e1..e4
    (default: the authors' sets found by :func:`emovae.reproduction.authors_sets`). ``runs``:
    group name -> run folders of one recipe over several seeds (default: none; the report says
    how to make them). ``grid`` points per axis over ``[-6, 6]^2`` (2..201), ``n_per_emotion``
    melodies sampled per emotion from each model (1..10,000), ``seed`` for the sampling and the
    classifier. All input is checked (and the sets read) before the long work; nothing is put in
    ``out_dir`` until every file is computed.
    """
    from .corpus import resolve_data_root
    from .data import load_dataset

    started = time.perf_counter()
    grid = _check_int(grid, "grid", 2, MAX_GRID)
    n_per_emotion = _check_int(n_per_emotion, "melodies per emotion", 1, MAX_PER_EMOTION)
    seed = _check_int(seed, "seed", 0)
    out = _check_out(out_dir)
    root = resolve_data_root(None if data_root is None else str(data_root))
    models = dict(DEFAULT_MODELS if models is None else models)
    runs = dict(runs or {})
    for name, folders in runs.items():
        if isinstance(folders, (str, os.PathLike)) or not list(folders):
            raise EmovaeError(f"runs {name!r}: expected a list of run folders, got {folders!r}")
    # ---- load and check everything (cheap) before the long work
    ds = load_dataset(root)
    counts = np.bincount(ds.labels, minlength=4)
    if counts.min() < 5:
        raise EmovaeError(
            f"{root}: the classifier's 5-fold cross-validation needs at least 5 melodies per emotion, "
            f"got {', '.join(f'{LABELS[e]} {int(c)}' for e, c in enumerate(counts))}"
        )
    if sets is None:
        from .reproduction import authors_sets

        sets = authors_sets(root)
    sets = dict(sets)
    clash = sorted(set(models) & set(sets)) + [n for n in (*models, *sets) if n == _REFERENCE]
    if clash:
        raise EmovaeError(
            f"name {clash[0]!r}: used for two columns (a model and a set, or the training set); "
            "name each model and set differently"
        )
    splits = _Splits(root)
    loaded = {name: _load(spec, f"model {name!r}", splits) for name, spec in models.items()}
    midi_sets = {name: read_set(name, folder) for name, folder in sets.items()}
    run_models = {
        name: [(str(f), *_load(f, f"runs {name!r}", splits)) for f in folders] for name, folders in runs.items()
    }

    steps = 4 + 3 * len(loaded) + len(midi_sets) + sum(len(v) for v in run_models.values())
    bar = _Progress(steps, progress)
    try:
        results, figures = _compute(bar, root, ds, loaded, midi_sets, run_models, grid, n_per_emotion, seed)
        results["settings"] = {
            "data_root": str(root),
            "melodies": len(ds.labels),
            "grid": grid,
            "grid_limit": GRID_LIMIT,
            "n_per_emotion": n_per_emotion,
            "seed": seed,
            "near_steps": NEAR_STEPS,
            "models": {
                name: {"spec": str(models[name]), "path": str(m.path), "title": m.title, "epoch": m.epoch}
                for name, (m, _) in loaded.items()
            },
            "sets": {
                name: {"folder": str(s.folder), "read": len(s.labels), "silent": s.silent, "skipped": s.skipped}
                for name, s in midi_sets.items()
            },
            "runs": {name: [f for f, _, _ in group] for name, group in run_models.items()},
        }
        with bar.step("writing the report"):
            results["seconds"] = time.perf_counter() - started
            text = _markdown(results, figures)
            path = _write(out, text, results, figures)
    finally:
        bar.close()
    return path


def _compute(bar, root, ds, loaded, midi_sets, run_models, grid, n_per_emotion, seed) -> tuple[dict, dict]:
    """All figures (a JSON-ready dict) and the pictures to draw (name -> (function, kwargs))."""
    from . import plots
    from .classifier import EmotionClassifier, control_accuracy, cross_validate, tune_groups
    from .data import melody_to_music, split
    from .evaluate import evaluate_model, quadrant_of
    from .features import FEATURE_NAMES, feature_matrix, parse_notes
    from .metrics import folder_metrics, set_metrics
    from .novelty import TRAINING_LONGEST_REST, copy_stats, distinct_per_100, grid_stats, invalid_reason

    results: dict = {}
    figures: dict = {}
    slugs: set = set()

    # ---- 1. the classifier
    with bar.step("classifier: cross-validation"):
        cv = cross_validate(ds.tokens, ds.labels, seed=seed)
    with bar.step("classifier: fitting"):
        clf = EmotionClassifier().fit(ds.tokens, ds.labels, seed=seed)
        if loaded:
            first = next(iter(loaded.values()))[1]
            train_idx, held_idx = np.asarray(first.train_idx), np.asarray(first.heldout_idx)
            split_from = next(iter(loaded))
        else:
            train_idx, held_idx = split(ds.labels)
            split_from = None
        # the data set in load order and a model's encoded rows share the order (both e1..e4 by name)
        held_clf = EmotionClassifier().fit(ds.tokens[train_idx], ds.labels[train_idx], seed=seed)
        held = control_accuracy(held_clf, ds.tokens[held_idx], ds.labels[held_idx])
        groups = tune_groups(ds.tokens)
        unseen = ~np.isin(groups[held_idx], groups[train_idx])
        held_unseen = control_accuracy(held_clf, ds.tokens[held_idx][unseen], ds.labels[held_idx][unseen])
    results["classifier"] = {
        "cross_validation": cv,
        "chosen_on_all": clf.chosen_,
        "cv_scores_on_all": clf.cv_scores_,
        "heldout": {**held, "split_from": split_from, "train": len(train_idx), "chosen": held_clf.chosen_},
        "heldout_unseen_tunes": held_unseen,
        "heldout_with_twin_in_train": int((~unseen).sum()),
        "distinct_melodies": int(len(np.unique(groups))),
    }

    coords, points = plane_grid(grid)
    grid_emotions = quadrant_of(points)
    columns = {}
    train_all = ds.tokens
    results["control"], results["continuous"], results["grid"] = {}, {}, {}
    results["novelty"], results["order"] = {}, {}
    feature_cols = {f: FEATURE_NAMES.index(f) for f in PROFILE_FEATURES}

    def novelty(tokens, labels, reference) -> dict:
        rows = {}
        for e in (*range(4), None):
            sel = np.ones(len(labels), bool) if e is None else labels == e
            if not sel.any():
                continue
            t = tokens[sel]
            reasons = [invalid_reason(row, TRAINING_LONGEST_REST) for row in t]
            any_real = copy_stats(t, train_all, near=NEAR_STEPS)
            rows["all" if e is None else LABELS[e]] = {
                **copy_stats(t, reference, near=NEAR_STEPS),
                "distinct_per_100": distinct_per_100(t),
                "degenerate_share": float(np.mean([r is not None for r in reasons])),
                "reasons": {k: reasons.count(k) for k in ("no_note", "one_pitch", "long_rest")},
                "exact_share_any_real": any_real["exact_share"],
            }
        return rows

    # ---- 2-5 per model
    for name, (model, data) in loaded.items():
        slug = _slug(name, slugs)
        with bar.step(f"{name}: sampling"):
            tokens = np.concatenate([model.sample(e, n_per_emotion, seed=seed, sampler="paper") for e in range(4)])
            asked = np.repeat(np.arange(4), n_per_emotion)
            results["control"][name] = {"kind": "model", **control_accuracy(clf, tokens, asked)}
            train_raw = model.vocab.decode(data.indices[data.train_idx])
            results["novelty"][name] = {
                "reference": f"its training split ({len(train_raw)} melodies)",
                "emotions": novelty(tokens, asked, train_raw),
            }
            columns[name] = set_metrics({e: [melody_to_music(t) for t in tokens[asked == e]] for e in range(4)})
        with bar.step(f"{name}: grid over the plane"):
            decoded = model.decode(points.astype(np.float32), grid_emotions)
            va = clf.predict_va(decoded)
            stats = grid_stats(decoded.reshape(grid, grid, -1))
            feats = feature_matrix(decoded)
            has_notes = np.asarray([len(parse_notes(row)) > 0 for row in decoded])
            profiles = {}
            for f, col in feature_cols.items():
                v = feats[:, col].copy()
                if f in _NEEDS_NOTES:
                    v[~has_notes] = np.nan
                along_v, along_a = axis_profiles(v.reshape(grid, grid))
                profiles[f] = {
                    "along_valence": along_v,
                    "along_arousal": along_a,
                    "pearson_valence": pearson(*_finite(along_v, coords)),
                    "pearson_arousal": pearson(*_finite(along_a, coords)),
                }
            valid = np.asarray([invalid_reason(row) is None for row in decoded]).reshape(grid, grid)
            results["continuous"][name] = {
                **va_agreement(va, points),
                "points": len(points),
                "control_on_grid": control_accuracy(clf, decoded, grid_emotions),
            }
            results["grid"][name] = {**stats, "profiles": profiles}
            figures[f"plane_va_{slug}.png"] = (
                plots.plot_va_plane,
                {
                    "valence": va[:, 0].reshape(grid, grid),
                    "arousal": va[:, 1].reshape(grid, grid),
                    "valid": valid,
                    "limit": GRID_LIMIT,
                    "title": f"{name}: the classifier's valence and arousal of the decoded {grid} x {grid} grid",
                },
            )
            figures[f"grid_features_{slug}.png"] = (
                plots.plot_axis_profiles,
                {
                    "coords": coords,
                    "profiles": {f: (p["along_valence"], p["along_arousal"]) for f, p in profiles.items()},
                    "title": f"{name}: features along each axis (mean over the other axis)",
                },
            )
        with bar.step(f"{name}: D_i and reconstruction"):
            results["order"][name] = _order(model, data, evaluate_model)
        results["control"][name]["slug"] = slug

    authors_train = ds.tokens[split(ds.labels)[0]]
    for name, s in midi_sets.items():
        with bar.step(f"{name}: judging"):
            import muspy

            results["control"][name] = {
                "kind": "set",
                **control_accuracy(clf, s.tokens, s.labels),
                "skipped": len(s.skipped),
            }
            reference = authors_train
            results["novelty"][name] = {
                "reference": f"the authors' training split ({len(reference)} melodies, split seed 42, 20% held out)",
                "emotions": novelty(s.tokens, s.labels, reference),
            }
            columns[name] = set_metrics(
                {e: [muspy.read_midi(p) for p, lab in zip(s.paths, s.labels) if lab == e] for e in range(4)}
            )

    # ---- 5. runs over seeds
    results["runs"] = {}
    for group, members in run_models.items():
        per_run = []
        for folder, model, data in members:
            with bar.step(f"{group}: {Path(folder).name}"):
                per_run.append(
                    {
                        "folder": folder,
                        "seed": model.train_config.seed,
                        "epoch": model.epoch,
                        **_order(model, data, evaluate_model),
                    }
                )
        summary = {}
        for split_name in ("train", "heldout"):
            for key in ("mean_recall", "mean_precision", "overall", "token_accuracy", "melody_accuracy"):
                summary[f"{split_name}_{key}"] = mean_sd([r.get(split_name, {}).get(key) for r in per_run])
        slug = _slug(f"seeds_{group}", slugs)
        results["runs"][group] = {"runs": per_run, "summary": summary, "picture": f"{slug}.png"}
        figures[f"{slug}.png"] = (
            plots.plot_seed_curves,
            {
                "histories": {f"{Path(f).name} (seed {m.train_config.seed})": m.history for f, m, _ in members},
                "title": f"{group}: mean D_i over the epochs, one curve per run",
            },
        )

    # ---- 6. Table 3
    with bar.step("Table 3"):
        reference = folder_metrics(root)
        marks = {name: within_sigma(col, reference) for name, col in columns.items()}
        results["table3"] = {
            "reference": _REFERENCE,
            "sigma_share": SIGMA_SHARE,
            "columns": {
                _REFERENCE: _table3_json(reference),
                **{name: _table3_json(col) for name, col in columns.items()},
            },
            "within": {name: {LABELS[e]: m for e, m in mk.items()} for name, mk in marks.items()},
            "within_count": {name: sum(bool(v) for m in mk.values() for v in m.values()) for name, mk in marks.items()},
            "cells": sum(len(m) for m in reference.values()),
        }
    return results, figures


def _finite(values: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return values[keep], coords[keep]


def _order(model, data, evaluate_model) -> dict:
    """D_i and reconstruction accuracy of one model on its training and held-out splits."""
    out = {}
    for split_name, ev in evaluate_model(model, data=data).items():
        rows = data.train_idx if split_name == "train" else data.heldout_idx
        raw = model.vocab.decode(data.indices[rows])
        rec = reconstruction(model, raw, ev.labels)
        acc = ev.accuracy.to_dict()
        out[split_name] = {**acc, **{k: rec[k] for k in ("n", "token_accuracy", "melody_accuracy")}}
    return out


# ---------------------------------------------------------------------------- markdown


def _ctl_row(label: str, c: dict, extra: str = "") -> list:
    return [
        label,
        f"{c['n']}{extra}",
        _pct(c["accuracy"]),
        _pct(c["arousal_accuracy"]),
        _pct(c["valence_accuracy"]),
        *(_pct(v) for v in c.get("per_emotion", [None] * 4)),
    ]


def _markdown(r: dict, figures: dict) -> str:
    s = r["settings"]
    cls = r["classifier"]
    cv = cls["cross_validation"]
    lines = [
        "# emovae report: does the melody carry the emotion, is it new, is every point a melody?",
        "",
        f"Data: `{s['data_root']}` ({s['melodies']} melodies, {cls['distinct_melodies']} distinct). "
        f"Grid {s['grid']} x {s['grid']} over [-{s['grid_limit']:g}, {s['grid_limit']:g}]^2; "
        f"{s['n_per_emotion']} melodies per emotion per model; seed {s['seed']}; "
        f"computed in {r['seconds']:.0f} s. All figures are in `results.json`.",
        "",
    ]
    if s["models"]:
        lines += [
            "Models: "
            + "; ".join(f"**{n}** = `{m['path']}` ({m['title']}, epoch {m['epoch']})" for n, m in s["models"].items())
            + "."
        ]
    if s["sets"]:
        lines += [
            "Sets: "
            + "; ".join(
                f"**{n}** = `{v['folder']}` ({v['read']} melodies"
                + (f", {v['silent']} of them silent files read as 64 rests" if v["silent"] else "")
                + (f", {len(v['skipped'])} unreadable files skipped" if v["skipped"] else "")
                + ")"
                for n, v in s["sets"].items()
            )
            + "."
        ]
    lines += [""]

    # 1
    held, unseen = cls["heldout"], cls["heldout_unseen_tunes"]
    lines += [
        "## 1. The emotion classifier on real melodies",
        "",
        f"{len(cv['features'])} symbolic features per melody (note density, pitch range, mean and spread, major/minor "
        "scale rates, intervals, step/leap ratio, contour, rhythm and syncopation; `emovae.features`); "
        f"logistic regression or gradient boosting, picked by cross-validation (on all melodies: **{cls['chosen_on_all']}**"
        + "".join(f", {k} {_pct(v)}%" for k, v in cls["cv_scores_on_all"].items())
        + "). "
        "Trained on real melodies only; the generator never sees it.",
        "",
        _table(
            ["evaluation", "n", "4 quadrants %", "arousal %", "valence %"],
            [
                [
                    f"nested {cv['folds']}-fold cross-validation, grouped by tune (folds chose: "
                    f"{', '.join(sorted(set(cv['chosen'])))})",
                    cv["n"],
                    _pct(cv["accuracy"]),
                    _pct(cv["arousal_accuracy"]),
                    _pct(cv["valence_accuracy"]),
                ],
                [
                    f"authors' held-out split, trained on its {held['train']} training melodies",
                    held["n"],
                    _pct(held["accuracy"]),
                    _pct(held["arousal_accuracy"]),
                    _pct(held["valence_accuracy"]),
                ],
                [
                    "  the same, held-out melodies without an identical tune in training",
                    unseen["n"],
                    _pct(unseen["accuracy"]),
                    _pct(unseen["arousal_accuracy"]),
                    _pct(unseen["valence_accuracy"]),
                ],
            ],
        ),
        f"Caveat: the authors' split is not grouped by tune; {cls['heldout_with_twin_in_train']} of its "
        f"{held['n']} held-out melodies have an identical token sequence in the training split, which the "
        "classifier may simply recognise. The cross-validation keeps identical tunes in one fold.",
        "",
        "Confusion matrix of the cross-validation (rows: true emotion, columns: predicted):",
        "",
        _confusion_table(cv["confusion"], "true"),
    ]

    # 2
    ctl = r["control"]
    header = ["melodies", "n", "4 quadrants %", "arousal %", "valence %", *(f"{LABELS[e]} %" for e in range(4))]
    rows = []
    for name, c in ctl.items():
        extra = f" ({c['skipped']} skipped)" if c.get("skipped") else ""
        rows.append(_ctl_row(f"**{name}**" if c["kind"] == "model" else name, c, extra))
    rows.append(_ctl_row("real held-out melodies (classifier trained on the training split)", held))
    rows.append(
        [
            "real melodies, cross-validated (grouped by tune)",
            cv["n"],
            _pct(cv["accuracy"]),
            _pct(cv["arousal_accuracy"]),
            _pct(cv["valence_accuracy"]),
            *(_pct(cv["confusion"][e][e] / max(1, sum(cv["confusion"][e]))) for e in range(4)),
        ]
    )
    lines += [
        "## 2. Emotion control accuracy",
        "",
        "The share of melodies the classifier (trained on ALL real melodies) assigns to the emotion they were asked "
        f"for (models: {s['n_per_emotion']} per emotion by the paper's sampling, seed {s['seed']}; sets: the e1..e4 "
        "folder of each file), to the asked arousal and to the asked valence; e1..e4 = the accuracy among the "
        "melodies asked for that emotion. The last two rows are the classifier's own accuracy on real melodies: "
        "a generated set cannot be judged more sharply than that.",
        "",
        _table(header, rows),
    ]
    for name, c in ctl.items():
        lines += [f"Confusion, {name} (rows: asked, columns: assigned):", "", _confusion_table(c["confusion"])]
    if r["continuous"]:
        lines += [
            "### Continuous valence and arousal over the plane",
            "",
            f"Each point of the {s['grid']} x {s['grid']} grid is decoded with the emotion of its own quadrant as "
            "condition; the classifier's valence = 2 (P(e1) + P(e4)) - 1 and arousal = 2 (P(e1) + P(e2)) - 1 (both "
            "in [-1, 1]) are compared with the point's coordinates, scaled two ways: to their **sign** (+1 for a "
            f"coordinate >= 0, else -1) and **linearly** (coordinate / {s['grid_limit']:g}, in [-1, 1]). L1 = mean "
            "absolute difference (0 best, 2 worst); r = Pearson correlation with the coordinate (scale-free).",
            "",
            _table(
                [
                    "model",
                    "valence L1 (sign)",
                    "valence L1 (linear)",
                    "valence r",
                    "arousal L1 (sign)",
                    "arousal L1 (linear)",
                    "arousal r",
                    "grid control accuracy %",
                ],
                [
                    [
                        name,
                        _num(v["valence"]["l1_sign"]),
                        _num(v["valence"]["l1_scaled"]),
                        _num(v["valence"]["pearson"]),
                        _num(v["arousal"]["l1_sign"]),
                        _num(v["arousal"]["l1_scaled"]),
                        _num(v["arousal"]["pearson"]),
                        _pct(v["control_on_grid"]["accuracy"]),
                    ]
                    for name, v in r["continuous"].items()
                ],
            ),
        ]
        for name in r["continuous"]:
            lines += [f"![{name}: predicted valence and arousal over the plane](plane_va_{ctl[name]['slug']}.png)", ""]

    # 3
    if r["grid"]:
        lines += [
            "## 3. Every point a melody",
            "",
            f"The same grid. A melody is **valid** when it has (1) at least one note, (2) at least two different "
            f"pitches and (3) no run of more than {next(iter(r['grid'].values()))['max_rest_steps']} silent steps "
            "(the longest in the training set); an invalid one is counted under its first failing test.",
            "",
            _table(
                [
                    "model",
                    "points",
                    "valid %",
                    "distinct melodies",
                    "distinct valid",
                    "no note",
                    "one pitch",
                    "long rest",
                ],
                [
                    [
                        name,
                        g["n"],
                        _pct(g["valid_share"]),
                        g["distinct"],
                        g["distinct_valid"],
                        g["no_note"],
                        g["one_pitch"],
                        g["long_rest"],
                    ]
                    for name, g in r["grid"].items()
                ],
            ),
            "How features change along each axis: the feature's mean over the other axis at the grid's two ends "
            "(-6 and +6) and the correlation of that profile with the coordinate (mode = C-major rate minus C-minor "
            "rate; mean pitch, range and mode over the melodies with notes).",
            "",
        ]
        rows = []
        for name, g in r["grid"].items():
            for f, p in g["profiles"].items():
                rows.append(
                    [
                        name,
                        f,
                        _num(_first(p["along_valence"])),
                        _num(_first(p["along_valence"][::-1])),
                        _num(p["pearson_valence"]),
                        _num(_first(p["along_arousal"])),
                        _num(_first(p["along_arousal"][::-1])),
                        _num(p["pearson_arousal"]),
                    ]
                )
        lines += [
            _table(
                [
                    "model",
                    "feature",
                    "valence -6",
                    "valence +6",
                    "r (valence)",
                    "arousal -6",
                    "arousal +6",
                    "r (arousal)",
                ],
                rows,
            )
        ]
        for name in r["grid"]:
            lines += [f"![{name}: features along each axis](grid_features_{ctl[name]['slug']}.png)", ""]

    # 4
    lines += [
        "## 4. Novelty and diversity",
        "",
        f"Distance = token Hamming distance over the 64 steps (0 = an exact copy); a near copy is within "
        f"{s['near_steps']} steps. Copies are counted against the training melodies (a model: its own training split; "
        "a set: the authors' training split) over all melodies and over the distinct ones; "
        "'training reproduced' = distinct training melodies generated exactly; 'any real' = exact copies of any of "
        "the data set's melodies (held-out included). Distinct per 100 = 100 x distinct / n (compare equal n only). "
        "Degenerate = breaks the validity rule of section 3.",
        "",
    ]
    rows = []
    for name, nv in r["novelty"].items():
        for emo, v in nv["emotions"].items():
            rows.append(
                [
                    name if emo == "all" else "",
                    emo,
                    v["n"],
                    _num(v["distinct_per_100"], 1),
                    _pct(v["exact_share"]),
                    _pct(v["near_share"]),
                    _pct(v["distinct_exact_share"]),
                    f"{v['training_copied']} / {v['training_distinct']}",
                    _pct(v["exact_share_any_real"]),
                    _num(v["mean_distance"], 1),
                    _pct(v["degenerate_share"]),
                ]
            )
    lines += [
        _table(
            [
                "source",
                "emotion",
                "n",
                "distinct per 100",
                "exact copies %",
                f"near (<= {s['near_steps']}) %",
                "exact among distinct %",
                "training reproduced",
                "exact, any real %",
                "mean distance",
                "degenerate %",
            ],
            _all_first(rows),
        )
    ]

    # 5
    lines += [
        "## 5. Order on unseen melodies and over seeds",
        "",
        "D_i recall = of the melodies labelled i, the share whose latent mean lies in quadrant i (the paper's "
        "D_i); precision = of the points in quadrant i, the share labelled i (the authors' code). Reconstruction "
        "= argmax(decode(mu, label)) against the input tokens: token accuracy, and the share of melodies "
        "reconstructed at every step.",
        "",
    ]
    if r["order"]:
        lines += [_order_table({name: o for name, o in r["order"].items()}, "model")]
    if r["runs"]:
        for group, g in r["runs"].items():
            rows_by = {f"{Path(x['folder']).name} (seed {x['seed']}, epoch {x['epoch']})": x for x in g["runs"]}
            count = len(g["runs"])
            lines += [f"### Runs: {group} ({count} run{'s' * (count != 1)})", "", _order_table(rows_by, "run")]
            sm = g["summary"]
            lines += [
                _table(
                    [
                        "over the runs",
                        "D mean recall % train",
                        "held-out",
                        "D mean precision % train",
                        "held-out",
                        "token accuracy % train",
                        "held-out",
                    ],
                    [
                        ["mean", *(_run_stat(sm, k, "mean") for k in _RUN_KEYS)],
                        ["sd (n - 1)", *(_run_stat(sm, k, "sd") for k in _RUN_KEYS)],
                    ],
                ),
                f"![{group}: D_i over the epochs]({g['picture']})",
                "",
            ]
    else:
        lines += [
            "No multi-seed runs were given. Make them with `emovae train --seed S --out runs/emoreg_sS` for "
            "S = 1..5 (`--preset paper-base` for CVAE-Base), then pass "
            "`--runs emoreg=runs/emoreg_s1,runs/emoreg_s2,...` (one `--runs` per recipe).",
            "",
        ]

    # 6
    from .metrics import METRIC_TITLES, METRICS

    t3 = r["table3"]
    reference = t3["columns"][t3["reference"]]
    names = [n for n in t3["columns"] if n != t3["reference"]]
    header = ["metric", "emotion", t3["reference"], *names]
    rows = []
    for metric in METRICS:
        for e in LABELS:
            row = [METRIC_TITLES[metric] if e == LABELS[0] else "", e, _cell(reference.get(e, {}).get(metric))]
            for name in names:
                cell = t3["columns"][name].get(e, {}).get(metric)
                ok = t3["within"][name].get(e, {}).get(metric)
                row.append(f"**{_cell(cell)}** ✓" if ok else _cell(cell))
            rows.append(row)
    rows.append([f"within {SIGMA_SHARE:g} sigma", "", "", *(f"{t3['within_count'][n]} / {t3['cells']}" for n in names)])
    lines += [
        "## 6. Closeness to the training set (Table 3)",
        "",
        f"MusPy metrics, mean (population sd) per emotion. A cell is marked (**bold** ✓) when its mean lies within "
        f"{SIGMA_SHARE:g} sigma of the training set's mean (sigma = the training set's sd); the last row counts them. "
        "Models: their generated melodies of section 2; sets: their readable files.",
        "",
        _table(header, rows),
        "## Files",
        "",
        "`report.md` (this), `results.json` (every figure), " + ", ".join(f"`{f}`" for f in figures) + ".",
        "",
    ]
    return "\n".join(lines)


_RUN_KEYS = (
    "train_mean_recall",
    "heldout_mean_recall",
    "train_mean_precision",
    "heldout_mean_precision",
    "train_token_accuracy",
    "heldout_token_accuracy",
)


def _run_stat(summary: dict, key: str, stat: str) -> str:
    """D (already in percent) with one decimal; accuracies (shares) as percent."""
    v = summary[key][stat]
    return _num(v, 1) if key.endswith(("recall", "precision")) else _pct(v)


def _first(values) -> float | None:
    for v in values:
        if v is not None and np.isfinite(v):
            return float(v)
    return None


def _all_first(rows: list) -> list:
    """Put each source's 'all' row first (the novelty dict holds e1..e4 then all)."""
    out, block = [], []
    for row in rows:
        block.append(row)
        if row[1] == "all":
            out += [block[-1], *block[:-1]]
            block = []
    return out + block


def _cell(cell) -> str:
    if cell is None or math.isnan(float(cell[0])):
        return "n/a"
    return f"{float(cell[0]):.2f} ({float(cell[1]):.2f})"


def _order_table(items: dict, what: str) -> str:
    rows = []
    for name, o in items.items():
        for split_name in ("train", "heldout"):
            if split_name not in o:
                continue
            v = o[split_name]
            rows.append(
                [
                    name if split_name == "train" else "",
                    split_name,
                    v["n"],
                    *(_num(x, 1) for x in v["recall"]),
                    _num(v["mean_recall"], 1),
                    _num(v["mean_precision"], 1),
                    _num(v["overall"], 1),
                    _pct(v["token_accuracy"]),
                    _pct(v["melody_accuracy"]),
                ]
            )
    return _table(
        [
            what,
            "split",
            "n",
            *(f"D {q} %" for q in QUADRANTS),
            "mean recall %",
            "mean precision %",
            "overall %",
            "token accuracy %",
            "melodies exact %",
        ],
        rows,
    )


# ---------------------------------------------------------------------------- writing


def _write(out: Path, text: str, results: dict, figures: dict) -> Path:
    """Draw the pictures and write the files into a temporary folder beside ``out``, then move
    them into ``out`` (report.md last); on any failure nothing reaches ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, (draw, kwargs) in figures.items():
            kwargs = dict(kwargs)
            draw(path=tmp / name, **kwargs)
        (tmp / "results.json").write_text(json.dumps(_jsonable(results), indent=1, allow_nan=False), encoding="utf-8")
        (tmp / "report.md").write_text(text, encoding="utf-8")
        if not out.exists():
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder the usual permissions
            os.replace(tmp, out)
        else:
            for name in [*figures, "results.json", "report.md"]:
                os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "report.md"
