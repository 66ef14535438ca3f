"""The autograd Function tying the passes together: picks the step loop (C++ or PyTorch) and
oneDNN per call, and falls back to ``F.linear`` for good if a private oneDNN op fails; and the
same forward for inference (:func:`_inference_forward`), which keeps no gates for a backward pass."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from . import _onednn
from ._extension import _ext_ops
from ._onednn import _onednn_usable
from ._passes import _backward_pass, _forward_pass


def _run_forward(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, keep_gates, tokens=None):
    bf16 = bf16 is True  # "grad": the forward runs in float32
    dt = w_hh.dtype
    sdt = torch.float32 if bf16 else dt
    cdt = torch.bfloat16 if bf16 else dt
    ops = _ext_ops() if (use_ext and sdt == torch.float32) else None
    onednn = _onednn_usable(cdt)
    args = (x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, ops)
    try:
        return _forward_pass(*args, onednn, keep_gates, tokens)
    except RuntimeError:
        if not onednn:
            raise
        _onednn._ONEDNN_OK[cdt] = False  # a private op that fails: never again, use F.linear
        return _forward_pass(*args, False, keep_gates, tokens)


def _inference_forward(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, tokens=None):
    """``(outputs (B,T,H), h_T (B,H))`` as ``_GRUFunction.apply`` gives them, bit for bit, without
    storing the gates (with the C++ loop); for calls that autograd does not record."""
    hs, _, _ = _run_forward(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, False, tokens)
    T = hs.shape[0] - 1
    return hs[1:].transpose(0, 1), hs[T]


class _GRUFunction(torch.autograd.Function):
    """``apply(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, tokens) -> (outputs (B,T,H), h_T (B,H))``.

    ``bf16``: False (float32), True (bfloat16 products in both passes) or ``"grad"`` (a float32
    forward, bfloat16 products in the backward pass only). ``tokens``: None, or (B, T) token
    indices whose one-hot are the first input features, ``x`` (or None) the rest (float32, C++
    loop)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, tokens=None):
        hs, g, hsb = _run_forward(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext, True, tokens)
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs, g, hsb, tokens)
        ctx.steps = steps
        ctx.bf16 = bf16
        ctx.use_ext = use_ext
        ctx.set_materialize_grads(False)
        T = g.shape[0]
        return hs[1:].transpose(0, 1), hs[T]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        x, h0, w_ih, w_hh, hs, g, hsb, tokens = ctx.saved_tensors
        if grad_out is None and grad_hT is None:
            return (None,) * 10
        sdt = hs.dtype
        bf16 = bool(ctx.bf16)  # True or "grad": the backward's products in bfloat16
        cdt = torch.bfloat16 if bf16 else sdt
        if bf16 and hsb.numel() == 0:  # a float32 forward: the states' bfloat16 copies for dW_h
            hsb = hs[:-1].to(torch.bfloat16)
        ops = _ext_ops() if (ctx.use_ext and sdt == torch.float32) else None
        onednn, onednn_s = _onednn_usable(cdt), _onednn_usable(sdt)
        args = (grad_out, grad_hT, x, h0, w_ih, w_hh, hs, g, hsb, ctx.steps, bf16, ctx.needs_input_grad, ops)
        try:
            grads = _backward_pass(*args, onednn, onednn_s, tokens)
        except RuntimeError:
            if not (onednn or onednn_s):
                raise
            _onednn._ONEDNN_OK[cdt] = _onednn._ONEDNN_OK[sdt] = False
            grads = _backward_pass(*args, False, False, tokens)
        return (*grads, None, None, None, None)
