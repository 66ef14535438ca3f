"""Running a sweep: groups of runs on a process pool or Ray, resumable; ``sweep.csv``, ``goal.md``
and ``pareto.png``."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ..atomic import check_output, jsonable, write_text
from ..config import CVAEConfig, TrainConfig
from ..errors import EmovaeError, EmovaeWarning
from .figures import COLUMNS, run_metrics
from .file import RunSpec, Sweep
from .goal import goal_markdown


def _train_group(
    specs: list[dict], out_root: str, data_path: str | None, data_root: str | None, tf32: bool = False
) -> list[dict]:
    """Train one group (as one batched model) and measure each run: the rows. Runs in a worker
    process or a Ray task, so it takes and returns plain data."""
    import torch

    from ..batched import train_batched
    from ..checkpoint import resolve_device
    from ..training import encode_dataset

    if tf32:
        torch.set_float32_matmul_precision("high")

    runs = [
        RunSpec(s["config"], s["seed"], CVAEConfig(**s["model"]), TrainConfig(**s["train"]), s["paper"]) for s in specs
    ]
    first = runs[0].train
    if data_path:
        data = torch.load(data_path, weights_only=False)
    else:
        from ..corpus import resolve_data_root

        data = encode_dataset(resolve_data_root(data_root), split_seed=first.split_seed, heldout=first.heldout)
    dirs = [Path(out_root) / "runs" / r.name for r in runs]
    t0 = time.perf_counter()
    if resolve_device(first.device).type == "cuda":  # one batched model (CUDA graphs)
        models = train_batched(data, [r.train for r in runs], dirs, model_config=runs[0].model, progress=False)
    else:  # on the CPU separate runs are faster (the C++ GRU pass); the same checkpoints up to rounding
        from ..errors import TrainingDiverged
        from ..evaluate import QuadrantLog
        from ..training import train

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

    from ..checkpoint import load_model
    from ..training import encode_dataset

    model = load_model(run_dir / "checkpoint.pt")
    tc = model.train_config
    if data_path:
        data = torch.load(data_path, weights_only=False)
    else:
        from ..corpus import resolve_data_root

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
        from ..classifier import EmotionClassifier

        raw = data.vocab.decode(data.indices[data.train_idx])
        return EmotionClassifier().fit(raw, data.labels[data.train_idx], seed=0)
    except ImportError:
        return None


def _groups(runs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    from ..batched import group_key

    by_key: dict = {}
    for r in runs:
        by_key.setdefault(group_key(r.model, r.train), []).append(r)
    out = []
    for members in by_key.values():
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out


def _device_type(name: str) -> str:
    from ..checkpoint import resolve_device

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
        from ..plots import plot_pareto

        plot_pareto(measured, out / "pareto.png")
    return rows


def _csv(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value
