"""Losses: KL against its closed form, the emotion term's values, the reductions."""

import math

import pytest
import torch
import torch.nn.functional as F

from emovae.losses import cvae_loss, emotion_loss, emotion_signs, kl_divergence, reconstruction_loss


def test_kl_matches_closed_form_of_two_gaussians():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 2), torch.randn(5, 2)
    # KL(N(mu, s^2) || N(0, 1)) per dim = log(1/s) + (s^2 + mu^2)/2 - 1/2, via torch.distributions
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-6)
    assert kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0.0


def test_emotion_term_is_minus_one_when_proportional():
    labels = torch.tensor([1.0, -1.0, 1.0, -1.0])
    assert emotion_loss(3.0 * labels, labels).item() == pytest.approx(-1.0, abs=1e-6)


def test_emotion_term_between_minus_one_and_zero_on_the_right_sides():
    # the paper's cosine term: A = (1, -1), z = (0.1, -5) gives -0.72
    value = emotion_loss(torch.tensor([0.1, -5.0]), torch.tensor([1.0, -1.0])).item()
    assert value == pytest.approx(-(0.1 + 5.0) / (math.sqrt(2) * math.sqrt(0.01 + 25)), abs=1e-6)
    assert -1 < value < 0
    assert value == pytest.approx(-0.72, abs=0.005)


def test_emotion_term_is_plus_one_when_mirrored():
    labels = torch.tensor([1.0, 1.0, -1.0])
    assert emotion_loss(-0.5 * labels, labels).item() == pytest.approx(1.0, abs=1e-6)


def test_emotion_term_defined_when_all_labels_share_one_sign():
    value = emotion_loss(torch.tensor([0.5, 2.0, -1.0]), torch.ones(3))
    assert torch.isfinite(value)
    assert value.item() == pytest.approx(-(1.5) / (math.sqrt(3) * math.sqrt(0.25 + 4 + 1)), abs=1e-6)


def test_emotion_signs_follow_russell_quadrants():
    valence, arousal = emotion_signs(torch.tensor([0, 1, 2, 3]))
    assert valence.tolist() == [1, -1, -1, 1]
    assert arousal.tolist() == [1, 1, -1, -1]


def test_reconstruction_sums_over_steps_and_batch():
    torch.manual_seed(1)
    logits, targets = torch.randn(3, 64, 31), torch.randint(0, 31, (3, 64))
    per_term = F.cross_entropy(logits.reshape(-1, 31), targets.reshape(-1), reduction="none")
    assert torch.allclose(reconstruction_loss(logits, targets, "sum"), per_term.sum())
    assert torch.allclose(reconstruction_loss(logits, targets, "mean"), per_term.sum() / 3)
    uniform = torch.zeros(16, 64, 31)  # ~ 16 x 64 x ln 31 at the start of training
    assert reconstruction_loss(uniform, torch.zeros(16, 64, dtype=torch.long)).item() == pytest.approx(
        16 * 64 * math.log(31), rel=1e-5
    )
    with pytest.raises(ValueError):
        reconstruction_loss(logits, targets, "median")


def test_total_loss_weights_the_terms():
    torch.manual_seed(2)
    logits, targets = torch.randn(4, 64, 31), torch.randint(0, 31, (4, 64))
    mu, logvar, emotion = torch.randn(4, 2), torch.randn(4, 2), torch.tensor([0, 1, 2, 3])
    t = cvae_loss(logits, targets, mu, logvar, emotion, weight_arousal=80, weight_valence=70)
    expected = t["recon"] + t["kld"] + 80 * t["emo_a"] + 70 * t["emo_v"]
    assert torch.allclose(t["loss"], expected)
    base = cvae_loss(logits, targets, mu, logvar, emotion, weight_arousal=0, weight_valence=0)
    assert torch.allclose(base["loss"], base["recon"] + base["kld"])
