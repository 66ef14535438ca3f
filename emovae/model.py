"""The conditional VAE of Grekow (2021, 2025): GRU encoder, 2-D latent plane, GRU decoder.

Encoder: the emotion one-hot goes through a linear layer to ``n_steps x cond_features`` values,
reshaped to one small condition vector per step and concatenated to the one-hot token at every
step; a GRU reads the 64 steps, its last state goes through ``Dense(dense, relu)`` and two
linear heads give the mean ``mu`` and log-variance ``logvar`` of a Gaussian over ``z``.
Decoder (not autoregressive): ``concat(z, emotion one-hot)`` is fed to a GRU at each of the 64
steps, and a per-step linear layer gives logits over the vocabulary.

``z[0]`` is read as valence (horizontal), ``z[1]`` as arousal (vertical).

Initialisation follows Keras, as the authors' model had it: linear (Dense) kernels and the GRU
input kernels glorot-uniform over the whole matrix, the GRU recurrent kernels orthogonal over the
whole ``(H, 3H)`` matrix (not gate by gate), every bias zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import CVAEConfig
from .gru import fused_decode, keras_init_, make_gru

__all__ = ["CVAE", "CVAEConfig"]


class CVAE(nn.Module):
    def __init__(
        self, config: CVAEConfig | None = None, precision: str = "fp32", gru: str = "emovae", init: bool = True
    ):
        """``precision``: the GRUs' matrix products, "fp32", "bf16" or "bf16-grad" (fp32 forward,
        bf16 backward); ``gru``: "emovae" (the
        fast layer of :mod:`emovae.gru`) or "torch" (``torch.nn.GRU``'s kernel). Both are run-time
        settings, not architecture: the same weights load whichever is chosen. ``init=False``
        skips the initialisers (about 1 s for the orthogonal ones) when weights are loaded next."""
        super().__init__()
        c = self.config = config or CVAEConfig()
        self.precision = precision
        # encoder
        cond = c.cond_features if c.encoder_condition else 0  # label-free encoder: no condition input
        self.cond = nn.Linear(c.n_emotions, c.n_steps * cond) if cond else None
        self.enc_gru = make_gru(c.vocab_size + cond, c.hidden, impl=gru, precision=precision)
        self.enc_dense = nn.Linear(c.hidden, c.dense)
        self.to_mu = nn.Linear(c.dense, c.latent)
        self.to_logvar = nn.Linear(c.dense, c.latent)
        # decoder
        self.dec_gru = make_gru(c.latent + c.n_emotions, c.hidden, impl=gru, precision=precision)
        self.out = nn.Linear(c.hidden, c.vocab_size)
        if init:
            self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Keras's initialisers: glorot-uniform kernels, orthogonal recurrent kernels, zero biases."""
        for m in self.children():  # [cond,] enc_gru, enc_dense, to_mu, to_logvar, dec_gru, out
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)  # glorot-uniform over the whole matrix
                nn.init.zeros_(m.bias)
            else:
                keras_init_(m)  # the GRU's own Keras initialisers

    def encode(self, x: torch.Tensor, emotion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T) token indices or (B, T, V) one-hot; emotion: (B,) 0..3 (ignored by a label-free
        encoder, ``encoder_condition=False``). Returns mu, logvar (B, latent)."""
        c = self.config
        cond = None
        if self.cond is not None:
            e = F.one_hot(emotion, c.n_emotions).float()
            cond = self.cond(e).view(-1, c.n_steps, c.cond_features)
        if x.dim() == 2:  # token indices: the GRU reads their one-hot as a lookup of W_i's columns
            _, h = self.enc_gru(cond, tokens=x)
        else:
            _, h = self.enc_gru(x if cond is None else torch.cat([x, cond], dim=-1))
        h = F.relu(self.enc_dense(h))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """z: (B, latent), emotion: (B,) 0..3 -> logits (B, T, V)."""
        c = self.config
        e = F.one_hot(emotion, c.n_emotions).float()
        x = torch.cat([z, e], dim=-1)
        logits = fused_decode(self.dec_gru, x, c.n_steps, self.out)  # None unless fused decoding is on
        if logits is not None:
            return logits
        seq, _ = self.dec_gru(x, steps=c.n_steps)
        steps_first = seq.transpose(0, 1)
        if steps_first.is_contiguous():  # emovae's CPU GRU stores the states step by step: no copy
            return self.out(steps_first).transpose(0, 1).contiguous()
        return self.out(seq)

    def forward(self, x, emotion, generator: torch.Generator | None = None):
        """Encode, sample z = mu + exp(logvar / 2) * eps, decode. Returns logits, mu, logvar."""
        logits, mu, logvar, _ = self.forward_z(x, emotion, generator)
        return logits, mu, logvar

    def forward_z(self, x, emotion, generator: torch.Generator | None = None):
        """As :meth:`forward`, also returning the sampled z: logits, mu, logvar, z."""
        mu, logvar = self.encode(x, emotion)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z, emotion), mu, logvar, z
