"""K GRUs with K weight sets at once (for :mod:`emovae.batched`): one autograd Function whose
forward and backward are each one loop over the steps, two launches per step.

Same maths as the layer (gate order r, z, n; ``n = tanh(gx_n + r * (W_hn h + b_hn))``, Keras
``reset_after``; ``h' = n + z * (h - n)``), with a leading model axis K on every tensor.

Why a Function, not a loop of autograd ops: autograd of such a loop computes and accumulates
the recurrent weight gradient at every step (64 writes of a K x 3H x H tensor, 100 MB at K = 32
and H = 512, per recurrence) and turns every slice and gate op into kernels of its own, a dozen
per step forward and more backward. Here each step of the forward is one batched product
(``bmm`` over the K models) and one pass over the gates, which adds the bias b_h; each step of
the backward one pass over the gates and one in-place batched product (``baddbmm_``) for the
state's gradient. The gates' pre-activation gradients of all steps are kept, so the weight and
bias gradients are one product (over all ``T * B`` rows) and one sum after the loop, as the
CPU layer does.

The passes over the gates are one Triton kernel each on CUDA (:mod:`._triton`, where Triton is
installed; ``EMOVAE_TRITON=0`` switches it off) and a few PyTorch ops elsewhere. Nothing in a
step reads a value back to the host, so the whole loop can be captured in a CUDA graph.
"""

from __future__ import annotations

import os

import torch
from torch.autograd.function import once_differentiable

__all__ = ["stacked_gru", "gate_kernels"]


def _gates_fwd_torch(g, gh, bias, h, h_out, gates) -> None:
    """gh += b_h (kept for the backward pass); r, z = sigmoid(g + gh) on the first 2H columns;
    n = tanh(g_n + r * gh_n); h_out = n + z * (h - n); gates = [r, z, n]. ``bias`` (K, 3H),
    every other tensor (K, B, .)."""
    H = h.shape[-1]
    gh.add_(bias.unsqueeze(1))
    rz = torch.sigmoid(g[..., : 2 * H] + gh[..., : 2 * H])
    n = torch.tanh(torch.addcmul(g[..., 2 * H :], rz[..., :H], gh[..., 2 * H :]))
    torch.add(n, rz[..., H:] * (h - n), out=h_out)
    gates[..., : 2 * H] = rz
    gates[..., 2 * H :] = n


def _gates_bwd_torch(dh, dout, h, gates, gh, dgx, dgh) -> None:
    """From the gradient of h' (``dh``, plus ``dout`` where the step's output has one): the
    gradients of the gate pre-activations on the input side (``dgx``: r, z, n) and on the
    hidden side (``dgh``: r, z and r * d n), and, in ``dh`` itself, the part of h's gradient
    that skips the product (dh * z)."""
    H = h.shape[-1]
    dh_out = dh
    if dout is not None:
        dh = dh + dout
    r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    dpn = dh * (1 - z) * (1 - n * n)
    dgx[..., :H] = dpn * gh[..., 2 * H :] * r * (1 - r)
    dgx[..., H : 2 * H] = dh * (h - n) * z * (1 - z)
    dgx[..., 2 * H :] = dpn
    dgh[..., : 2 * H] = dgx[..., : 2 * H]
    dgh[..., 2 * H :] = dpn * r
    torch.mul(dh, z, out=dh_out)


def gate_kernels(device: torch.device) -> str:
    """Which passes over the gates run on ``device``: "triton" or "torch"."""
    if device.type != "cuda" or os.environ.get("EMOVAE_TRITON", "1") == "0":
        return "torch"
    from . import _triton

    return "triton" if _triton.available() else "torch"


def _passes(device: torch.device):
    """The (forward, backward) gate passes for ``device``; on the CPU with Triton's interpreter
    switched on (``TRITON_INTERPRET=1``, as the tests do) the Triton kernels, interpreted."""
    if gate_kernels(device) == "triton" or (device.type == "cpu" and os.environ.get("TRITON_INTERPRET") == "1"):
        from . import _triton

        if _triton.available():
            return _triton.gates_fwd, _triton.gates_bwd
    return _gates_fwd_torch, _gates_bwd_torch


def _forward(gx, w_hh, b_hh, steps: int, keep: bool):
    """The forward loop: states (steps + 1, K, B, H), time-major so that each step's state is
    contiguous, and, where ``keep``, every step's W_h h + b_h and gates (else one step's)."""
    K, B = gx.shape[:2]
    H = w_hh.shape[-1]
    const = gx.dim() == 3
    fwd, _ = _passes(gx.device)
    hs = gx.new_empty(steps + 1, K, B, H)
    hs[0].zero_()
    kept = steps if keep else 1
    gh = gx.new_empty(kept, K, B, 3 * H)  # W_h h + b_h of each step
    gates = gx.new_empty(kept, K, B, 3 * H)  # r, z, n of each step
    w_t = w_hh.transpose(1, 2)
    for t in range(steps):
        i = t if keep else 0
        torch.bmm(hs[t], w_t, out=gh[i])
        fwd(gx if const else gx[:, :, t], gh[i], b_hh, hs[t], hs[t + 1], gates[i])
    return hs, gh, gates


class _StackedGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gx, w_hh, b_hh, steps: int):
        hs, gh, gates = _forward(gx, w_hh, b_hh, steps, keep=True)
        ctx.save_for_backward(w_hh, hs, gh, gates)
        ctx.const = gx.dim() == 3
        ctx.set_materialize_grads(False)
        return hs[1:].permute(1, 2, 0, 3), hs[steps]

    @staticmethod
    @once_differentiable
    def backward(ctx, d_seq, d_last):
        w_hh, hs, gh, gates = ctx.saved_tensors
        steps, K, B, H = gates.shape[0], *hs.shape[1:]
        _, bwd = _passes(hs.device)
        dgx, dgh = torch.empty_like(gh), torch.empty_like(gh)
        dh = d_last.contiguous().clone() if d_last is not None else hs.new_zeros(K, B, H)
        if d_seq is not None and d_seq.stride(-1) != 1:
            d_seq = d_seq.contiguous()
        for t in range(steps - 1, -1, -1):
            # dh becomes dh * z, then gains dgh @ W_h: the gradient of the previous state
            bwd(dh, None if d_seq is None else d_seq[:, :, t], hs[t], gates[t], gh[t], dgx[t], dgh[t])
            if t:  # h_0 is zero, not an input: its gradient is not needed
                dh.baddbmm_(dgh[t], w_hh)
        # weight and bias gradients over all steps at once: (K, 3H, T B) @ (K, T B, H)
        d_w = torch.bmm(
            dgh.permute(1, 3, 0, 2).reshape(K, 3 * H, steps * B), hs[:-1].permute(1, 0, 2, 3).reshape(K, steps * B, H)
        )
        d_b = dgh.sum(dim=(0, 2))
        d_gx = dgx.sum(dim=0) if ctx.const else dgx.permute(1, 2, 0, 3)
        return d_gx, d_w, d_b, None


def stacked_gru(gx: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, steps: int):
    """K GRUs over ``steps`` steps from a zero state. ``gx``: the input projections
    W_i x + b_i, (K, B, T, 3H), or (K, B, 3H) for the same input at every step; ``w_hh``
    (K, 3H, H); ``b_hh`` (K, 3H). Returns the states (K, B, T, H) and the last one (K, B, H)."""
    if gx.stride(-1) != 1:
        gx = gx.contiguous()
    w_hh, b_hh = w_hh.contiguous(), b_hh.contiguous()
    if torch.is_grad_enabled() and any(t.requires_grad for t in (gx, w_hh, b_hh)):
        return _StackedGRU.apply(gx, w_hh, b_hh, steps)
    hs, _, _ = _forward(gx, w_hh, b_hh, steps, keep=False)  # nothing kept for a backward pass
    return hs[1:].permute(1, 2, 0, 3), hs[steps]
