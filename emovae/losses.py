"""The losses of CVAE-Base and CVAE-EmoReg, reduced as the authors' Keras code reduces them.

- ``L_R``   reconstruction: categorical cross-entropy between the input tokens and the decoder's
  softmax, summed over the 64 steps AND over the batch (``reduction="sum"``, the authors'), or
  summed over steps and averaged over the batch (``reduction="mean"``, an option).
- ``L_KLD`` = mean over the batch of  -1/2 * sum_k (1 + log sigma_k^2 - mu_k^2 - sigma_k^2).
- ``L_EmoA`` = -cos(A, mu[:, 1]) and ``L_EmoV`` = -cos(V, mu[:, 0]): A and V are the batch's
  arousal and valence labels (+1 / -1), the cosine is taken over the batch (two length-N vectors).
  -1 when the column is proportional to the labels; +1 when mirrored.

Total: L = L_R + L_KLD + w_A * L_EmoA + w_V * L_EmoV (w_A = 80, w_V = 70 for CVAE-EmoReg, 0 for
CVAE-Base).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .emotions import AROUSAL, VALENCE


def reconstruction_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Cross-entropy of logits (B, T, V) against token indices (B, T): summed over steps, and
    summed ("sum") or averaged ("mean") over the batch."""
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum")
    if reduction == "sum":
        return ce
    if reduction == "mean":
        return ce / targets.shape[0]
    raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) summed over latent dims, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def emotion_loss(coordinate: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """-cos(signs, coordinate) over the batch: one latent coordinate (B,) against +-1 labels (B,)."""
    return -F.cosine_similarity(signs.to(coordinate.dtype), coordinate, dim=0)


def emotion_signs(emotion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(valence, arousal) label vectors of +-1 for emotion indices 0..3."""
    table = torch.tensor([VALENCE, AROUSAL], device=emotion.device)
    return table[0, emotion], table[1, emotion]


def cvae_loss(
    logits,
    targets,
    mu,
    logvar,
    emotion,
    *,
    weight_arousal: float = 80.0,
    weight_valence: float = 70.0,
    reduction: str = "sum",
) -> dict[str, torch.Tensor]:
    """All terms and their weighted sum ``loss``. The emotion terms are computed on mu, and
    logged for CVAE-Base too (there with weight 0)."""
    terms = {
        "recon": reconstruction_loss(logits, targets, reduction),
        "kld": kl_divergence(mu, logvar),
    }
    valence, arousal = emotion_signs(emotion)
    terms["emo_a"] = emotion_loss(mu[:, 1], arousal)
    terms["emo_v"] = emotion_loss(mu[:, 0], valence)
    terms["loss"] = terms["recon"] + terms["kld"] + weight_arousal * terms["emo_a"] + weight_valence * terms["emo_v"]
    return terms
