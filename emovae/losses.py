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


_SIGN_TABLES: dict = {}


def emotion_signs(emotion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(valence, arousal) label vectors of +-1 for emotion indices 0..3 (any shape)."""
    table = _SIGN_TABLES.get(emotion.device)
    if table is None:  # made once per device: no host-to-device copy inside a captured CUDA graph
        table = _SIGN_TABLES[emotion.device] = torch.tensor([VALENCE, AROUSAL], device=emotion.device)
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


# ------------------------------------------------------------------- K models at once, any recipe


def hinge_emotion_loss(coordinate: torch.Tensor, signs: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """The margin form of an emotion term: ``max(0, margin - s * c)`` per example, for a latent
    coordinate ``c`` and its label sign ``s`` = +-1. Zero once the point lies ``margin`` inside
    its half-plane, so it stops pushing there (unlike -cos, which keeps pulling the batch into
    a line). ``coordinate`` and ``signs`` (K, B), ``margin`` (K,); returns (K, B)."""
    return F.relu(margin[:, None] - signs.to(coordinate.dtype) * coordinate)


def recipe_terms(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    z: torch.Tensor,
    emotion: torch.Tensor,
    *,
    reduction: str = "sum",
    emotion_loss: str = "cosine",
    margin: torch.Tensor | None = None,
    emotion_on_z: bool = False,
    free_bits: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The loss terms of K models trained side by side, each a (K,) tensor.

    Every input has a leading model axis K: logits (K, B, T, V), targets (K, B, T), mu, logvar
    and z (K, B, L), emotion (K, B). Per model:

    - ``recon``: cross-entropy summed over steps, summed (``"sum"``) or averaged (``"mean"``)
      over the batch;
    - ``kld``: sum over latent dims d of max(free_bits, KL_d), KL_d = mean over the batch of
      -1/2 (1 + logvar_d - mu_d^2 - exp(logvar_d)) (free bits: Kingma et al., 2016; with
      ``free_bits`` None this is the paper's L_KLD);
    - ``emo_a``, ``emo_v``: on mu[..., 1] (arousal) and mu[..., 0] (valence), ``"cosine"``:
      -cos(labels, coordinate) over the batch (the paper), or ``"hinge"``:
      :func:`hinge_emotion_loss` summed or averaged over the batch as ``recon`` is; with
      ``emotion_on_z`` the same terms on z are added. ``emotion_loss`` and ``emotion_on_z``
      may also be (K,) 0/1 tensors (1 = hinge, 1 = on z), one switch per model.
    """
    K, B = targets.shape[:2]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="none")
    recon = ce.view(K, -1).sum(dim=1)
    if reduction == "mean":
        recon = recon / B
    elif reduction != "sum":
        raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
    kl_d = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=1)  # (K, L)
    if free_bits is not None:
        kl_d = torch.maximum(kl_d, free_bits[:, None].to(kl_d.dtype))
    terms = {"recon": recon, "kld": kl_d.sum(dim=1)}
    valence, arousal = emotion_signs(emotion)  # (K, B) each
    # which branches run is decided here, on the host (no device sync: CUDA graphs capture this);
    # a per-model tensor switch runs both and mixes them
    hinge = _per_model(emotion_loss, K, mu, {"cosine": 0.0, "hinge": 1.0}, "emotion_loss")
    on_z = _per_model(emotion_on_z, K, mu, {False: 0.0, True: 1.0}, "emotion_on_z")
    mixed_loss = isinstance(emotion_loss, torch.Tensor)
    use_cos, use_hinge = mixed_loss or emotion_loss == "cosine", mixed_loss or emotion_loss == "hinge"
    use_z = isinstance(emotion_on_z, torch.Tensor) or bool(emotion_on_z)
    emo_a = emo_v = 0
    for p, share in ((mu, None), (z, on_z)):
        if share is not None and not use_z:
            continue
        a = v = 0
        if use_cos:  # the paper's -cos over the batch
            a = (1 - hinge) * -F.cosine_similarity(arousal.to(p.dtype), p[..., 1], dim=1)
            v = (1 - hinge) * -F.cosine_similarity(valence.to(p.dtype), p[..., 0], dim=1)
        if use_hinge:
            scale = 1.0 / B if reduction == "mean" else 1.0
            a = a + hinge * scale * hinge_emotion_loss(p[..., 1], arousal, margin).sum(dim=1)
            v = v + hinge * scale * hinge_emotion_loss(p[..., 0], valence, margin).sum(dim=1)
        emo_a = emo_a + (a if share is None else share * a)
        emo_v = emo_v + (v if share is None else share * v)
    terms["emo_a"], terms["emo_v"] = emo_a, emo_v
    return terms


def _per_model(value, K: int, like: torch.Tensor, codes: dict, what: str) -> torch.Tensor:
    """A per-model switch as a (K,) 0/1 tensor: one setting for all (a str or bool) or a tensor."""
    if isinstance(value, torch.Tensor):
        return value.to(like.dtype)
    if value not in codes:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, codes))}, not {value!r}")
    return torch.full((K,), codes[value], dtype=like.dtype, device=like.device)


def recipe_total(terms: dict, kl_weight: torch.Tensor, weight_arousal: torch.Tensor, weight_valence: torch.Tensor):
    """Each model's objective (K,): recon + beta kld + w_A emo_a + w_V emo_v (weights (K,))."""
    return terms["recon"] + kl_weight * terms["kld"] + weight_arousal * terms["emo_a"] + weight_valence * terms["emo_v"]
