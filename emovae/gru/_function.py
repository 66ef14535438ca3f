"""The autograd Function tying the passes together: picks the step loop (C++ or PyTorch) and
oneDNN per call, and falls back to ``F.linear`` for good if a private oneDNN op fails."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from . import _onednn
from ._extension import _ext_ops
from ._onednn import _onednn_usable
from ._passes import _backward_pass, _forward_pass


class _GRUFunction(torch.autograd.Function):
    """``apply(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext) -> (outputs (B,T,H), h_T (B,H))``."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext):
        sdt = torch.float32 if bf16 else x.dtype
        cdt = torch.bfloat16 if bf16 else x.dtype
        ops = _ext_ops() if (use_ext and sdt == torch.float32) else None
        onednn = _onednn_usable(cdt)
        args = (x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, ops)
        try:
            hs, g, hsb = _forward_pass(*args, onednn)
        except RuntimeError:
            if not onednn:
                raise
            _onednn._ONEDNN_OK[cdt] = False  # a private op that fails: never again, use F.linear
            hs, g, hsb = _forward_pass(*args, False)
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs, g, hsb)
        ctx.steps = steps
        ctx.bf16 = bf16
        ctx.use_ext = use_ext
        ctx.set_materialize_grads(False)
        T = g.shape[0]
        return hs[1:].transpose(0, 1), hs[T]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        x, h0, w_ih, w_hh, hs, g, hsb = ctx.saved_tensors
        if grad_out is None and grad_hT is None:
            return (None,) * 9
        sdt = hs.dtype
        cdt = torch.bfloat16 if ctx.bf16 else sdt
        ops = _ext_ops() if (ctx.use_ext and sdt == torch.float32) else None
        onednn, onednn_s = _onednn_usable(cdt), _onednn_usable(sdt)
        args = (grad_out, grad_hT, x, h0, w_ih, w_hh, hs, g, hsb, ctx.steps, ctx.bf16, ctx.needs_input_grad, ops)
        try:
            grads = _backward_pass(*args, onednn, onednn_s)
        except RuntimeError:
            if not (onednn or onednn_s):
                raise
            _onednn._ONEDNN_OK[cdt] = _onednn._ONEDNN_OK[sdt] = False
            grads = _backward_pass(*args, False, False)
        return (*grads, None, None, None)
