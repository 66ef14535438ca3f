"""Training speed: emovae against the authors' Keras model, side by side on this machine.

One epoch = the 275 training examples at batch 16 (18 optimizer steps) plus a validation pass
over the 69 held-out examples, the real data set for both. The Keras reference
(``../shared/bench/keras_reference.py``) runs in its own virtual environment (``make bench``
installs it) on the same encoded tensors, written to a temporary file for it. Runs alternate:
emovae at the default precision, Keras, again both, then each other precision (bf16,
bf16-grad, fp32), then fp32 with the per-step oneDNN loop instead of the tiled one
(``EMOVAE_GRU_TILED=0``), then fp32 on one thread. So drift of the machine shows, and each
machine kind shows which float32 loop suits it and what its second thread brings (a second
core, or a second hardware thread of one core). The default precision's line ends with "default".

Prints s/epoch (the median over all timed epochs of emovae's runs; for Keras the faster of its
two runs, so that a run slowed by something else on the machine cannot inflate the ratios),
examples/s and the ratio.

    .venv/bin/python benchmarks/train_speed.py --keras-python .venv-keras/bin/python
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emovae.config import PRECISIONS
from emovae.errors import EmovaeWarning
from emovae.training import TrainConfig, Trainer, encode_dataset


def time_emovae(data, precision: str, epochs: int, warmup: int, device: str) -> list[float]:
    trainer = Trainer(data, config=TrainConfig(precision=precision, device=device))
    times = []
    for i in range(warmup + epochs):
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        trainer.train_epoch()
        trainer.validate()  # returns floats: waits for the device
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def time_keras(python: str, script: str, npz: Path, epochs: int, warmup: int) -> float:
    cmd = [python, script, "--data", str(npz), "--epochs", str(epochs), "--warmup", str(warmup), "--batch-size", "16"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    match = re.search(r"keras_reference s_per_epoch=([0-9.]+)", proc.stdout)
    if proc.returncode or not match:
        sys.exit(f"train_speed: the Keras reference failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    header = next((line for line in proc.stdout.splitlines() if line.startswith("# keras_reference")), "")
    print(f"  {header}")
    return float(match.group(1))


def cpu_name() -> str:
    """The CPU's model name with its family and model numbers (from /proc/cpuinfo on Linux), so every
    figure names its machine: a virtual machine may report only "AMD EPYC"."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']} model {fields['model']})"
    return name


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("EMOVAE_DATA"), help="data set folder (default $EMOVAE_DATA)")
    p.add_argument("--keras-python", help="python of a venv with tensorflow-cpu 2.21 + keras 3.15 (omit: skip Keras)")
    p.add_argument("--keras-script", default=str(ROOT.parent / "shared" / "bench" / "keras_reference.py"))
    p.add_argument("--epochs", type=int, default=6, help="timed epochs per run")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu", help="emovae's device (the Keras reference runs on the CPU)")
    args = p.parse_args()
    if not args.data:
        sys.exit("train_speed: pass --data or set EMOVAE_DATA")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)
        data = encode_dataset(args.data)
    n = len(data.train_idx)
    print(
        f"# train_speed cpu={cpu_name()!r} cores={os.cpu_count()} "
        f"torch={torch.__version__} threads={torch.get_num_threads()} n={n} val={len(data.heldout_idx)} batch=16"
    )

    results: dict[str, list[float]] = {}
    default = TrainConfig().precision

    def run_ours(tag, precision, tiled=True, threads=None):
        os.environ["EMOVAE_GRU_TILED"] = "1" if tiled else "0"  # read on every GRU call
        before = torch.get_num_threads()
        torch.set_num_threads(threads or before)
        try:
            times = time_emovae(data, precision, args.epochs, args.warmup, args.device)
        finally:
            os.environ["EMOVAE_GRU_TILED"] = "1"
            torch.set_num_threads(before)
        results.setdefault(tag, []).extend(times)
        print(
            f"  emovae {tag}: median {statistics.median(times):.3f} s/epoch "
            f"(min {min(times):.3f}, max {max(times):.3f})",
            flush=True,
        )

    keras_runs = []
    with tempfile.TemporaryDirectory() as tmp:  # the encoded data stays out of the project
        npz = Path(tmp) / "data.npz"
        onehot = np.eye(data.vocab.size, dtype=np.float32)
        np.savez(
            npz,
            x=onehot[data.indices[data.train_idx]],
            y=data.labels[data.train_idx],
            x_val=onehot[data.indices[data.heldout_idx]],
            y_val=data.labels[data.heldout_idx],
        )
        for _ in range(2):
            run_ours(default, default)
            if args.keras_python:
                keras_runs.append(time_keras(args.keras_python, args.keras_script, npz, args.epochs, args.warmup))
                print(f"  keras: median {keras_runs[-1]:.3f} s/epoch", flush=True)
    if args.device == "cpu":
        for precision in PRECISIONS:
            if precision != default:
                run_ours(precision, precision)
        # the float32 loop before the tiled one: each step one oneDNN product plus a gate pass
        run_ours("fp32_step_loop", "fp32", tiled=False)
        if torch.get_num_threads() > 1:  # what the second thread brings (two cores, or one core's two threads)
            run_ours("fp32_1_thread", "fp32", threads=1)
    keras = min(keras_runs) if keras_runs else None  # the faster run: a disturbed one cannot inflate a ratio

    print()
    if args.keras_python:
        print(
            f"keras_reference s_per_epoch={keras:.3f} examples_per_s={n / keras:.1f} "
            f"(the faster of the runs: {', '.join(f'{k:.3f}' for k in keras_runs)})"
        )
    for tag, times in results.items():
        s = statistics.median(times)
        line = f"emovae_{tag} cpu={cpu_name()!r} s_per_epoch={s:.3f} examples_per_s={n / s:.1f}"
        if keras:
            line += f" speedup_vs_keras={keras / s:.2f}x"
        print(line + f" epochs_timed={len(times)}" + (" default" if tag == default else ""))


if __name__ == "__main__":
    main()
