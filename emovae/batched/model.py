"""K models of one architecture as one module (:class:`BatchedCVAE`), and what runs trained so
must share (:data:`SHARED`, :func:`group_key`).

The K weight sets are stacked along a leading axis, and every matrix product becomes one batched
product (``torch.baddbmm``) over the K models, so K small models fill the hardware one alone
leaves idle. The K GRUs run as :func:`emovae.gru.stacked_gru` (two launches per step, the gates
in one Triton kernel on CUDA) or as PyTorch's fused GRU once per model.

What models trained together must share (:func:`group_key`): the architecture, batch size,
optimizer settings, epochs, the split and the reduction. Loss weights and forms (cosine or
hinge, on mu or on z too), schedules, margins, free bits and seeds may differ.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..config import CVAEConfig, TrainConfig
from ..errors import EmovaeError
from ..gru import stacked_gru
from ..model import CVAE

__all__ = ["SHARED", "BatchedCVAE", "group_key"]

# what models trained side by side must share (the rest of TrainConfig may differ per model)
SHARED = (
    "epochs",
    "batch_size",
    "lr",
    "rho",
    "eps",
    "weight_decay",
    "reduction",
    "split_seed",
    "heldout",
    "checkpoint_every",
    "validate",
    "device",
)


def group_key(model_config: CVAEConfig, config: TrainConfig) -> tuple:
    """Runs with equal keys can be trained together as one batched model."""
    return (tuple(sorted(model_config.to_dict().items())), tuple(getattr(config, k) for k in SHARED))


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """K linear layers at once: x (K, N, I), weight (K, O, I), bias (K, O) -> (K, N, O)."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


class BatchedCVAE(nn.Module):
    """K :class:`~emovae.model.CVAE` of one architecture as one module: each parameter stacked
    along a new leading axis, in the order of ``CVAE.parameters()``."""

    def __init__(self, nets: list[CVAE], rnn: str = "loop"):
        super().__init__()
        if not nets:
            raise EmovaeError("a batched model needs at least one model")
        if rnn not in ("loop", "fused"):
            raise EmovaeError(f"rnn {rnn!r} is not one of loop, fused")
        self.rnn = rnn  # how the GRUs run: see _gru
        self.config = nets[0].config
        self.names = [name for name, _ in nets[0].named_parameters()]
        self.register_buffer("eye", torch.eye(self.config.n_emotions), persistent=False)  # one-hot, no sync
        self.stacked = nn.ParameterList(
            [
                nn.Parameter(torch.stack([dict(n.named_parameters())[name].detach() for n in nets]))
                for name in self.names
            ]
        )

    @property
    def k(self) -> int:
        return self.stacked[0].shape[0]

    def p(self, name: str) -> torch.Tensor:
        return self.stacked[self.names.index(name)]

    def state_dicts(self) -> list[dict]:
        """One CVAE state_dict per model (copies on the CPU)."""
        return [{n: p[k].detach().cpu().clone() for n, p in zip(self.names, self.stacked)} for k in range(self.k)]

    def _gru(self, name: str, x: torch.Tensor, steps: int):
        """The GRU ``name`` of every model over ``x`` (K, B, T, I), or (K, B, I) fed at each of
        ``steps`` steps: states (K, B, T, H) and the last (K, B, H). ``rnn="loop"``: all K at
        once, a batched product per step; ``"fused"``: PyTorch's fused GRU kernel (cuDNN on
        CUDA: the whole sequence in one call) once per model."""
        w_ih, w_hh, b_ih, b_hh = (self.p(f"{name}.{n}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        K, B = x.shape[:2]
        if self.rnn == "loop":
            if x.dim() == 3:
                return stacked_gru(_linear(x, w_ih, b_ih), w_hh, b_hh, steps)
            gx = _linear(x.reshape(K, B * steps, -1), w_ih, b_ih).view(K, B, steps, -1)
            return stacked_gru(gx, w_hh, b_hh, steps)
        outs, last = [], []
        for k in range(K):
            xk = x[k] if x.dim() == 4 else x[k].unsqueeze(1).expand(B, steps, x.shape[-1]).contiguous()
            h0 = xk.new_zeros(1, B, w_hh.shape[-1])
            with warnings.catch_warnings():  # cuDNN copies the 4 weight slices into one chunk: intended
                warnings.filterwarnings("ignore", message=".*single contiguous chunk", category=UserWarning)
                out, h = torch._VF.gru(xk, h0, [w_ih[k], w_hh[k], b_ih[k], b_hh[k]], True, 1, 0.0, True, False, True)
            outs.append(out)
            last.append(h[0])
        return torch.stack(outs), torch.stack(last)

    def encode(self, x: torch.Tensor, emotion: torch.Tensor):
        """x (K, B, T, V) one-hot, emotion (K, B) -> mu, logvar (K, B, L)."""
        c, p = self.config, self.p
        K, B, T, _ = x.shape
        if c.encoder_condition:
            e = self.eye[emotion]
            cond = _linear(e, p("cond.weight"), p("cond.bias")).view(K, B, T, c.cond_features)
            x = torch.cat([x, cond], dim=-1)
        _, h = self._gru("enc_gru", x, T)
        h = F.relu(_linear(h, p("enc_dense.weight"), p("enc_dense.bias")))
        return _linear(h, p("to_mu.weight"), p("to_mu.bias")), _linear(h, p("to_logvar.weight"), p("to_logvar.bias"))

    def decode(self, z: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """z (K, B, L), emotion (K, B) -> logits (K, B, T, V)."""
        c, p = self.config, self.p
        K, B = z.shape[:2]
        inp = torch.cat([z, self.eye[emotion]], dim=-1)
        seq, _ = self._gru("dec_gru", inp, c.n_steps)
        return _linear(seq.reshape(K, B * c.n_steps, -1), p("out.weight"), p("out.bias")).view(K, B, c.n_steps, -1)

    def forward(self, x, emotion, eps):
        """Encode, z = mu + exp(logvar / 2) * eps, decode: logits, mu, logvar, z."""
        mu, logvar = self.encode(x, emotion)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z, emotion), mu, logvar, z
