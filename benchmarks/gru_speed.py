"""Speed of the GRU layers of one training batch, side by side in one process.

One "batch" is what the paper's model does per training step in its two GRUs: forward and
backward of the encoder (B=16, T=64, I=35, H=512, only h_T used) and of the decoder (constant
input (B, 6) fed at 64 steps, H=512, all outputs used). Candidates: torch.nn.GRU (autograd),
emovae.gru.GRU in fp32 and in bf16. Also the forward pass alone at B=69 (the validation set).

Rounds alternate between the candidates, so that noise from other work on the machine hits
them alike; medians are printed. Per-epoch estimate: 275 training examples = 17 full batches
plus one of 3 (about 17.2 batch-equivalents; counted here as 17 x B16 + 1 x B3 measured) plus
one validation forward pass at B=69.

    .venv/bin/python benchmarks/gru_speed.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emovae.gru import GRU, build_extension, extension_status  # noqa: E402

T, H, I_ENC, I_DEC = 64, 512, 35, 6


def _torch_gru(g: GRU) -> torch.nn.GRU:
    r = torch.nn.GRU(g.input_size, g.hidden_size, batch_first=True)
    with torch.no_grad():
        r.weight_ih_l0.copy_(g.weight_ih)
        r.weight_hh_l0.copy_(g.weight_hh)
        r.bias_ih_l0.copy_(g.bias_ih)
        r.bias_hh_l0.copy_(g.bias_hh)
    return r


class Pair:
    """Encoder + decoder of one kind; step(B) = forward + backward of one batch."""

    def __init__(self, kind: str, enc: GRU, dec: GRU, impl: str = "auto") -> None:
        self.kind = kind
        self.impl = impl
        if kind == "nn.GRU":
            self.enc, self.dec = _torch_gru(enc), _torch_gru(dec)
        else:
            self.enc, self.dec = enc, dec

    def run(self, x_enc, x_dec, backward: bool):
        B = x_enc.shape[0]
        if self.kind == "nn.GRU":
            _, h = self.enc(x_enc)
            h = h[0]
            out, _ = self.dec(x_dec.unsqueeze(1).expand(B, T, I_DEC))
        else:
            self.enc.impl = self.dec.impl = self.impl
            _, h = self.enc(x_enc)
            out, _ = self.dec(x_dec, steps=T)
        if backward:
            loss = h.sum() * 1e-2 + out.sum() * 1e-3
            loss.backward()

    def params(self):
        return list(self.enc.parameters()) + list(self.dec.parameters())


def _inputs(B: int, grad: bool):
    g = torch.Generator().manual_seed(B)
    x_enc = torch.randn(B, T, I_ENC, generator=g).requires_grad_(grad)
    x_dec = torch.randn(B, I_DEC, generator=g).requires_grad_(grad)
    return x_enc, x_dec


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--python-loop", action="store_true", help="also time the pure-PyTorch step loop (the fallback)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    build_extension()
    torch.manual_seed(0)
    enc32, dec32 = GRU(I_ENC, H), GRU(I_DEC, H)
    enc16, dec16 = GRU(I_ENC, H, "bf16"), GRU(I_DEC, H, "bf16")
    enc16.load_state_dict(enc32.state_dict())
    dec16.load_state_dict(dec32.state_dict())
    pairs = [Pair("nn.GRU", enc32, dec32), Pair("emovae fp32", enc32, dec32), Pair("emovae bf16", enc16, dec16)]
    if args.python_loop:
        pairs += [Pair("py-loop fp32", enc32, dec32, "python"), Pair("py-loop bf16", enc16, dec16, "python")]

    train16, train3, val69 = _inputs(16, True), _inputs(3, True), _inputs(69, False)
    res: dict[tuple[str, str], list[float]] = {}

    def one_round(record: bool) -> None:
        for p in pairs:
            for key, (xe, xd), bwd in (("B16 fwd+bwd", train16, True), ("B3 fwd+bwd", train3, True)):
                for q in p.params():
                    q.grad = None
                dt = _time(lambda: p.run(xe, xd, bwd))
                if record:
                    res.setdefault((p.kind, key), []).append(dt)
            with torch.no_grad():
                dt = _time(lambda: p.run(*val69, False))
            if record:
                res.setdefault((p.kind, "B69 fwd"), []).append(dt)

    for _ in range(2):
        one_round(False)  # warm-up (oneDNN primitive caches, allocator)
    for _ in range(args.rounds):
        one_round(True)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds, medians; {extension_status()}")
    print(f"{'':14s} {'B16 fwd+bwd':>12s} {'B3 fwd+bwd':>11s} {'B69 fwd':>9s} {'epoch est.':>11s} {'vs nn.GRU':>10s}")
    base = None
    for p in pairs:
        m = {k: statistics.median(res[(p.kind, k)]) for k in ("B16 fwd+bwd", "B3 fwd+bwd", "B69 fwd")}
        epoch = 17 * m["B16 fwd+bwd"] + m["B3 fwd+bwd"] + m["B69 fwd"]
        base = base or epoch
        print(
            f"{p.kind:14s} {m['B16 fwd+bwd'] * 1e3:9.2f} ms {m['B3 fwd+bwd'] * 1e3:8.2f} ms"
            f" {m['B69 fwd'] * 1e3:6.2f} ms {epoch:9.3f} s {base / epoch:9.2f}x"
        )
    print("(per batch: both GRUs; epoch est. = 17 x B16 + 1 x B3 + B69 validation forward, GRUs only)")


if __name__ == "__main__":
    main()
