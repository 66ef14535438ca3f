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

Modules: :mod:`.file` (the TOML file), :mod:`.figures` (one run's figures), :mod:`.run` (running
and writing the results), :mod:`.goal` (the goal table, summaries).
"""

from __future__ import annotations

from .figures import (
    COLLAPSE_ACCURACY,
    COLLAPSE_DISTINCT,
    COLUMNS,
    GENERATED_PER_EMOTION,
    GENERATION_KEYS,
    SAMPLER_SUFFIX,
    generation_figures,
    run_metrics,
)
from .file import RunSpec, Sweep, load_sweep
from .goal import GOAL, goal_markdown, summarize
from .run import _classifier, _groups, _train_group, reassess, run_sweep, write_results  # noqa: F401 (private names: tests, benchmarks)

__all__ = [
    "COLLAPSE_ACCURACY",
    "COLLAPSE_DISTINCT",
    "COLUMNS",
    "GENERATED_PER_EMOTION",
    "GENERATION_KEYS",
    "GOAL",
    "SAMPLER_SUFFIX",
    "RunSpec",
    "Sweep",
    "generation_figures",
    "goal_markdown",
    "load_sweep",
    "reassess",
    "run_metrics",
    "run_sweep",
    "summarize",
    "write_results",
]
