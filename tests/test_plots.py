"""Latent-plane pictures and training curves: valid PNGs, written atomically, no leaked figures."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from emovae.errors import EmovaeError
from emovae.evaluate import quadrant_accuracy
from emovae.plots import plot_history, plot_latent

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _points(n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    centres = np.array([[2, 2], [-2, 2], [-2, -2], [2, -2]], dtype=float)
    return centres[labels] + rng.normal(size=(n, 2)), labels


def _assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_plot_latent_writes_a_png_creates_parents_and_closes_its_figure(tmp_path):
    plt.close("all")
    points, labels = _points()
    target = tmp_path / "a" / "b" / "latent_epoch50.png"
    out = plot_latent(points, labels, target, title="CVAE-EmoReg, epoch 50",
                      accuracy=quadrant_accuracy(points, labels))
    assert out == target
    _assert_png(target)
    assert plt.get_fignums() == []


def test_plot_latent_overwrites_and_handles_odd_inputs(tmp_path):
    target = tmp_path / "latent.png"
    target.write_bytes(b"old")
    points, labels = _points()
    plot_latent(points, labels, target)  # no title, no accuracy
    _assert_png(target)
    # a single emotion, all points at the origin: limits fall back to +-1
    plot_latent(np.zeros((3, 2)), [2, 2, 2], target)
    _assert_png(target)
    # no points at all
    plot_latent(np.zeros((0, 2)), np.zeros(0, dtype=int), target)
    _assert_png(target)
    assert plt.get_fignums() == []


def test_plot_latent_rejects_mismatched_labels(tmp_path):
    with pytest.raises(EmovaeError):
        plot_latent(np.zeros((3, 2)), [0, 1], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_history_writes_a_png(tmp_path):
    history = []
    for epoch in range(1, 61):
        record = {"epoch": epoch, "recon": 3500.0 / epoch, "kld": 2.0 + 1.0 / epoch,
                  "emo_a": -0.9, "emo_v": -0.8, "val_recon": 300.0 / epoch, "val_kld": 2.1}
        if epoch % 50 == 0:
            record["d_mean_train"] = 90.0
            record["d_heldout"] = {"mean_recall": 93.0, "recall": [93.0] * 4}  # a to_dict()
        record["seconds"] = 2.5
        history.append(record)
    target = tmp_path / "runs" / "history.png"
    plot_history(history, target)
    _assert_png(target)
    plot_history([], tmp_path / "empty.png")  # nothing logged yet: still a picture
    _assert_png(tmp_path / "empty.png")
    assert plt.get_fignums() == []


def test_history_series_reads_numbers_and_logged_accuracy_dicts():
    from emovae.plots import _series

    points = np.array([[1.0, 1.0], [-1.0, 1.0]])
    history = [
        {"epoch": 1, "recon": 10.0},
        {"epoch": 2, "recon": float("nan"), "d_train": quadrant_accuracy(points, [0, 0]).to_dict()},
        {"recon": 8.0},  # no epoch: its position + 1
    ]
    assert _series(history, "recon") == ([1.0, 3.0], [10.0, 8.0])
    assert _series(history, "d_train") == ([2.0], [50.0])
