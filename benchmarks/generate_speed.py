"""Generation speed on this machine: loading, one melody with MIDI + SVG, batched decoding.

    .venv/bin/python benchmarks/generate_speed.py [--n 10000] [--batch 1000] [--threads 0] [--rounds 3]

Prints the CPU (or GPU) name with every figure:
- loading the bundled CVAE-EmoReg (warm file cache), and the wall time of a whole
  ``emovae generate -n 1`` command (a fresh process: imports included);
- one melody decoded and written as MIDI + SVG with the model loaded (after one warm-up call);
- batched generation (paper sampling, argmax) in melodies per second for each precision of the
  decoder's GRU: fp32 and int16 through the fused C++ decoder (``emovae.gru._decode``), bf16
  through the layer's bfloat16 pass, and, for comparison, fp32 through the layer's pass (the
  path before the fused decoder: ``emovae.gru.fused_decoding(False)``); with the share of
  melodies identical to the fp32 ones over the same latent points.

Rounds alternate between the modes, so that other work on the (shared) machine hits them alike;
the best round counts (the median is printed beside it).
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
    """The CPU's model name, with its family and model numbers (a bare "AMD EPYC" in a VM does not
    say which generation: family 25 model 17 is Zen 4, Genoa) and the AVX-512 extensions used here."""
    try:
        info: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
        if "model name" in info:
            flags = set(info.get("flags", "").split())
            ext = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
            return (
                f"{info['model name']} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; "
                f"{' '.join(ext) or 'no AVX-512'})"
            )
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
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per mode (default: 3)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from emovae.api import load
    from emovae.checkpoint import load_model

    where = f"{cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"machine: {where}")

    load_model("emoreg")  # file cache warm
    t_load = best(lambda: load_model("emoreg"), 3)
    print(f"load bundled CVAE-EmoReg: {t_load * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        walls = []
        for k in range(3):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "emovae.cli", "generate", "--out", f"{tmp}/g{k}", "-n", "1", "--emotion", "sad"],
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - t0)
        print(
            f"`emovae generate -n 1 --emotion sad` (fresh process): median {statistics.median(walls):.2f} s, "
            f"best {min(walls):.2f} s"
        )

        model = load()
        model.generate("happy", n=1)[0].save(Path(tmp) / "warm", "midi,svg")  # warm-up: imports, verovio
        k = iter(range(100))
        t_one = best(lambda: model.generate("happy", n=1, seed=next(k))[0].save(Path(tmp) / "one", "midi,svg"), 5)
        print(f"one melody decoded + MIDI + SVG, model loaded: {t_one * 1000:.0f} ms")

    from emovae.gru import decode_caps

    z = (np.random.default_rng(0).standard_normal((args.n, 2)) * 2 + 2).astype(np.float32)  # the same points
    caps = decode_caps()
    print(
        f"fused decoder here: fp32 {'yes' if caps['fp32'] else 'no'}, int16 {'yes' if caps['int16'] else 'no'} "
        f"(int16 needs AVX512-VNNI)"
    )
    models = {p: load_model("emoreg", precision=p) for p in ("fp32", "int16", "bf16")}
    modes = {  # name: (model, fused decoder allowed)
        "fp32": (models["fp32"], True),
        "int16": (models["int16"], True),
        "bf16": (models["bf16"], True),  # no fused kernel: the layer's bfloat16 pass
        "fp32, layer pass (not fused)": (models["fp32"], False),
    }

    def run(trained, fused: bool, n: int) -> np.ndarray:
        decode = trained.decode if fused else (lambda zz, e: _decode_unfused(trained, zz, e))
        return np.concatenate([decode(z[s : min(s + args.batch, n)], 0) for s in range(0, n, args.batch)])

    for trained, fused in modes.values():  # warm-up: weight packing, oneDNN set-up
        run(trained, fused, min(args.n, args.batch))
    rates: dict[str, list[float]] = {name: [] for name in modes}
    tokens: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, (trained, fused) in modes.items():
            t0 = time.perf_counter()
            tokens[name] = run(trained, fused, args.n)
            rates[name].append(args.n / (time.perf_counter() - t0))
    reference = tokens["fp32"]
    for name in modes:
        same = float(np.mean((tokens[name] == reference).all(axis=1))) * 100
        print(
            f"batched generation {name}: {max(rates[name]):,.0f} melodies/s (median {statistics.median(rates[name]):,.0f}; "
            f"batch {args.batch}, {args.n} melodies); identical to fp32: {same:.2f}%"
        )


def _decode_unfused(trained, z: np.ndarray, emotion) -> np.ndarray:
    """TrainedModel.decode's argmax path without the fused decoder (the GRU layer + linear head):
    ``CVAE.decode`` outside ``emovae.gru.fused_decoding``."""
    with torch.no_grad():
        trained.net.eval()
        zt = torch.as_tensor(z)
        logits = trained.net.decode(zt, torch.full((len(zt),), int(emotion), dtype=torch.long)).float()
        return trained.vocab.decode(logits.argmax(-1).numpy())


if __name__ == "__main__":
    main()
