"""Sweeps: configurations x seeds, trained side by side, one CSV row per run, a Pareto plot.

A sweep file (TOML) names the seeds and the configurations::

    [sweep]
    seeds = [1, 2, 3, 4, 5]     # every configuration is trained once per seed
    epochs = 300                # optional: overrides every configuration's epochs
    group_size = 32             # at most this many runs trained as one batched model
    checkpoint_every = 50       # optional: epochs between checkpoints of every run
    workers = 2                 # groups trained at once (processes, or Ray tasks)
    backend = "process"         # "process" (this machine) or "ray" (a Ray cluster; emovae[sweep])
    device = "auto"

    [[config]]
    name = "paper"              # a name for the CSV and the plot
    preset = "paper-emoreg"     # the starting point (emovae.config.PRESETS)
    # any TrainConfig field overrides the preset's
    [config.model]              # and any CVAEConfig field its architecture
    latent = 4

Runs go to ``OUT/runs/<name>-s<seed>/`` (checkpoint, history, ``result.json``, the generated
melodies ``generated.npz``). On a GPU, runs of equal architecture and shared settings
(:func:`emovae.batched.group_key`) are trained together as one batched model; on the CPU each
run trains alone (the C++ GRU pass is faster there), one per worker. A run whose
``result.json`` exists is not redone, so a sweep stopped at any point continues where it was
with the same command. ``OUT/sweep.csv`` gets one row per run (:data:`COLUMNS`) and
``OUT/pareto.png`` plots held-out D against held-out reconstruction accuracy, the
configurations named ``paper-emoreg``/``paper-base`` (or built on those presets unchanged)
marked as the paper's.

Collapse (:data:`COLLAPSE_ACCURACY`, :data:`COLLAPSE_DISTINCT`): a run whose decoder learned
next to nothing of the melodies. Measured on full-size runs: collapsed seeds of the paper's
recipe reconstruct about 50-60% of the training tokens and healthy ones 95-99%.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import tomllib

from .atomic import check_output, jsonable, write_text
from .config import PRESETS, CVAEConfig, TrainConfig, check_settings, preset
from .errors import EmovaeError, EmovaeWarning

__all__ = ["COLUMNS", "RunSpec", "Sweep", "load_sweep", "run_metrics", "run_sweep"]

COLLAPSE_ACCURACY = 0.80  # training-split token accuracy below this: the decoder did not learn
COLLAPSE_DISTINCT = 20.0  # or fewer distinct melodies than this per 100 generated
GENERATED_PER_EMOTION = 100

# the figures of 400 generated melodies, measured under each sampler ("_fitted" for the fitted one)
GENERATION_KEYS = (
    "distinct_per_100",
    "distinct_share",
    "exact_copies",
    "degenerate",
    "table3_within",
    "control_accuracy",
)
SAMPLER_SUFFIX = {"paper": "", "fitted": "_fitted"}

COLUMNS = (
    "run",
    "config",
    "seed",
    "epochs",
    "d_recall_train",
    "d_precision_train",
    "d_recall_heldout",
    "d_precision_heldout",
    "acc_train",
    "acc_heldout",
    "ce_train",
    "ce_heldout",
    "kl_train",
    "best_d_epoch",
    "best_d_train",
    *GENERATION_KEYS,
    *(f"{k}_fitted" for k in GENERATION_KEYS),
    "collapsed",
    "diverged",
    "seconds",
)

_SWEEP_KEYS = {"seeds", "epochs", "group_size", "workers", "backend", "device", "name", "tf32", "checkpoint_every"}
_BACKENDS = ("process", "ray")


@dataclass
class RunSpec:
    """One run of a sweep: a configuration at a seed."""

    config: str
    seed: int
    model: CVAEConfig
    train: TrainConfig
    paper: bool = False  # one of the paper's two configurations, unchanged

    @property
    def name(self) -> str:
        return f"{self.config}-s{self.seed}"


@dataclass
class Sweep:
    runs: list[RunSpec]
    group_size: int = 32
    workers: int = 1
    backend: str = "process"
    source: str = ""
    configs: list[str] = field(default_factory=list)
    tf32: bool = False  # on CUDA, float32 matrix products on TF32 tensor cores (faster, 10-bit mantissa)


def _where(path, what: str) -> str:
    return f"{path}: {what}"


def load_sweep(path, *, device: str | None = None, epochs: int | None = None) -> Sweep:
    """Read and check a sweep file; every problem is one EmovaeError line naming the file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmovaeError(f"{path}: no such sweep file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmovaeError(f"{path}: cannot read the sweep file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise EmovaeError(f"{path}: not valid TOML ({exc})") from None
    head = doc.get("sweep", {})
    if not isinstance(head, dict):
        raise EmovaeError(_where(path, "[sweep] must be a table"))
    unknown = set(head) - _SWEEP_KEYS
    if unknown:
        raise EmovaeError(_where(path, f"unknown [sweep] key(s) {sorted(unknown)}"))
    seeds = head.get("seeds", [33])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise EmovaeError(_where(path, f"seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}"))
    if len(set(seeds)) != len(seeds):
        raise EmovaeError(_where(path, f"seeds repeat: {seeds}"))
    epochs = epochs if epochs is not None else head.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise EmovaeError(_where(path, f"epochs must be a whole number >= 1, got {epochs!r}"))
    backend = head.get("backend", "process")
    if backend not in _BACKENDS:
        raise EmovaeError(_where(path, f"backend {backend!r} is not one of {', '.join(_BACKENDS)}"))
    group_size, workers = head.get("group_size", 32), head.get("workers", 1)
    for what, v in (("group_size", group_size), ("workers", workers)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise EmovaeError(_where(path, f"{what} must be a whole number >= 1, got {v!r}"))
    configs = doc.get("config", [])
    if not isinstance(configs, list) or not configs:
        raise EmovaeError(_where(path, "no [[config]] tables: name at least one configuration"))
    train_fields = {f.name for f in fields(TrainConfig)}
    model_fields = {f.name for f in fields(CVAEConfig)}
    runs, names = [], []
    for i, table in enumerate(configs):
        table = dict(table)
        name = table.pop("name", None)
        if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "-_." for ch in name):
            raise EmovaeError(_where(path, f"config {i + 1} needs a name of letters, digits, '-', '_' or '.'"))
        if name in names:
            raise EmovaeError(_where(path, f"config name {name!r} is used twice"))
        names.append(name)
        chosen = table.pop("preset", "paper-emoreg")
        if not isinstance(chosen, str):
            raise EmovaeError(_where(path, f"config {name!r}: preset must be a name, got {chosen!r}"))
        try:
            base = preset(chosen)
        except EmovaeError as exc:
            raise EmovaeError(_where(path, f"config {name!r}: {exc}")) from None
        model_over = table.pop("model", {})
        if not isinstance(model_over, dict) or set(model_over) - model_fields:
            bad = sorted(set(model_over) - model_fields) if isinstance(model_over, dict) else model_over
            raise EmovaeError(_where(path, f"config {name!r}: unknown model setting(s) {bad}"))
        bad = sorted(set(table) - train_fields - {"seed"})
        if bad:
            raise EmovaeError(_where(path, f"config {name!r}: unknown training setting(s) {bad}"))
        if "seed" in table:
            raise EmovaeError(_where(path, f"config {name!r}: seeds come from [sweep] seeds"))
        try:
            model = dataclasses.replace(base.model, **model_over)
            over = dict(table)
            if epochs is not None:
                over["epochs"] = epochs
            if "checkpoint_every" in head and "checkpoint_every" not in over:
                over["checkpoint_every"] = head["checkpoint_every"]
            if device is not None:
                over["device"] = device
            elif "device" in head:
                over["device"] = head["device"]
            train = dataclasses.replace(base.train, **over)
        except TypeError as exc:
            raise EmovaeError(_where(path, f"config {name!r}: {exc}")) from None
        check_settings(model, _where(path, f"config {name!r}: model"))
        check_settings(train, _where(path, f"config {name!r}"))
        small = min(model.hidden, model.dense, model.n_steps, train.batch_size, train.epochs, train.checkpoint_every)
        if model.latent < 2 or small < 1:
            raise EmovaeError(
                _where(
                    path,
                    f"config {name!r}: latent >= 2 and hidden, dense, batch_size, epochs, checkpoint_every >= 1 needed",
                )
            )
        paper = base.name in PRESETS and not model_over and not (set(table) - {"device"})
        for s in seeds:
            runs.append(RunSpec(name, s, model, dataclasses.replace(train, seed=s), paper=paper))
    tf32 = head.get("tf32", False)
    if not isinstance(tf32, bool):
        raise EmovaeError(_where(path, f"tf32 must be true or false, got {tf32!r}"))
    return Sweep(runs, group_size, workers, backend, str(path), names, tf32)


# ------------------------------------------------------------------------------ one run's figures


def run_metrics(model, data, *, classifier=None, seed: int | None = None) -> tuple[dict, np.ndarray]:
    """The CSV figures of one trained model on its data split, and the melodies it generated
    (``GENERATED_PER_EMOTION`` per emotion, the paper's sampling, seeded by the run's seed):
    ``(row, generated (4 * n, 64) raw tokens)``. D_i and the reconstruction come from
    :func:`emovae.evaluate.split_figures`, as in ``emovae report``."""
    from .evaluate import split_figures

    seed = model.train_config.seed if seed is None else seed
    row: dict = {}
    splits = split_figures(model, data)
    for split in ("train", "heldout"):
        f = splits.get(split)  # None: no melody in that split
        row[f"d_recall_{split}"] = f["accuracy"].mean_recall if f else math.nan
        row[f"d_precision_{split}"] = f["accuracy"].mean_precision if f else math.nan
        row[f"acc_{split}"], row[f"ce_{split}"] = (f["token_accuracy"], f["ce"]) if f else (math.nan, math.nan)
        if split == "train":
            row["kl_train"] = f["kl"] if f else math.nan
    tracked = [(h["epoch"], h["d_train"]["mean_recall"]) for h in model.history if "d_train" in h]
    best = max(tracked, key=lambda t: t[1]) if tracked else (math.nan, math.nan)
    row["best_d_epoch"], row["best_d_train"] = best
    generated = None
    for sampler, suffix in SAMPLER_SUFFIX.items():
        if sampler == "fitted" and model.sampler is None:
            from .training import fit_to_data

            fit_to_data(model, data)  # an older checkpoint: fitted here, as `emovae fit-sampler` would
        figures, tokens = generation_figures(model, data, sampler, classifier=classifier, seed=seed)
        row.update({k + suffix: v for k, v in figures.items()})
        generated = tokens if generated is None else generated  # the paper sampler's are kept
    row["collapsed"] = bool(row["acc_train"] < COLLAPSE_ACCURACY or row["distinct_per_100"] < COLLAPSE_DISTINCT)
    return row, generated


def generation_figures(
    model, data, sampler: str, *, classifier=None, seed: int = 0, unique: bool = False, spread: float = 1.0
) -> tuple[dict, np.ndarray]:
    """The :data:`GENERATION_KEYS` of ``GENERATED_PER_EMOTION`` melodies per emotion drawn with
    ``sampler`` (:func:`emovae.evaluate.generated_set`, seeded by ``seed``; ``unique``: with the
    copy guard; ``spread``: the fitted one's) against the data split, by the functions of
    ``emovae report``: distinct per 100 (per emotion, averaged), exact copies of a training-split
    melody and degenerate (no note, one pitch, a rest longer than the training set's longest)
    from :func:`emovae.novelty.novelty_by_emotion`, and the distinct share; Table 3 cells within
    0.5 sigma (:func:`emovae.metrics.token_metrics`, :func:`~emovae.metrics.within_sigma`,
    :func:`~emovae.metrics.count_within`); the classifier's control accuracy
    (:func:`emovae.classifier.control_accuracy`)."""
    from .emotions import LABELS
    from .evaluate import generated_set
    from .novelty import novelty_by_emotion

    generated, asked = generated_set(
        model, GENERATED_PER_EMOTION, seed=seed, sampler=sampler, unique=unique, spread=spread
    )
    training = model.vocab.decode(data.indices[data.train_idx])
    novelty = novelty_by_emotion(generated, asked, training)
    out = {"distinct_per_100": float(np.mean([novelty[LABELS[e]]["distinct_per_100"] for e in range(4)]))}
    out["distinct_share"] = len(np.unique(generated, axis=0)) / len(generated)
    out["exact_copies"] = novelty["all"]["exact_share"]
    out["degenerate"] = novelty["all"]["degenerate_share"]
    out["table3_within"] = _table3_within(generated, asked, model.vocab.decode(data.indices), data.labels)
    out["control_accuracy"] = math.nan
    if classifier is not None:
        from .classifier import control_accuracy

        out["control_accuracy"] = control_accuracy(classifier, generated, asked)["accuracy"]
    return out, generated


def _table3_within(generated, asked, reference, labels) -> float:
    """How many of Table 3's 16 cells (4 MusPy metrics x 4 emotions) of the generated melodies
    lie within 0.5 sigma of the data set's (:func:`emovae.metrics.within_sigma`; the data set's
    melodies as encoded, 64 steps each). NaN where MusPy is not installed."""
    try:
        from .metrics import count_within, token_metrics, within_sigma
    except ImportError:
        return math.nan

    return float(count_within(within_sigma(token_metrics(generated, asked), token_metrics(reference, labels))))


# ------------------------------------------------------------------------------ running


def _train_group(
    specs: list[dict], out_root: str, data_path: str | None, data_root: str | None, tf32: bool = False
) -> list[dict]:
    """Train one group (as one batched model) and measure each run: the rows. Runs in a worker
    process or a Ray task, so it takes and returns plain data."""
    import torch

    from .batched import train_batched
    from .checkpoint import resolve_device
    from .training import encode_dataset

    if tf32:
        torch.set_float32_matmul_precision("high")

    runs = [
        RunSpec(s["config"], s["seed"], CVAEConfig(**s["model"]), TrainConfig(**s["train"]), s["paper"]) for s in specs
    ]
    first = runs[0].train
    if data_path:
        data = torch.load(data_path, weights_only=False)
    else:
        from .corpus import resolve_data_root

        data = encode_dataset(resolve_data_root(data_root), split_seed=first.split_seed, heldout=first.heldout)
    dirs = [Path(out_root) / "runs" / r.name for r in runs]
    t0 = time.perf_counter()
    if resolve_device(first.device).type == "cuda":  # one batched model (CUDA graphs)
        models = train_batched(data, [r.train for r in runs], dirs, model_config=runs[0].model, progress=False)
    else:  # on the CPU separate runs are faster (the C++ GRU pass); the same checkpoints up to rounding
        from .errors import TrainingDiverged
        from .evaluate import QuadrantLog
        from .training import train

        models = []
        for r, d in zip(runs, dirs):  # a run that diverges stops alone; the others go on
            try:
                models.append(
                    train(
                        out_dir=d,
                        config=r.train,
                        data=data,
                        model_config=r.model,
                        resume=(d / "checkpoint.pt").exists(),
                        progress=False,
                        callbacks=[QuadrantLog(every=10)],
                    )
                )
            except TrainingDiverged as exc:
                warnings.warn(f"{d}: {exc}; this run stopped, the others go on", EmovaeWarning, stacklevel=2)
                models.append(exc)
    seconds = (time.perf_counter() - t0) / len(runs)
    classifier = _classifier(data)
    device = resolve_device(first.device)
    rows = []
    for r, m, d in zip(runs, models, dirs):
        diverged = str(m) if isinstance(m, Exception) else getattr(m, "diverged", None)
        if diverged:  # no figures: the row says why, and the goal table counts it as a failed seed
            row = {"run": r.name, "config": r.config, "seed": r.seed, "paper": r.paper, "seconds": seconds}
            row |= {"epochs": getattr(m, "epoch", None), "collapsed": True, "diverged": diverged}
            write_text(d / "result.json", json.dumps(jsonable(row), indent=1, allow_nan=False))
            rows.append(row)
            continue
        m.net.to(device)
        row, generated = run_metrics(m, data, classifier=classifier)
        row = {"run": r.name, "config": r.config, "seed": r.seed, "epochs": m.epoch, **row, "seconds": seconds}
        row["paper"], row["diverged"] = r.paper, None
        np.savez_compressed(d / "generated.npz", tokens=generated.astype(np.int16))
        write_text(d / "result.json", json.dumps(jsonable(row), indent=1, allow_nan=False))
        rows.append(row)
    return rows


def reassess(run_dir: Path, row: dict, *, data_root=None, data_path=None) -> dict:
    """A finished run's row measured again from its checkpoint (:func:`run_metrics`), keeping its
    name, seed and time; ``result.json`` is rewritten."""
    import torch

    from .checkpoint import load_model
    from .training import encode_dataset

    model = load_model(run_dir / "checkpoint.pt")
    tc = model.train_config
    if data_path:
        data = torch.load(data_path, weights_only=False)
    else:
        from .corpus import resolve_data_root

        data = encode_dataset(
            resolve_data_root(data_root), vocab=model.vocab, split_seed=tc.split_seed, heldout=tc.heldout
        )
    figures, _ = run_metrics(model, data, classifier=_classifier(data))
    row = {**row, **figures}
    write_text(run_dir / "result.json", json.dumps(jsonable(row), indent=1, allow_nan=False))
    return row


def _classifier(data):
    """The emotion classifier of :mod:`emovae.classifier`, fitted on the real melodies of the
    training split (None where scikit-learn is missing)."""
    try:
        from .classifier import EmotionClassifier

        raw = data.vocab.decode(data.indices[data.train_idx])
        return EmotionClassifier().fit(raw, data.labels[data.train_idx], seed=0)
    except ImportError:
        return None


def _groups(runs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    from .batched import group_key

    by_key: dict = {}
    for r in runs:
        by_key.setdefault(group_key(r.model, r.train), []).append(r)
    out = []
    for members in by_key.values():
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out


def _device_type(name: str) -> str:
    from .checkpoint import resolve_device

    return resolve_device(name).type


def _spec(r: RunSpec) -> dict:
    return {
        "config": r.config,
        "seed": r.seed,
        "model": r.model.to_dict(),
        "train": r.train.to_dict(),
        "paper": r.paper,
    }


def run_sweep(
    sweep: Sweep,
    out_dir,
    *,
    data_root=None,
    data_path=None,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[dict]:
    """Run every unfinished run of ``sweep`` into ``out_dir``; write ``sweep.csv`` and
    ``pareto.png`` over all finished runs; return the rows. ``data_path``: an encoded data set
    saved with ``torch.save`` (to skip reading the MIDI files in each worker)."""
    from tqdm.auto import tqdm

    out = check_output(out_dir, "folder", what="sweep folder")
    backend = backend or sweep.backend
    workers = workers or sweep.workers
    done = {}
    for r in sweep.runs:
        f = out / "runs" / r.name / "result.json"
        if f.exists():
            done[r.name] = json.loads(f.read_text())
    stale = [r for r in sweep.runs if r.name in done and "control_accuracy_fitted" not in done[r.name]]
    if stale:  # finished before the fitted sampler was measured: measured again from the checkpoint
        for r in stale:
            done[r.name] = reassess(out / "runs" / r.name, done[r.name], data_root=data_root, data_path=data_path)
        write_results(sweep, done, out)
    todo = [r for r in sweep.runs if r.name not in done]
    on_cpu = bool(todo) and all(_device_type(r.train.device) == "cpu" for r in todo)
    groups = _groups(todo, 1 if on_cpu else sweep.group_size)  # CPU: one run per task, spread over workers
    args = [
        ([_spec(r) for r in g], str(out), data_path and str(data_path), data_root and str(data_root), sweep.tf32)
        for g in groups
    ]
    bar = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress or not todo, dynamic_ncols=True)
    try:
        for rows in _execute(args, backend, workers):
            for row in rows:
                done[row["run"]] = row
            bar.update(len(rows))
            write_results(sweep, done, out)
    finally:
        bar.close()
    return write_results(sweep, done, out)


def _execute(args: list[tuple], backend: str, workers: int):
    """Yield each group's rows as it finishes."""
    if not args:
        return
    if backend == "ray":
        try:
            import ray
        except ImportError:
            raise EmovaeError("backend 'ray' needs Ray: pip install 'emovae[sweep]'") from None
        if not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        task = ray.remote(_train_group)
        pending = [task.remote(*a) for a in args]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
        return
    if workers == 1 or len(args) == 1:
        for a in args:
            yield _train_group(*a)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # each worker gets its share of the cores: torch's default (every core) in every worker
    # oversubscribes them, many times slower (measured 8x with 2 workers on 2 cores)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, cores // workers)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_set_threads, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(_train_group, *a) for a in args]
        for f in as_completed(futures):
            yield f.result()


def _set_threads(n: int) -> None:
    """A worker process's torch threads (intra-op pool, which the GRU extension's loops use too)."""
    import torch

    torch.set_num_threads(n)


def write_results(sweep: Sweep, done: dict, out: Path) -> list[dict]:
    """``sweep.csv`` (the runs in the sweep file's order) and ``pareto.png``."""
    rows = [done[r.name] for r in sweep.runs if r.name in done]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*COLUMNS, "paper"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv(row.get(k)) for k in (*COLUMNS, "paper")})
    write_text(out / "sweep.csv", buf.getvalue())
    write_text(out / "goal.md", goal_markdown(rows))
    measured = [r for r in rows if not r.get("diverged")]  # a diverged run has no figures to draw
    if measured:
        from .plots import plot_pareto

        plot_pareto(measured, out / "pareto.png")
    return rows


GOAL = {  # the emotion-plane issue's goal, per seed
    "d_train": 97.0,  # D (recall and precision) on the training split, at least
    "d_heldout": 95.0,  # and on the held-out split
    "acc_train_gap": 0.01,  # training token accuracy at most this below CVAE-Base's mean
    "copies": 0.05,  # exact copies of a training melody among 400 generated, at most
    "distinct": 0.95,  # distinct melodies among 400, at least
    "degenerate": 0.005,  # degenerate (novelty.invalid_reason: no note, one pitch, a long rest) among 400, at most
    "table3": 14,  # Table 3 cells (of 16) within 0.5 sigma of the data set's, at least
    # control: the classifier's accuracy at least CVAE-Base's mean (paper sampler)
}


def _has(row, sampler: str) -> bool:
    """Whether a row holds the figures of ``sampler`` (older rows: the paper's only)."""
    return f"control_accuracy{SAMPLER_SUFFIX[sampler]}" in row


def _f(row, key) -> float:
    v = row.get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def goal_markdown(rows: list[dict], base: str = "paper-base") -> str:
    """The goal table: per configuration, the worst seed on each criterion of :data:`GOAL`
    (CVAE-Base's means as the references) and the criteria it misses."""
    by: dict = {}
    for r in rows:
        by.setdefault(r["config"], []).append(r)

    def mean(name, key):
        vals = [_f(r, key) for r in by.get(name, [])]
        vals = [v for v in vals if not math.isnan(v)]
        return sum(vals) / len(vals) if vals else math.nan

    base_train, base_held = mean(base, "acc_train"), mean(base, "acc_heldout")
    base_control = mean(base, "control_accuracy")  # CVAE-Base with the paper's sampler
    head = (
        "| config | sampler | seeds | D train min (rec/prec) | D held-out min | acc train mean (min) "
        "| acc held-out mean (min) | collapsed | Table 3 min | copies max | distinct min | degenerate max "
        "| control mean | misses |"
    )
    lines = [head, "|" + "---|" * 14]
    for (name, sampler), group in (
        ((n, s), g)
        for n, g in by.items()
        for s in SAMPLER_SUFFIX
        if all(_has(r, s) for r in g if not r.get("diverged"))
    ):
        suffix = SAMPLER_SUFFIX[sampler]
        failed = [r for r in group if r.get("diverged")]  # seeds without figures: counted as misses
        group = [r for r in group if not r.get("diverged")]
        if not group:
            lines.append(f"| {name} | {sampler} | 0 (+{len(failed)} diverged) |" + " - |" * 10 + " diverged |")
            continue

        def low(key, group=group, suffix=suffix):
            return min(_f(r, key + suffix if key in GENERATION_KEYS else key) for r in group)

        def high(key, group=group, suffix=suffix):
            return max(_f(r, key + suffix if key in GENERATION_KEYS else key) for r in group)

        misses = [f"diverged ({len(failed)})"] if failed else []
        if min(low("d_recall_train"), low("d_precision_train")) < GOAL["d_train"]:
            misses.append("D train")
        if min(low("d_recall_heldout"), low("d_precision_heldout")) < GOAL["d_heldout"]:
            misses.append("D held-out")
        if not low("acc_train") >= base_train - GOAL["acc_train_gap"]:
            misses.append("acc train")
        if not low("acc_heldout") >= base_held:
            misses.append("acc held-out")
        if any(str(r["collapsed"]) == "True" for r in group):
            misses.append("collapse")
        if not low("table3_within") >= GOAL["table3"]:
            misses.append("Table 3")
        if not high("exact_copies") <= GOAL["copies"]:
            misses.append("copies")
        if not low("distinct_share") >= GOAL["distinct"]:
            misses.append("distinct")
        if not high("degenerate") <= GOAL["degenerate"]:
            misses.append("degenerate")
        control = sum(_f(r, "control_accuracy" + suffix) for r in group) / len(group)
        if not control >= base_control:
            misses.append("control")
        cells = [
            name,
            sampler,
            str(len(group)) + (f" (+{len(failed)} diverged)" if failed else ""),
            f"{low('d_recall_train'):.1f} / {low('d_precision_train'):.1f}",
            f"{low('d_recall_heldout'):.1f} / {low('d_precision_heldout'):.1f}",
            f"{100 * mean(name, 'acc_train'):.1f} ({100 * low('acc_train'):.1f})",
            f"{100 * mean(name, 'acc_heldout'):.1f} ({100 * low('acc_heldout'):.1f})",
            str(sum(str(r["collapsed"]) == "True" for r in group)),
            f"{low('table3_within'):.0f}",
            f"{100 * high('exact_copies'):.1f}%",
            f"{100 * low('distinct_share'):.1f}%",
            f"{100 * high('degenerate'):.1f}%",
            f"{100 * control:.1f}%",
            ", ".join(misses) or "none",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _csv(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def summarize(rows: list[dict], keys=("d_recall_train", "d_recall_heldout", "acc_train", "acc_heldout")) -> dict:
    """Per configuration: mean and sd (n - 1) over its seeds of each key, and the seed count."""
    out: dict = {}
    for row in rows:
        out.setdefault(row["config"], []).append(row)
    summary = {}
    for name, group in out.items():
        s = {"n": len(group), "collapsed": sum(str(r["collapsed"]) == "True" for r in group)}
        for k in keys:
            v = np.array([float(r[k]) for r in group], dtype=float)
            s[k] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)
        summary[name] = s
    return summary
