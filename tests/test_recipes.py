"""Recipes beyond the paper: hinge terms, schedules, free bits, weight decay, a label-free encoder,
content dimensions beside the plane; each named preset trained on a tiny run."""

import numpy as np
import pytest
import torch

import emovae
from emovae.checkpoint import load_model
from emovae.cli import main
from emovae.config import PRESETS, TrainConfig, preset
from emovae.errors import EmovaeError
from emovae.losses import hinge_emotion_loss, recipe_terms, recipe_total
from emovae.training import KerasRMSprop


def test_hinge_is_zero_inside_the_margin():
    c = torch.tensor([[2.0, 0.5, -1.0, 1.0]])
    s = torch.tensor([[1, 1, 1, -1]])
    got = hinge_emotion_loss(c, s, torch.tensor([1.0]))
    assert got.tolist() == [[0.0, 0.5, 2.0, 2.0]]


def _batch(mu, z=None, emotion=(0, 2)):
    mu = torch.tensor(mu, dtype=torch.float32)[None]
    z = mu if z is None else torch.tensor(z, dtype=torch.float32)[None]
    b, latent = mu.shape[1:]
    targets = torch.zeros(1, b, 4, dtype=torch.long)
    logits = torch.zeros(1, b, 4, 3)  # uniform over 3 classes: CE = ln 3 per step
    return logits, targets, mu, torch.zeros_like(mu), z, torch.tensor([list(emotion)])


def test_recipe_terms_exact():
    # e1 (valence +, arousal +) at (2, 0.5); e3 (-, -) at (-0.25, -3)
    logits, y, mu, logvar, z, e = _batch([[2.0, 0.5], [-0.25, -3.0]])
    t = recipe_terms(logits, y, mu, logvar, z, e, emotion_loss="hinge", margin=torch.tensor([1.0]))
    assert t["recon"].item() == pytest.approx(2 * 4 * np.log(3), rel=1e-6)  # summed over batch and steps
    assert t["emo_v"].item() == pytest.approx(0.0 + 0.75)  # only -0.25 is short of the margin
    assert t["emo_a"].item() == pytest.approx(0.5 + 0.0)
    # KL per dim: mean over batch of mu^2 / 2 (logvar 0): dim 0 (4 + 1/16) / 4, dim 1 (1/4 + 9) / 4
    assert t["kld"].item() == pytest.approx((4 + 0.0625) / 4 + (0.25 + 9) / 4)
    mean = recipe_terms(logits, y, mu, logvar, z, e, reduction="mean", emotion_loss="hinge", margin=torch.tensor([1.0]))
    assert mean["recon"].item() == pytest.approx(4 * np.log(3)) and mean["emo_v"].item() == pytest.approx(0.375)
    total = recipe_total(t, torch.tensor([2.0]), torch.tensor([10.0]), torch.tensor([3.0]))
    assert total.item() == pytest.approx(t["recon"].item() + 2 * t["kld"].item() + 10 * 0.5 + 3 * 0.75)


def test_free_bits_and_terms_on_z():
    logits, y, mu, logvar, z, e = _batch([[0.0, 0.0], [0.0, 0.0]], z=[[1.0, 1.0], [-1.0, 0.0]])
    t = recipe_terms(logits, y, mu, logvar, z, e, free_bits=torch.tensor([0.5]))
    assert t["kld"].item() == pytest.approx(1.0)  # KL 0 per dim, floored at 0.5 each
    h = dict(emotion_loss="hinge", margin=torch.tensor([1.0]))
    on_mu = recipe_terms(logits, y, mu, logvar, z, e, **h)
    both = recipe_terms(logits, y, mu, logvar, z, e, emotion_on_z=True, **h)
    assert on_mu["emo_a"].item() == pytest.approx(2.0)  # mu at the origin: 1 short per example
    assert both["emo_a"].item() == pytest.approx(2.0 + (0 + 1.0))  # z: e1 inside, e3 at 0 (1 short)
    assert both["emo_v"].item() == pytest.approx(2.0 + (0 + 0))
    cos = recipe_terms(logits, y, mu, logvar, z, e, emotion_on_z=True)
    assert cos["emo_v"].item() == pytest.approx(0 - 1.0, abs=1e-6)  # -cos on mu (0 vector) and on z (-1)


def test_schedules_exact():
    warm = TrainConfig(kl_warmup=4, kl_weight=2.0, emotion_warmup=2)
    assert [warm.kl_factor(e) for e in range(5)] == [0.5, 1.0, 1.5, 2.0, 2.0]
    assert [warm.emotion_factor(e) for e in range(3)] == [0.5, 1.0, 1.0]
    cyc = TrainConfig(kl_cycle=4)
    assert [cyc.kl_factor(e) for e in range(6)] == [0.0, 0.5, 1.0, 1.0, 0.0, 0.5]
    assert TrainConfig().kl_factor(0) == 1.0 and TrainConfig().emotion_factor(0) == 1.0


def test_weight_decay_is_decoupled():
    w = torch.nn.Parameter(torch.tensor([2.0, -4.0]))
    opt = KerasRMSprop([w], lr=0.1, weight_decay=0.5)
    w.grad = torch.zeros(2)
    opt.step()
    assert w.tolist() == pytest.approx([2.0 * 0.95, -4.0 * 0.95])


@pytest.mark.parametrize("name", ["hinge", "label-free", "content"])
def test_recipe_preset_trains_and_generates(name, data_root, tmp_path, capsys):
    out = tmp_path / name
    argv = ["train", "--preset", name, "--data", str(data_root), "--out", str(out), "--device", "cpu"]
    argv += ["--epochs", "2", "--batch-size", "64", "--hidden", "16", "--dense", "8", "--quiet", "--log-every", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    m = load_model(out)
    p = PRESETS[name]
    assert m.train_config.emotion_loss == "hinge" and m.train_config.epochs == 2
    assert m.model_config.latent == p.model.latent and m.model_config.encoder_condition == p.model.encoder_condition
    assert all(np.isfinite(r["loss"]) for r in m.history)
    model = emovae.load(out)
    for emotion in ("happy", "sad"):
        tokens = model.generate(emotion, n=3, seed=4)
        assert len(tokens) == 3
    melody = np.full((1, 64), 128)  # a silent melody: any raw tokens do
    if p.model.encoder_condition:
        with pytest.raises(EmovaeError, match="reads the emotion label"):
            m.encode(melody)
    else:  # the melody alone places it: the label changes nothing
        assert np.array_equal(m.encode(melody), m.encode(melody, "e3"))
        assert m.encode(melody).shape == (1, 2)
        tune = model.generate("happy", n=1, seed=4)[0]
        placed = model.encode(tune)
        (pl,) = placed.info["placements"]
        assert pl["label_free"] and "label-free encoder" in placed.info["verdicts"][0]
        assert pl["point"] == pytest.approx(list(m.encode(tune.tokens)[0]), abs=1e-4)
        assert model.transform(tune, "sad").emotion == "sad"


def test_content_dimensions_come_from_the_prior(data_root, tmp_path):
    out = tmp_path / "c"
    argv = ["train", "--preset", "content", "--data", str(data_root), "--out", str(out), "--device", "cpu"]
    assert main([*argv, "--epochs", "1", "--batch-size", "64", "--hidden", "16", "--dense", "8", "--quiet"]) == 0
    m = load_model(out)
    z = np.array([[1.0, 1.0]] * 64)
    a, b = m.decode(z, "e1", seed=1), m.decode(z, "e1", seed=2)
    assert np.array_equal(a, m.decode(z, "e1", seed=1))  # seeded
    assert not np.array_equal(a, b)  # the content dimensions differ between seeds
    whole = np.concatenate([z, np.zeros((64, 2))], axis=1)
    assert np.array_equal(m.decode(whole, "e1"), m.decode(whole, "e1", seed=9))  # given whole: no draw
    with pytest.raises(EmovaeError, match=r"shape \(N, 2\)"):
        m.decode(np.zeros((2, 3)), "e1")


def test_recipe_flags_and_their_errors(data_root, tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["train", "--data", str(data_root), "--out", str(out), "--device", "cpu", "--quiet"]
    argv += ["--epochs", "1", "--batch-size", "64", "--hidden", "16", "--dense", "8"]
    flags = ["--emotion-loss", "hinge", "--margin", "0.5", "--emotion-on-z", "--kl-weight", "2", "--kl-warmup", "3"]
    flags += ["--free-bits", "0.1", "--weight-decay", "0.01", "--latent", "3", "--label-free-encoder"]
    assert main(argv + flags) == 0
    capsys.readouterr()
    m = load_model(out)
    tc = m.train_config
    assert (tc.emotion_loss, tc.margin, tc.emotion_on_z, tc.kl_weight, tc.kl_warmup) == ("hinge", 0.5, True, 2.0, 3)
    assert (tc.free_bits, tc.weight_decay) == (0.1, 0.01)
    assert m.model_config.latent == 3 and not m.model_config.encoder_condition
    for bad, text in ((["--latent", "1"], "at least 2"), (["--kl-warmup", "-1"], ">= 0"), (["--margin", "x"], "x")):
        assert main([*argv[:4], str(tmp_path / "bad"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and text in err, err
    assert not (tmp_path / "bad").exists()


def test_presets_without_weights_say_so():
    with pytest.raises(EmovaeError, match="without bundled weights"):
        load_model("hinge")
    assert preset("label-free").model.encoder_condition is False
