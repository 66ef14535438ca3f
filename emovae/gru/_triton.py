"""The two passes over a GRU step's gates of :mod:`._stacked` as Triton kernels (CUDA): one
launch each instead of a dozen elementwise ops. Imported only where they may run; without
Triton :func:`available` is False and the PyTorch ops run instead.

Each program takes one row (one example of one model) and ``BLOCK`` hidden units of it and
reads the r, z and n columns of those units; ``tanh(a)`` is ``2 sigmoid(2a) - 1``.
"""

from __future__ import annotations

import torch

__all__ = ["available", "gates_fwd", "gates_bwd"]

try:  # Triton ships with PyTorch's CUDA wheels; the CPU wheels have none
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None


def available() -> bool:
    """Whether Triton could be imported (its kernels then run on CUDA tensors)."""
    return triton is not None


BLOCK = 256

if triton is not None:

    @triton.jit
    def _fwd_kernel(g_ptr, g_sk, g_sb, gh_ptr, b_ptr, h_ptr, out_ptr, gates_ptr, B, H, BLOCK: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)  # k * B + b
        j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        m = j < H
        k = row // B
        g = g_ptr + k * g_sk + (row % B) * g_sb
        gh = gh_ptr + row * 3 * H
        b = b_ptr + k * 3 * H
        r = tl.sigmoid(tl.load(g + j, mask=m) + (tl.load(gh + j, mask=m) + tl.load(b + j, mask=m)))
        z = tl.sigmoid(tl.load(g + H + j, mask=m) + (tl.load(gh + H + j, mask=m) + tl.load(b + H + j, mask=m)))
        hn = tl.load(gh + 2 * H + j, mask=m) + tl.load(b + 2 * H + j, mask=m)
        tl.store(gh + 2 * H + j, hn, mask=m)  # W_hn h + b_hn, read by the backward pass
        a = tl.load(g + 2 * H + j, mask=m) + r * hn
        n = 2.0 * tl.sigmoid(2.0 * a) - 1.0
        h = tl.load(h_ptr + row * H + j, mask=m)
        tl.store(out_ptr + row * H + j, n + z * (h - n), mask=m)
        gates = gates_ptr + row * 3 * H
        tl.store(gates + j, r, mask=m)
        tl.store(gates + H + j, z, mask=m)
        tl.store(gates + 2 * H + j, n, mask=m)

    @triton.jit
    def _bwd_kernel(
        dh_ptr,
        dout_ptr,
        do_sk,
        do_sb,
        h_ptr,
        gates_ptr,
        gh_ptr,
        dgx_ptr,
        dgh_ptr,
        B,
        H,
        HAS_DOUT: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        row = tl.program_id(0).to(tl.int64)
        j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        m = j < H
        dh = tl.load(dh_ptr + row * H + j, mask=m)
        if HAS_DOUT:
            dh += tl.load(dout_ptr + (row // B) * do_sk + (row % B) * do_sb + j, mask=m)
        gates = gates_ptr + row * 3 * H
        r = tl.load(gates + j, mask=m)
        z = tl.load(gates + H + j, mask=m)
        n = tl.load(gates + 2 * H + j, mask=m)
        h = tl.load(h_ptr + row * H + j, mask=m)
        hn = tl.load(gh_ptr + row * 3 * H + 2 * H + j, mask=m)
        dpn = dh * (1.0 - z) * (1.0 - n * n)
        dpr = dpn * hn * r * (1.0 - r)
        dpz = dh * (h - n) * z * (1.0 - z)
        dgx = dgx_ptr + row * 3 * H
        tl.store(dgx + j, dpr, mask=m)
        tl.store(dgx + H + j, dpz, mask=m)
        tl.store(dgx + 2 * H + j, dpn, mask=m)
        dgh = dgh_ptr + row * 3 * H
        tl.store(dgh + j, dpr, mask=m)
        tl.store(dgh + H + j, dpz, mask=m)
        tl.store(dgh + 2 * H + j, dpn * r, mask=m)
        tl.store(dh_ptr + row * H + j, dh * z, mask=m)  # in place: each element by its own program


def _grid(h: torch.Tensor) -> tuple[int, int]:
    K, B, H = h.shape
    return (K * B, triton.cdiv(H, BLOCK))


def gates_fwd(g, gh, bias, h, h_out, gates) -> None:
    """As ``_stacked._gates_fwd_torch``; ``g`` may be strided over its first two axes, the
    others are contiguous."""
    K, B, H = h.shape
    _fwd_kernel[_grid(h)](g, g.stride(0), g.stride(1), gh, bias, h, h_out, gates, B, H, BLOCK=BLOCK)


def gates_bwd(dh, dout, h, gates, gh, dgx, dgh) -> None:
    """As ``_stacked._gates_bwd_torch``; ``dout`` may be strided over its first two axes."""
    K, B, H = h.shape
    has = dout is not None
    d = dout if has else dh
    _bwd_kernel[_grid(h)](dh, d, d.stride(0), d.stride(1), h, gates, gh, dgx, dgh, B, H, HAS_DOUT=has, BLOCK=BLOCK)
