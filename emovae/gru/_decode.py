"""Fused inference decoding: a GRU run T steps on a constant input from ``h_0 = 0``, followed by a
per-step linear layer, straight to the logits ``(B, T, V)`` in one C++ call (``decode`` in
``csrc/gru_loops.cpp``).

Nothing of the recurrence is kept but the state: no gates, no outputs ``(B, T, H)``; each thread
runs all T steps on its own blocks of rows (no barrier between steps) with a register-tiled
product over panels of 16 hidden units x 3 gates, the gates computed on the tile, and the output
projection of each new state: on 2 Zen 4 cores about 95% of oneDNN's rate for the bare
products, gates and output layer included.

Precisions (the GRU's ``precision``):

* ``"fp32"``: fp32 products. Not bit-identical to the training forward (another summation order),
  within about 1e-6 of it; the argmax melodies agree with it but for rare near-ties.
* ``"int16"`` (inference only): 16-bit fixed-point recurrent products (AVX512-VNNI
  ``vpdpwssd``, twice the fp32 multiply-add rate): ``h_q = round(QSCALE h)`` (``|h| <= 1``),
  ``W_q = round(s_n W)`` with one scale per output column, int32 sums over
  :data:`INT16_CHUNK` inputs at a time (``s_n`` is chosen so that no such sum can leave int32,
  whatever the state: :func:`int16_weights`), float32 across the chunks; gates, state and the
  output layer stay fp32. About 14 bits for the state and 13 for the weights: the decoder
  amplifies tiny differences on some trajectories (a bfloat16 product, 8 bits, changes about 1
  melody in 9), these are small enough for >= 99.7% of the bundled models' argmax melodies to
  equal fp32's (``benchmarks/generate_speed.py`` measures it). Without VNNI it runs as fp32.
* ``"bf16"``: not fused (the layer's own bfloat16 pass runs).

Off unless asked for: :func:`fused_decoding` (a context manager) switches it on for the calls
inside it on this thread (``TrainedModel.decode`` does); :func:`fused_decode` returns None when
the call does not qualify (autograd on, not the CPU, not float32, a batch below ``SMALL_BATCH``,
no AVX-512 build of the extension), and the caller runs the layer as usual.
"""

from __future__ import annotations

import contextlib
import threading

import torch
from torch import Tensor, nn

from emovae.errors import EmovaeError

INT16_FROM = 1  # int16 precision: steps before this one use fp32 products (step 0 has none: h_0 = 0)
INT16_CHUNK = 64  # inputs per int32 partial sum
QSCALE = 16383.0  # h_q = round(QSCALE * h)
BLOCK = 64  # rows a thread takes at a time (all T steps on them)

_STATE = threading.local()


@contextlib.contextmanager
def fused_decoding(enabled: bool = True):
    """Within the block (this thread), :func:`fused_decode` may run the fused kernel."""
    old = getattr(_STATE, "on", False)
    _STATE.on = bool(enabled)
    try:
        yield
    finally:
        _STATE.on = old


def fused_decoding_enabled() -> bool:
    """Whether :func:`fused_decoding` is on for this thread."""
    return getattr(_STATE, "on", False)


def _caps(ops) -> int:
    try:
        return int(ops.decode_caps())
    except (AttributeError, RuntimeError):
        return 0


def decode_caps() -> dict[str, bool]:
    """Which fused precisions run here (builds the C++ extension if needed)."""
    from ._extension import _ext_ops

    ops = _ext_ops()
    caps = _caps(ops) if ops is not None else 0
    return {"fp32": bool(caps & 1), "int16": bool(caps & 2)}


def int16_weights(w_hh: Tensor, chunk: int, qscale: float) -> tuple[Tensor, Tensor]:
    """``(W_q int16 (3H, H), inv float32 (3H,))``: ``W_q = round(s_n W)`` per output row n and
    ``inv_n = 1 / (qscale s_n)``, ``s_n`` as large as int16 allows while every int32 partial
    sum over ``chunk`` inputs stays in range for any ``|h_q| <= qscale`` (``|h| <= 1``):
    ``qscale * max_c sum_{k in chunk c} |W_q[n, k]| <= 2^31 - 1`` (checked on the integers)."""
    G, H = w_hh.shape
    if H % chunk or chunk % 2:
        raise EmovaeError(f"int16 decoding: hidden size {H} is not a multiple of the chunk {chunk}")
    W = w_hh.detach().double().cpu()
    A = W.abs()
    amax = A.amax(1)
    l1 = A.view(G, H // chunk, chunk).sum(2).amax(1)
    limit = 2**31 - 1
    s = torch.minimum(32767.0 / amax.clamp_min(1e-30), (limit / qscale - chunk) / l1.clamp_min(1e-30))
    s = torch.where(amax > 0, s, torch.ones_like(s))
    for _ in range(8):
        wq = torch.round(W * s[:, None]).clamp_(-32767, 32767).to(torch.int64)
        worst = wq.abs().view(G, H // chunk, chunk).sum(2).amax(1) * int(qscale)
        bad = worst > limit
        if not bool(bad.any()):
            break
        s = torch.where(bad, s * 0.999, s)
    else:  # pragma: no cover - the bound above leaves room for the rounding
        raise EmovaeError("int16 decoding: could not fit the weight scales into int32")
    inv = (1.0 / (qscale * s)).float()
    return wq.to(torch.int16), inv


def _pack(gru, out: nn.Linear, int16: bool):
    """Panels and padded output weights for the kernel, cached on the layer per weight version."""
    ws = (gru.weight_ih, gru.weight_hh, gru.bias_ih, gru.bias_hh, out.weight, out.bias)
    key = (int16, INT16_CHUNK, QSCALE) + tuple((w.data_ptr(), w._version) for w in ws)
    cache = gru.__dict__.setdefault("_fused_cache", {})
    hit = cache.get(int16)
    if hit is not None and hit[0] == key:
        return hit[1]
    H = gru.hidden_size
    NB = H // 16
    with torch.no_grad():
        w = gru.weight_hh.detach().float()
        w32 = w.view(3, NB, 16, H).permute(1, 3, 0, 2).contiguous()
        if int16:
            wq, inv = int16_weights(w, INT16_CHUNK, QSCALE)
            w16 = wq.view(3, NB, 16, H // 2, 2).permute(1, 3, 0, 2, 4).contiguous()
        else:
            w16, inv = torch.empty(0, dtype=torch.int16), torch.empty(0)
        V = out.weight.shape[0]
        Vp = (V + 15) // 16 * 16
        wo = torch.zeros(H, Vp)
        wo[:, :V] = out.weight.detach().float().t()
        bo = torch.zeros(Vp)
        if out.bias is not None:
            bo[:V] = out.bias.detach().float()
        wi = gru.weight_ih.detach().float().t().contiguous()
        packed = (
            wi,
            gru.bias_ih.detach().float().contiguous(),
            w32,
            gru.bias_hh.detach().float().contiguous(),
            w16,
            inv,
            wo,
            bo,
        )
    cache[int16] = (key, packed)
    return packed


def fused_decode(gru, x: Tensor, steps: int, out: nn.Linear, *, force: bool = False) -> Tensor | None:
    """Logits ``out(gru(x, steps=steps)[0])`` (B, steps, V) from the fused kernel, or None when the
    call does not qualify (see the module docstring; ``force`` skips the :func:`fused_decoding`
    and batch-size conditions, for tests and benchmarks)."""
    from ._extension import _ext_ops
    from .layer import GRU, SMALL_BATCH

    if not force and not fused_decoding_enabled():
        return None
    if not isinstance(gru, GRU) or gru.impl not in ("auto", "ext") or gru.precision == "bf16":
        return None
    if torch.is_grad_enabled() and (
        x.requires_grad
        or any(p.requires_grad for p in gru.parameters())
        or any(p.requires_grad for p in out.parameters())
    ):
        return None
    if x.device.type != "cpu" or x.dtype != torch.float32 or gru.weight_hh.dtype != torch.float32:
        return None
    if x.dim() != 2 or x.shape[1] != gru.input_size or int(steps) < 1 or gru.hidden_size % 16:
        return None
    if out.weight.dtype != torch.float32 or out.weight.shape[1] != gru.hidden_size:
        return None
    B = x.shape[0]
    if B < 1 or (not force and B < SMALL_BATCH):
        return None
    ops = _ext_ops()
    caps = _caps(ops) if ops is not None else 0
    if not caps & 1:
        return None
    T = int(steps)
    int16 = gru.precision == "int16" and bool(caps & 2) and T > INT16_FROM and gru.hidden_size % INT16_CHUNK == 0
    wi, bi, w32, b, w16, inv, wo, bo = _pack(gru, out, int16)
    with torch.no_grad():
        logits = torch.empty(B, T, out.weight.shape[0])
        ops.decode(
            x.detach().contiguous(),
            wi,
            bi,
            w32,
            b,
            w16,
            inv,
            QSCALE,
            INT16_FROM if int16 else T,
            INT16_CHUNK,
            wo,
            bo,
            logits,
            BLOCK,
        )
    return logits
