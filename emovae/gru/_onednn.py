"""oneDNN matrix products: ``y = x @ w.T + b``, ``w`` logical (N, K): plain, a K-major view, or prepacked.

The private ops ``mkldnn::_linear_pointwise`` and ``mkldnn::_reorder_linear_weight`` are probed
once per dtype on a small case against float64; if one is missing or wrong, ``F.linear`` is used.
``_ONEDNN_OK`` and ``_PACK_OK`` hold the verdicts (a caller that sees a private op fail later sets
``_ONEDNN_OK[dtype] = False`` through this module, so the verdict is shared).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_ONEDNN_OK: dict[torch.dtype, bool] = {}
_PACK_OK: dict[torch.dtype, bool] = {}


def _op(namespace: str, name: str):
    try:
        return getattr(getattr(torch.ops, namespace), name).default
    except (AttributeError, RuntimeError):
        return None


def _check_linear(fn, dtype: torch.dtype) -> bool:
    """Whether ``fn(a, w, b)`` computes a @ w.T + b for ``dtype`` (a small case, vs float64)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 24, generator=g)
    w = torch.randn(36, 24, generator=g)
    b = torch.randn(36, generator=g)
    ref = F.linear(a.double(), w.double(), b.double())
    tol = 1e-4 if dtype == torch.float32 else 0.15
    ok = True
    for bias in (b, None):
        y = fn(a.to(dtype), w.to(dtype), None if bias is None else bias.to(dtype))
        want = ref if bias is not None else ref - b.double()
        ok = ok and y.shape == want.shape and torch.allclose(y.double(), want, rtol=tol, atol=tol)
    return bool(ok)


def _onednn_usable(dtype: torch.dtype) -> bool:
    """oneDNN's linear works here for ``dtype`` (checked once per dtype)."""
    ok = _ONEDNN_OK.get(dtype)
    if ok is None:
        ok = False
        lp = _op("mkldnn", "_linear_pointwise")
        if lp is not None and dtype in (torch.float32, torch.bfloat16):
            try:
                ok = (
                    torch.backends.mkldnn.is_available()
                    and _check_linear(lambda a, w, b: lp(a, w, b, "none", [], ""), dtype)
                    and _check_linear(lambda a, w, b: lp(a, w.t().contiguous().t(), b, "none", [], ""), dtype)
                )
            except Exception:  # noqa: BLE001 - any failure means: do not use it
                ok = False
        _ONEDNN_OK[dtype] = ok
    return ok


def _pack_usable(dtype: torch.dtype) -> bool:
    """oneDNN's weight prepacking works here for ``dtype`` (checked once per dtype)."""
    ok = _PACK_OK.get(dtype)
    if ok is None:
        ok = False
        lp = _op("mkldnn", "_linear_pointwise")
        rl = _op("mkldnn", "_reorder_linear_weight")
        if rl is not None and _onednn_usable(dtype):
            try:
                ok = _check_linear(lambda a, w, b: lp(a, rl(w, a.shape[0]), b, "none", [], ""), dtype)
            except Exception:  # noqa: BLE001
                ok = False
        _PACK_OK[dtype] = ok
    return ok


def _linear_fn(onednn: bool):
    """``linear(a, w, b=None) = a @ w.T + b``: through oneDNN, or ``F.linear``."""
    if onednn:
        lp = _op("mkldnn", "_linear_pointwise")

        def linear(a, w, b=None):
            return lp(a, w, b, "none", [], "")

        return linear

    def linear(a, w, b=None):
        return F.linear(a, w, b)

    return linear


def _recurrent_weight(w: Tensor, batch: int, onednn: bool) -> Tensor:
    """``w`` (N, K) in the form the per-step product is fastest with: oneDNN-prepacked for
    ``batch`` rows, else a K-major view (oneDNN's fp32 kernels take it without a reorder)."""
    if onednn:
        if _pack_usable(w.dtype):
            try:
                return torch.ops.mkldnn._reorder_linear_weight.default(w.contiguous(), batch)
            except Exception:  # noqa: BLE001
                _PACK_OK[w.dtype] = False
        return w.t().contiguous().t()
    return w.contiguous()
