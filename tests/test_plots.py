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


def test_plot_plane_draws_marks_and_a_path_over_the_training_points(tmp_path):
    from PIL import Image

    from emovae.plots import plot_plane

    plt.close("all")
    points, labels = _points(80)
    plain = plot_plane(points, labels, tmp_path / "a" / "plain.png")
    assert plain == tmp_path / "a" / "plain.png"
    _assert_png(plain)
    marks = np.array([[2.5, 1.5], [-1.0, -2.5]])
    marked = plot_plane(points, labels, tmp_path / "marked.png", marks=marks, mark_labels=["happy 1", "sad 1"],
                        title="generated")
    _assert_png(marked)
    routed = plot_plane(points, labels, tmp_path / "path.png", marks=marks,
                        path_points=[[2, 2], [-2, -2], [2, -2]], title="generated")
    _assert_png(routed)
    images = [np.asarray(Image.open(p).convert("RGB")) for p in (plain, marked, routed)]
    assert images[0].shape[0] > 300 and images[0].shape[1] > 300
    # marks and the path change the picture (compared where the sizes agree)
    for a, b in ((images[0], images[1]), (images[1], images[2])):
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        assert (a[:h, :w] != b[:h, :w]).any(axis=2).mean() > 0.002
    assert plt.get_fignums() == []


def test_plot_plane_limits_include_every_mark(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from emovae import plots

    seen = []
    original = plots._save

    def spy(fig: Figure, path):
        ax = fig.axes[0]
        seen.append((ax.get_xlim(), ax.get_ylim()))
        return original(fig, path)

    monkeypatch.setattr(plots, "_save", spy)
    points, labels = _points(20)
    extent = np.abs(points).max()
    plots.plot_plane(points, labels, tmp_path / "a.png")
    plots.plot_plane(points, labels, tmp_path / "b.png", marks=[[0.5, -9.0]], path_points=[[7.0, 1.0], [0, 0]])
    plots.plot_plane(np.zeros((0, 2)), [], tmp_path / "c.png")
    limits = [np.ravel(s).tolist() for s in seen]   # [x0, x1, y0, y1] per picture
    assert limits[0] == pytest.approx([-1.1 * extent, 1.1 * extent] * 2)
    assert limits[1] == pytest.approx([-9.9, 9.9] * 2)
    assert limits[2] == pytest.approx([-1.0, 1.0] * 2)


def test_plot_plane_rejects_bad_input_before_writing(tmp_path):
    from emovae.plots import plot_plane

    points, labels = _points(8)
    with pytest.raises(EmovaeError, match="2 labels for 1 marks"):
        plot_plane(points, labels, tmp_path / "x.png", marks=[[1.0, 1.0]], mark_labels=["a", "b"])
    with pytest.raises(EmovaeError, match=r"shape \(N, 2\)"):
        plot_plane(points, labels, tmp_path / "x.png", path_points=[1.0, 2.0, 3.0])
    with pytest.raises(EmovaeError):
        plot_plane(points, labels[:3], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
