"""Training speed of the batched trainer: one run, and K runs as one batched model.

    python benchmarks/train_gpu.py [--data FOLDER_OR_ENCODED.pt] [--epochs 100] [--k 32] [--k-epochs 20]

Prints, with the device and CPU names: seconds per epoch of one run of the paper's
configuration (validation included) with the step captured as a CUDA graph and eagerly, the
700-epoch time that rate gives, and the aggregate epochs per second of K runs trained as one
batched model (fp32, and with TF32 matrix products), for each way of running the K GRUs
(``--k-ways``): ``triton`` (emovae's stacked GRU with its Triton gate kernels, the default on
CUDA), ``torch`` (the same Function with PyTorch ops for the gates, ``EMOVAE_TRITON=0``) and
``autograd`` (the loop of batched products under autograd that emovae used before, kept here as
the baseline). The first epoch (graph capture) is timed apart. Also checks, on a tiny configuration, that the graph path gives the eager path's
weights. Runs on the CPU too (no graphs there), slowly.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import time

import torch

import emovae.batched.model
from emovae.batched import BatchedTrainer, train_batched
from emovae.config import CVAEConfig, TrainConfig


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def autograd_gru(gx, w_hh, b_hh, steps):
    """The K GRUs as a loop of autograd ops (emovae before its stacked-GRU Function): the baseline."""
    K, B = gx.shape[:2]
    H = w_hh.shape[-1]
    w, b, h, out = w_hh.transpose(1, 2), b_hh.unsqueeze(1), gx.new_zeros(K, B, H), []
    for t in range(steps):
        g = gx if gx.dim() == 3 else gx[:, :, t]
        gh = torch.baddbmm(b, h, w)
        rz = torch.sigmoid(g[..., : 2 * H] + gh[..., : 2 * H])
        n = torch.tanh(g[..., 2 * H :] + rz[..., :H] * gh[..., 2 * H :])
        h = n + rz[..., H:] * (h - n)
        out.append(h)
    return torch.stack(out, dim=2), h


@contextlib.contextmanager
def k_way(way: str):
    """Run the batched model's GRUs one way (see the module's docstring)."""
    saved_fn, saved_env = emovae.batched.model.stacked_gru, os.environ.get("EMOVAE_TRITON")
    if way == "autograd":
        emovae.batched.model.stacked_gru = autograd_gru
    os.environ["EMOVAE_TRITON"] = "0" if way == "torch" else "1"
    try:
        yield
    finally:
        emovae.batched.model.stacked_gru = saved_fn
        if saved_env is None:
            os.environ.pop("EMOVAE_TRITON", None)
        else:
            os.environ["EMOVAE_TRITON"] = saved_env


def load_data(spec):
    if spec and spec.endswith(".pt"):
        return torch.load(spec, weights_only=False)
    from emovae.corpus import resolve_data_root
    from emovae.training import encode_dataset

    return encode_dataset(resolve_data_root(spec))


def time_epochs(trainer: BatchedTrainer, epochs: int) -> tuple[float, float]:
    """(seconds of the first epoch, seconds per epoch of the rest), validation included."""
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    trainer.train_epoch()
    trainer.validate()
    sync()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs - 1):
        trainer.train_epoch()
        trainer.validate()
    sync()
    return first, (time.perf_counter() - t0) / max(1, epochs - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="data set folder or an encoded data set saved with torch.save (.pt)")
    ap.add_argument("--epochs", type=int, default=100, help="epochs of the single run (default 100)")
    ap.add_argument("--k", type=int, default=32, help="runs trained as one batched model (default 32)")
    ap.add_argument("--k-epochs", type=int, default=20, help="epochs of the batched runs (default 20)")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--k-ways",
        default="triton:fp32,triton:tf32,torch:tf32,autograd:tf32",
        help="K-batched variants to time, WAY:PRECISION comma-separated (WAY: triton, torch, autograd; "
        "PRECISION: fp32, tf32; default: triton:fp32,triton:tf32,torch:tf32,autograd:tf32)",
    )
    ap.add_argument(
        "--ways",
        default="graph-fused,graph-loop,eager-fused",
        help="single-run paths to time on CUDA, comma-separated (default: graph-fused,graph-loop,eager-fused)",
    )
    args = ap.parse_args()
    data = load_data(args.data)
    base = TrainConfig(device=args.device)
    dev = BatchedTrainer(data, CVAEConfig(hidden=8, dense=4), [dataclasses.replace(base, epochs=1)]).device
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device: {where}; CPU: {cpu_name()}; torch {torch.__version__}")

    if dev.type == "cuda":  # graphs against eager on a tiny configuration
        tiny = CVAEConfig(hidden=32, dense=16)
        cfgs = [dataclasses.replace(base, epochs=3, seed=s, kl_warmup=2 * (s % 2)) for s in (1, 2, 3)]
        for group in (cfgs, cfgs[:1]):  # 3 models (GRU loop), 1 model (fused GRU: cuDNN)
            g = train_batched(data, group, model_config=tiny, graphs=True, progress=False, track_every=0)
            e = train_batched(data, group, model_config=tiny, graphs=False, progress=False, track_every=0)
            diff = max(
                float((a - b).abs().max())
                for x, y in zip(g, e)
                for a, b in zip(x.net.state_dict().values(), y.net.state_dict().values())
            )
            print(
                f"graphs vs eager, tiny config, {len(group)} model(s) x 3 epochs: largest weight difference {diff:.2e}"
            )

    ways = [(w.split("-")[0] == "graph", w.split("-")[1]) for w in args.ways.split(",") if w]
    ways = ways if dev.type == "cuda" else [(False, "loop")]
    for graphs, rnn in ways:
        epochs = args.epochs if graphs or dev.type != "cuda" else max(3, args.epochs // 10)
        tr = BatchedTrainer(data, CVAEConfig(), [dataclasses.replace(base, epochs=epochs)], graphs=graphs, rnn=rnn)
        first, per = time_epochs(tr, epochs)
        how = ("CUDA graph" if tr.use_graphs else "eager" + (" (graph capture failed)" if graphs else "")) + (
            ", fused GRU (cuDNN)" if rnn == "fused" else ", GRU loop"
        )
        print(
            f"one run, paper configuration, {how}: first epoch {first:.2f} s, then {per:.3f} s/epoch "
            f"over {epochs - 1} epochs -> 700 epochs in {per * 700:.0f} s"
        )
    from emovae.gru import gate_kernels

    kinds = [w.split(":") for w in args.k_ways.split(",") if w] if args.k else []
    for way, prec in kinds if dev.type == "cuda" else [("triton", "fp32")] * bool(args.k):
        torch.set_float32_matmul_precision("high" if prec == "tf32" else "highest")
        cfgs = [dataclasses.replace(base, epochs=args.k_epochs, seed=s) for s in range(args.k)]
        with k_way(way):
            tr = BatchedTrainer(data, CVAEConfig(), cfgs)
            # the old loop is slow: fewer epochs for it
            first, per = time_epochs(tr, args.k_epochs if way != "autograd" else max(3, args.k_epochs // 3))
            what = {"autograd": "autograd loop", "torch": "stacked GRU, PyTorch gate ops"}.get(
                way, f"stacked GRU, gates: {gate_kernels(dev)}"
            )
        print(
            f"{args.k} runs as one batched model ({what}, {prec.upper()}): first epoch {first:.2f} s, then "
            f"{per:.3f} s per epoch of all -> {args.k / per:.1f} epochs/s in all"
        )
    torch.set_float32_matmul_precision("highest")


if __name__ == "__main__":
    main()
