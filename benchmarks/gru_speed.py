"""Speed of the two GRUs of one training batch, side by side in one process.

One "batch" is what the paper's model does per training step in its two GRUs: forward and
backward of the encoder (B=16, T=64, I=35, H=512, only h_T used downstream) and of the decoder
(a constant (B, 6) input fed at 64 steps, H=512, all outputs used). Candidates: torch.nn.GRU
(autograd; on CUDA cuDNN), emovae.gru.GRU in fp32 and in bf16 (and, with --python-loop, the
pure-PyTorch fallback loop). Also the forward pass alone at B=69 (the validation set) and at
B=3 (the last, short training batch: 275 = 17 x 16 + 3).

Rounds alternate between the candidates, so that noise from other work on the machine hits
them alike; medians are printed. Per-epoch estimate, GRUs only:
17.2 x (B16 forward+backward) + (B69 forward).

    .venv/bin/python benchmarks/gru_speed.py [--rounds 15] [--python-loop] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emovae.gru import GRU, build_extension, extension_status

T, H, I_ENC, I_DEC = 64, 512, 35, 6
KEYS = ("B16 fwd+bwd", "B3 fwd+bwd", "B69 fwd")


def _torch_gru(g: GRU) -> torch.nn.GRU:
    return g.to_torch()


class Candidate:
    """Encoder + decoder of one kind."""

    def __init__(self, name: str, enc: GRU, dec: GRU, impl: str = "auto") -> None:
        self.name = name
        self.impl = impl
        if name == "nn.GRU":
            self.enc, self.dec = _torch_gru(enc), _torch_gru(dec)
        else:
            self.enc, self.dec = enc, dec

    def run(self, x_enc: torch.Tensor, x_dec: torch.Tensor, backward: bool) -> None:
        B = x_enc.shape[0]
        if self.name == "nn.GRU":
            h = self.enc(x_enc)[1][0]
            out = self.dec(x_dec.unsqueeze(1).expand(B, T, I_DEC))[0]
        else:
            self.enc.impl = self.dec.impl = self.impl
            h = self.enc(x_enc)[1]
            out = self.dec(x_dec, steps=T)[0]
        if backward:
            (h.sum() * 1e-2 + out.sum() * 1e-3).backward()

    def params(self):
        return list(self.enc.parameters()) + list(self.dec.parameters())


def _inputs(B: int, grad: bool, device: str):
    g = torch.Generator().manual_seed(B)
    x_enc = torch.randn(B, T, I_ENC, generator=g).to(device).requires_grad_(grad)
    x_dec = torch.randn(B, I_DEC, generator=g).to(device).requires_grad_(grad)
    return x_enc, x_dec


def _profile(cands: list[Candidate], data) -> None:
    from torch.profiler import ProfilerActivity, profile

    for c in cands:
        for _ in range(3):
            c.run(*data, True)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(10):
                for q in c.params():
                    q.grad = None
                c.run(*data, True)
        print(f"\n{c.name}: self CPU time per B16 batch (profiler on, so everything is a bit slower)")
        rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in rows)
        for e in rows[:12]:
            print(
                f"  {e.key[:44]:44s} {e.self_cpu_time_total / 10 / 1e3:7.2f} ms  {100 * e.self_cpu_time_total / total:5.1f}%"
                f"  ({e.count / 10:g} calls)"
            )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (on CUDA emovae runs torch's fused GRU)")
    ap.add_argument("--python-loop", action="store_true", help="also time the pure-PyTorch step loop (the fallback)")
    ap.add_argument("--profile", action="store_true", help="also print where the time of one batch goes")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    cuda = dev.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if not cuda:
        build_extension()
    torch.manual_seed(0)
    enc32, dec32 = GRU(I_ENC, H).to(dev), GRU(I_DEC, H).to(dev)
    enc16, dec16 = GRU(I_ENC, H, "bf16").to(dev), GRU(I_DEC, H, "bf16").to(dev)
    enc16.load_state_dict(enc32.state_dict())
    dec16.load_state_dict(dec32.state_dict())
    cands = [
        Candidate("nn.GRU", enc32, dec32),
        Candidate("emovae fp32", enc32, dec32),
        Candidate("emovae bf16", enc16, dec16),
    ]
    if args.python_loop and not cuda:
        cands += [Candidate("py-loop fp32", enc32, dec32, "python"), Candidate("py-loop bf16", enc16, dec16, "python")]

    data = {
        "B16 fwd+bwd": (_inputs(16, True, dev), True),
        "B3 fwd+bwd": (_inputs(3, True, dev), True),
        "B69 fwd": (_inputs(69, False, dev), False),
    }
    res: dict[tuple[str, str], list[float]] = {}

    def one_round(record: bool) -> None:
        for c in cands:
            for key, (xs, bwd) in data.items():
                for q in c.params():
                    q.grad = None
                with torch.set_grad_enabled(bwd):
                    sync()
                    t0 = time.perf_counter()
                    c.run(*xs, bwd)
                    sync()
                    dt = time.perf_counter() - t0
                if record:
                    res.setdefault((c.name, key), []).append(dt)

    for _ in range(2):
        one_round(False)  # warm-up: oneDNN primitive caches, buffer pool, cuDNN plans
    for _ in range(args.rounds):
        one_round(True)

    where = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads; {extension_status()}"
    print(f"torch {torch.__version__}, {where}; {args.rounds} rounds, medians")
    print(f"{'':14s} {'B16 fwd+bwd':>12s} {'B3 fwd+bwd':>11s} {'B69 fwd':>10s} {'epoch est.':>11s} {'vs nn.GRU':>10s}")
    base = None
    for c in cands:
        m = {k: statistics.median(res[(c.name, k)]) for k in KEYS}
        epoch = 17.2 * m["B16 fwd+bwd"] + m["B69 fwd"]
        base = base or epoch
        print(
            f"{c.name:14s} {m['B16 fwd+bwd'] * 1e6:9.0f} us {m['B3 fwd+bwd'] * 1e6:8.0f} us"
            f" {m['B69 fwd'] * 1e6:7.0f} us {epoch:9.3f} s {base / epoch:9.2f}x"
        )
    print(
        "(B16/B3: encoder + decoder forward and backward; B69: both forward only;"
        " epoch est. = 17.2 x B16 + B69, GRUs only)"
    )
    if args.profile and not cuda:
        _profile([c for c in cands if c.name.startswith("emovae")], data["B16 fwd+bwd"][0])


if __name__ == "__main__":
    main()
