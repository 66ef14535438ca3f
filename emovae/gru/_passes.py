"""The forward and backward passes over a whole sequence: input projection, step loop (C++ or
PyTorch), and the parameter gradients as one large product over all ``B * T`` steps.

``ops`` is the compiled extension (or None: the PyTorch loops of ``_loops``); ``onednn`` /
``onednn_s`` say whether oneDNN's linear is used in the matrix-product / state dtype.
"""

from __future__ import annotations

import torch

from ._extension import _tiled
from ._loops import _py_bwd, _py_fwd
from ._onednn import _linear_fn, _recurrent_weight
from ._pool import _POOL, _cast, _empty, _transposed


def _token_rows(x, tokens):
    """Token inputs, time-major as the C++ kernels take them: the tokens (T B,), the dense features
    (T B, m) (an empty tensor when there are none) and m."""
    B, T = tokens.shape
    tok = tokens.t().contiguous().view(T * B)
    if x is None:
        return tok, _empty(torch.float32), 0
    return tok, x.transpose(0, 1).reshape(T * B, x.shape[2]).contiguous(), x.shape[2]


def _forward_pass(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, ops, onednn, keep_gates=True, tokens=None):
    """The forward recurrence. Returns the buffers hs (T+1,B,H), g (T,B,4H), hsb (T,B,H).

    ``keep_gates=False`` (inference, C++ loop only): the gates are not stored (``g`` comes back
    empty); the states are computed exactly as with them. ``tokens`` (B, T) (float32 with the C++
    loop only): the first features of each step are the one-hot of a token, ``x`` (B, T, m) or None
    the rest; the one-hot's projection is a column lookup (``embed_fwd``)."""
    const = steps is not None
    H = w_hh.shape[1]
    linear = _linear_fn(onednn)

    # Input projection W_i x + b_i, once for all steps: (T, B, 3H) time-major, or (B, 3H).
    if tokens is not None:
        B, T = tokens.shape
        sdt = cdt = torch.float32
        tok, xr, m = _token_rows(x, tokens)
        gi = _POOL.empty((T, B, 3 * H), sdt)
        ops.embed_fwd(tok, xr, w_ih.contiguous(), b_ih.contiguous(), w_ih.shape[1] - m, gi)
    else:
        B = x.shape[0]
        T = steps if const else x.shape[1]
        sdt = torch.float32 if bf16 else x.dtype  # state dtype
        cdt = torch.bfloat16 if bf16 else x.dtype  # matrix-product dtype
        x2 = x if const else x.transpose(0, 1).reshape(T * B, x.shape[2])
        gi = linear(x2.to(cdt).contiguous(), w_ih.to(cdt).contiguous(), b_ih.to(cdt))
        gi = gi.contiguous() if const else gi.contiguous().view(T, B, 3 * H)

    if _tiled(ops, H, bf16):  # fp32, AVX-512: the tiled C++ loop (products and gates in one pass)
        wp = _POOL.empty((H // 16, H, 48), sdt)
        ops.pack_fwd(w_hh, wp)
        hs = _POOL.empty((T + 1, B, H), sdt)
        if h0 is None:
            hs[0].zero_()
        else:
            hs[0].copy_(h0)
        g = _POOL.empty((T, B, 4 * H), sdt) if keep_gates else _empty(sdt)
        ops.fwd_tiled(gi, const, hs, g, wp, b_hh.contiguous(), h0 is None)
        return hs, g, _empty(cdt)
    w = _recurrent_weight(_cast(w_hh, cdt), B, onednn)
    b = b_hh.to(cdt)

    hs = _POOL.empty((T + 1, B, H), sdt)
    if h0 is None:
        hs[0].zero_()
    else:
        hs[0].copy_(h0)
    g = _POOL.empty((T, B, 4 * H), sdt) if (keep_gates or ops is None) else _empty(sdt)
    if bf16:
        hsb = _POOL.empty((T, B, H), cdt)
        hsb[0].copy_(hs[0])
    else:
        hsb = _empty(cdt)
    if ops is not None:
        ops.fwd(gi, const, hs, g, hsb, w, b, onednn, h0 is None)
    else:
        _py_fwd(gi, const, hs, g, hsb, w, b, linear)
    return hs, g, hsb


def _backward_pass(
    grad_out, grad_hT, x, h0, w_ih, w_hh, hs, g, hsb, steps, bf16, needs, ops, onednn, onednn_s, tokens=None
):
    """The backward recurrence and the parameter gradients (``tokens``: as in :func:`_forward_pass`)."""
    const = steps is not None
    T, B, H4 = g.shape
    H = H4 // 4
    TB = T * B
    sdt = hs.dtype
    cdt = torch.bfloat16 if bf16 else sdt
    linear = _linear_fn(onednn)
    linear_s = _linear_fn(onednn_s)

    # a_t = dL/dh_t, starting from the gradients that reach the outputs.
    a = _POOL.empty((T, B, H), sdt)
    if grad_out is not None:
        a.copy_(grad_out.transpose(0, 1))
    else:
        a.zero_()
    if grad_hT is not None:
        a[T - 1].add_(grad_hT)
    dgh = _POOL.empty((T, B, 3 * H), cdt)  # d(W_h h + b_h) per step
    dgi = _POOL.empty((B, 3 * H) if const else (T, B, 3 * H), sdt)  # d(W_i x + b_i)
    if const:
        dgi.zero_()
    need_dh0 = h0 is not None and needs[1]
    if _tiled(ops, H, bf16):
        dh0 = ops.bwd_tiled(a, g, hs, dgh, dgi, const, w_hh.contiguous(), need_dh0)
    else:
        wt = _recurrent_weight(_transposed(w_hh, cdt, ops), B, onednn)  # logical (H, 3H)
        if ops is not None:
            dh0 = ops.bwd(a, g, hs, dgh, dgi, const, wt, onednn, need_dh0)
        else:
            dh0 = _py_bwd(a, g, hs, dgh, dgi, const, wt, linear)

    # Input side, in the state dtype: d(W_i x + b_i) = dgi.
    g_x = g_w_ih = g_b_ih = None
    dgi2 = dgi if const else dgi.view(TB, 3 * H)
    if tokens is not None:  # one pass over d(gi): per-token sums, the dense features' products, the bias
        tok, xr, m = _token_rows(x, tokens)
        need_dx = bool(needs[0]) and m > 0
        g_w_ih, db_i, dx = ops.embed_bwd(dgi2, tok, xr, w_ih.contiguous(), w_ih.shape[1] - m, need_dx)
        g_x = dx.view(T, B, m).transpose(0, 1) if need_dx else None
        g_w_ih = g_w_ih if needs[2] else None
    elif const:
        db_i = dgi2.sum(0)
        if needs[0]:
            g_x = torch.mm(dgi2, w_ih)
        if needs[2]:
            g_w_ih = torch.mm(dgi2.t(), x)
    else:
        db_i = dgi2.sum(0)
        if needs[0]:
            g_x = linear_s(dgi2, w_ih.t()).view(T, B, -1).transpose(0, 1)  # K-major weight
        if needs[2]:
            xt = x.transpose(0, 1).reshape(TB, x.shape[2]).t().contiguous()  # (I, TB)
            g_w_ih = linear_s(xt, dgi2.t()).t().contiguous()
    if needs[4]:
        g_b_ih = db_i

    # Recurrent weight and bias: one product and one sum over all B*T steps.
    g_w_hh = g_b_hh = None
    dgh2 = dgh.view(TB, 3 * H)
    if needs[3]:
        if _tiled(ops, H, bf16):  # the tiled kernel reads both as they lie; step 0 adds nothing when h_0 = 0
            g_w_hh = _POOL.empty((3 * H, H), sdt)  # free again once the optimizer drops the gradient
            ops.dw_tiled(dgh2, hs[:T].view(TB, H), B if h0 is None else 0, g_w_hh)
        elif bf16:
            g_w_hh = torch.mm(dgh2.t(), hsb.view(TB, H)).to(sdt)
        elif onednn:  # oneDNN with K-major operands: about twice MKL's speed here
            hT = _transposed(hs[:T].reshape(TB, H), sdt, ops)  # (H, TB)
            g_w_hh = _transposed(linear(hT, dgh2.t()), sdt, ops, pooled=False)  # (3H, H)
        else:
            g_w_hh = torch.mm(dgh2.t(), hs[:T].reshape(TB, H))
    if needs[5]:
        # gates r, z: as on the input side; gate n: d pre_n * r (the last third of dgh)
        g_b_hh = torch.cat([db_i[: 2 * H], dgh2[:, 2 * H :].sum(0, dtype=sdt)])
    g_h0 = dh0 if need_dh0 else None
    return g_x, g_h0, g_w_ih, g_w_hh, g_b_ih, g_b_hh
