"""Generation speed on this machine: loading, one melody with MIDI + SVG, batched decoding.

    .venv/bin/python benchmarks/generate_speed.py [--n 10000] [--threads 0]

Prints the CPU (or GPU) name with every figure:
- loading the bundled CVAE-EmoReg (warm file cache), and the wall time of a whole
  ``emovae generate -n 1`` command (a fresh process: imports included);
- one melody decoded and written as MIDI + SVG with the model loaded (after one warm-up call);
- batched generation (paper sampling, argmax) in melodies per second, fp32 and bf16, and the
  share of bf16 melodies identical to the fp32 ones over the same latent points.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000, help="melodies per batched run (default: 10000)")
    ap.add_argument("--batch", type=int, default=1000, help="melodies decoded at once (default: 1000)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from emovae.api import load
    from emovae.checkpoint import load_model

    where = f"{cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"machine: {where}")

    load_model("emoreg")                                   # file cache warm
    t_load = best(lambda: load_model("emoreg"), 3)
    print(f"load bundled CVAE-EmoReg: {t_load * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        walls = []
        for k in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "emovae.cli", "generate", "--out", f"{tmp}/g{k}", "-n", "1",
                            "--emotion", "sad"], check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        print(f"`emovae generate -n 1 --emotion sad` (fresh process): median {statistics.median(walls):.2f} s, "
              f"best {min(walls):.2f} s")

        model = load()
        model.generate("happy", n=1)[0].save(Path(tmp) / "warm", "midi,svg")   # warm-up: imports, verovio
        k = iter(range(100))
        t_one = best(lambda: model.generate("happy", n=1, seed=next(k))[0].save(Path(tmp) / "one", "midi,svg"), 5)
        print(f"one melody decoded + MIDI + SVG, model loaded: {t_one * 1000:.0f} ms")

    z = (np.random.default_rng(0).standard_normal((args.n, 2)) * 2 + 2).astype(np.float32)   # the same points
    for precision in ("fp32", "bf16"):
        trained = load_model("emoreg", precision=precision)
        trained.decode(z[: args.batch], 0)                 # warm-up
        outs = []

        def run():
            outs.clear()
            for s in range(0, args.n, args.batch):
                outs.append(trained.decode(z[s : s + args.batch], 0))

        t = best(run, 2)
        tokens = np.concatenate(outs)
        if precision == "fp32":
            reference = tokens
        same = float(np.mean((tokens == reference).all(axis=1))) * 100
        print(f"batched generation {precision}: {args.n / t:,.0f} melodies/s (batch {args.batch}, {args.n} melodies); "
              f"identical to fp32: {same:.2f}%")


if __name__ == "__main__":
    main()
