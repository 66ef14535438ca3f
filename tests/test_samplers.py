"""Samplers (the paper's, the fitted Gaussians), the checkpoint's density and the copy guard."""

from __future__ import annotations

import numpy as np
import pytest

from emovae.checkpoint import load_model, save_checkpoint
from emovae.cli import main
from emovae.config import TrainConfig
from emovae.data import token_hash
from emovae.errors import EmovaeError
from emovae.samplers import FittedSampler, check_sampler
from emovae.training import train


def test_fit_is_the_mean_and_population_covariance_per_emotion():
    s = FittedSampler.fit([[1.0, 2.0], [3.0, 4.0], [-1.0, -1.0]], [0, 0, 2])
    assert s.means[0].tolist() == [2.0, 3.0]
    # population covariance of (1,2),(3,4): [[1,1],[1,1]], plus 1e-4 on the diagonal
    assert np.allclose(s.covs[0], [[1.0001, 1.0], [1.0, 1.0001]], atol=0, rtol=1e-12)
    assert s.means[2].tolist() == [-1.0, -1.0] and np.allclose(s.covs[2], np.eye(2) * 1e-4)
    # an emotion without melodies: the paper's N((+-2, +-2), 2^2 I)
    assert s.means[1].tolist() == [-2.0, 2.0] and s.covs[1].tolist() == [[4.0, 0.0], [0.0, 4.0]]
    assert s.counts.tolist() == [2, 0, 1, 0]
    with pytest.raises(EmovaeError, match="finite"):
        FittedSampler.fit([[np.nan, 0.0]], [0])


def test_points_follow_the_fitted_gaussian_and_the_spread():
    rng = np.random.default_rng(0)
    pts = rng.multivariate_normal([3.0, -2.0], [[1.0, 0.6], [0.6, 0.5]], size=4000)
    s = FittedSampler.fit(pts, np.full(len(pts), 3))
    drawn = s.points(3, 20000, np.random.default_rng(1))
    assert np.allclose(drawn.mean(0), [3.0, -2.0], atol=0.05)
    assert np.allclose(np.cov(drawn.T), [[1.0, 0.6], [0.6, 0.5]], atol=0.06)
    wide = s.points(3, 20000, np.random.default_rng(1), spread=2.0)
    assert np.allclose(wide - s.means[3], 2.0 * (drawn - s.means[3]))
    again = FittedSampler.from_dict(s.to_dict())
    assert np.array_equal(again.points(3, 5, np.random.default_rng(2)), s.points(3, 5, np.random.default_rng(2)))
    with pytest.raises(EmovaeError, match="damaged sampler"):
        FittedSampler.from_dict({"means": [[0, 0]], "covs": [], "counts": []})
    with pytest.raises(EmovaeError, match="sampler 'best': use one of paper, fitted"):
        check_sampler("best")


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    from emovae.model import CVAEConfig

    out = tmp_path_factory.mktemp("run")
    model = train(
        out_dir=out,
        config=TrainConfig(epochs=4, device="cpu", checkpoint_every=2, seed=5),
        model_config=CVAEConfig(hidden=32, dense=16),
        data=tiny_data,
        progress=False,
    )
    return out, model


def test_training_stores_the_fitted_sampler_and_the_data_set_hashes(run, tiny_data):
    out, trained = run
    model = load_model(out)
    assert model.default_sampler == "fitted" and model.sampler is not None
    raw = tiny_data.vocab.decode(tiny_data.indices)
    assert model.training_hashes == {token_hash(t) for t in raw}
    codes = model.encode(raw[tiny_data.train_idx], tiny_data.labels[tiny_data.train_idx])
    for e in range(4):
        mine = codes[tiny_data.labels[tiny_data.train_idx] == e]
        assert np.allclose(model.sampler.means[e], mine.mean(0), atol=1e-5)
    # fitted points centre on the codes; the paper's on the quadrant centres, as before
    fitted = model.sample_points(0, 2000, seed=3)
    assert np.allclose(fitted.mean(0), model.sampler.means[0], atol=0.15 * np.sqrt(model.sampler.covs[0].max()) + 0.05)
    paper = model.sample_points(0, 2000, seed=3, sampler="paper")
    assert np.allclose(paper.mean(0), [2.0, 2.0], atol=0.15)
    assert np.array_equal(model.sample_points(1, 7, seed=3), model.sample_points(1, 7, seed=3))  # seeded
    assert not np.array_equal(model.sample_points(1, 7, seed=3), model.sample_points(1, 7, seed=4))
    with pytest.raises(EmovaeError, match="spread 0"):
        model.sample_points(0, 3, spread=0)


def test_the_copy_guard_draws_copies_again(run):
    _, model = run
    first = model.sample(2, 40, seed=1, sampler="paper")
    # pretend half of these melodies were training melodies
    marked = {token_hash(t) for t in first[::2]}
    model.training_hashes = frozenset(marked)
    before = model.copies(first)
    assert before.sum() >= 20
    z = model.sample_points(2, 40, seed=1, sampler="paper")
    z2, guarded = model.redraw_copies(z, 2, first, seed=1)
    after = model.copies(guarded)
    assert after.sum() < before.sum()
    assert np.array_equal(guarded[~before], first[~before]) and np.array_equal(z2[~before], z[~before])
    assert np.all(np.abs(z2[before] - z[before]).sum(1) > 0)  # moved
    assert np.array_equal(model.sample(2, 40, seed=1, sampler="paper", unique=True), guarded)
    model.training_hashes = frozenset()
    with pytest.raises(EmovaeError, match="no hashes of its training melodies"):
        model.sample(2, 3, unique=True)


def test_the_bundled_model_carries_the_manifest_hashes_and_guards_copies():
    import emovae

    model = emovae.load("emoreg")
    assert len(model.trained.training_hashes) == 293  # distinct melodies of the data set
    plain = model.generate("sad", n=100, seed=3, sampler="paper")
    guarded = model.generate("sad", n=100, seed=3, sampler="paper", unique=True)
    copies = lambda ms: int(model.trained.copies(np.stack([m.tokens for m in ms])).sum())  # noqa: E731
    assert copies(plain) > 0 and copies(guarded) < copies(plain)
    with pytest.raises(EmovaeError, match="carries no fitted sampler"):
        model.generate("sad", n=1, sampler="fitted")


def test_fit_sampler_command_refits_an_older_checkpoint(run, tmp_path, capsys, data_root):
    out, model = run
    old = tmp_path / "old.pt"
    save_checkpoint(old, net=model.net, vocab=model.vocab, train_config=model.train_config, epoch=model.epoch)
    assert load_model(old).sampler is None and load_model(old).default_sampler == "paper"
    # the tiny run trained on a subset: refit on the whole data set's split of its model
    assert main(["fit-sampler", str(old), "--data", str(data_root)]) == 0
    assert capsys.readouterr().out.startswith(f"{old}: sampler fitted to 275 training codes; centres Q1 (")
    again = load_model(old)
    assert again.default_sampler == "fitted" and len(again.training_hashes) == 293
    assert main(["fit-sampler", "emoreg"]) == 2
    assert "a bundled model; copy it first" in capsys.readouterr().err


def test_cli_generate_with_samplers_and_the_guard(run, tmp_path, capsys):
    out, _ = run
    assert main(["generate", str(out), "--out", str(tmp_path / "a"), "-n", "2", "--emotion", "sad"]) == 0
    assert main(["generate", str(out), "--out", str(tmp_path / "b"), "-n", "2", "--sampler", "paper"]) == 0
    assert main(["generate", str(out), "--out", str(tmp_path / "c"), "-n", "2", "--spread", "1.5", "--unique"]) == 0
    capsys.readouterr()
    assert main(["generate", str(out), "--out", str(tmp_path / "d"), "-n", "2", "--spread", "20"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "emovae: error: spread 20.0: a number above 0 and at most 10 is needed"
    ]
    assert main(["generate", "emoreg", "--out", str(tmp_path / "e"), "-n", "1", "--spread", "2"]) == 0
    assert "--spread ignored: it widens the fitted sampler, and the paper sampler is in use" in capsys.readouterr().err
    assert main(["generate", "emoreg", "--out", str(tmp_path / "f"), "-n", "1", "--sampler", "fitted"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "carries no fitted sampler" in err[0]
    assert not (tmp_path / "f" / "e1").exists()  # nothing written


def test_the_bundled_default_samples_from_its_fitted_density():
    import emovae
    from emovae.config import DEFAULT_PRESET, PRESETS

    model = emovae.load()
    assert model.title == PRESETS[DEFAULT_PRESET].title and model.trained.default_sampler == "fitted"
    assert len(model.trained.training_hashes) == 293
    fitted = model.trained.sample_points("happy", 400, seed=4)
    paper = model.trained.sample_points("happy", 400, seed=4, sampler="paper")
    # the fitted points centre on the happy training codes' mean, the paper's on (2, 2)
    centre = model.trained.sampler.means[0][:2]
    assert np.allclose(fitted[:, :2].mean(0), centre, atol=0.25) and np.allclose(paper.mean(0), (2, 2), atol=0.3)
    assert np.abs(centre - (2, 2)).max() > 0.5
