"""The optimizer: RMSprop as Keras defines it (:class:`KerasRMSprop`), epsilon inside the root."""

from __future__ import annotations

import torch

from ..gru import fused_rmsprop

__all__ = ["KerasRMSprop"]


class KerasRMSprop(torch.optim.Optimizer):
    """RMSprop exactly as Keras 3 defines it: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).

    (PyTorch's RMSprop puts eps outside the root, sqrt(v) + eps, with other defaults.)
    ``weight_decay`` > 0 first shrinks every weight, w -= lr * weight_decay * w (decoupled, as
    AdamW does: Loshchilov & Hutter, 2019).

    On the CPU (float32) a step is one C++ pass over each tensor (:func:`emovae.gru.fused_rmsprop`)
    instead of the five foreach passes that run elsewhere. Both round alike except the square
    root: the C++ one is IEEE's correctly rounded root, ATen's may be 1 ulp off."""

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            vs = []
            for p in params:
                state = self.state[p]
                if "v" not in state:
                    state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                vs.append(state["v"])
            decay = 1.0 - group["lr"] * group["weight_decay"] if group.get("weight_decay", 0.0) else 1.0
            if fused_rmsprop(params, grads, vs, lr=group["lr"], rho=group["rho"], eps=group["eps"], decay=decay):
                continue  # the same step in one C++ pass over each tensor (CPU float32)
            if decay != 1.0:
                torch._foreach_mul_(params, decay)
            torch._foreach_mul_(vs, group["rho"])
            torch._foreach_addcmul_(vs, grads, grads, value=1 - group["rho"])
            denom = torch._foreach_add(vs, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
