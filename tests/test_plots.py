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
    out = plot_latent(points, labels, target, title="CVAE-EmoReg, epoch 50", accuracy=quadrant_accuracy(points, labels))
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
        record = {
            "epoch": epoch,
            "recon": 3500.0 / epoch,
            "kld": 2.0 + 1.0 / epoch,
            "emo_a": -0.9,
            "emo_v": -0.8,
            "val_recon": 300.0 / epoch,
            "val_kld": 2.1,
        }
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
    marked = plot_plane(
        points, labels, tmp_path / "marked.png", marks=marks, mark_labels=["happy 1", "sad 1"], title="generated"
    )
    _assert_png(marked)
    routed = plot_plane(
        points, labels, tmp_path / "path.png", marks=marks, path_points=[[2, 2], [-2, -2], [2, -2]], title="generated"
    )
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
    original = plots._figure._save

    def spy(fig: Figure, path):
        ax = fig.axes[0]
        seen.append((ax.get_xlim(), ax.get_ylim()))
        return original(fig, path)

    monkeypatch.setattr(plots._figure, "_save", spy)  # every picture is written by it
    points, labels = _points(20)
    extent = np.abs(points).max()
    plots.plot_plane(points, labels, tmp_path / "a.png")
    plots.plot_plane(points, labels, tmp_path / "b.png", marks=[[0.5, -9.0]], path_points=[[7.0, 1.0], [0, 0]])
    plots.plot_plane(np.zeros((0, 2)), [], tmp_path / "c.png")
    limits = [np.ravel(s).tolist() for s in seen]  # [x0, x1, y0, y1] per picture
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


# ---------------------------------------------------------------------------- report pictures


def _spy_on_save(monkeypatch):
    """Record each figure's axes just before it is saved."""
    from emovae import plots

    seen = []
    original = plots._figure._save

    def spy(fig, path):
        seen.append(
            [
                {
                    "title": ax.get_title(),
                    "lines": {
                        line.get_label(): {
                            "x": np.asarray(line.get_xdata(), float).tolist(),
                            "y": np.asarray(line.get_ydata(), float).tolist(),
                            "style": line.get_linestyle(),
                            "color": line.get_color(),
                        }
                        for line in ax.lines
                    },
                    "images": [
                        {
                            "array": np.asarray(im.get_array()),
                            "extent": list(im.get_extent()),
                            "origin": im.origin,
                            "clim": im.get_clim(),
                        }
                        for im in ax.images
                    ],
                }
                for ax in fig.axes
            ]
        )
        return original(fig, path)

    monkeypatch.setattr(plots._figure, "_save", spy)  # every picture is written by it
    return seen


def test_plot_va_plane_draws_each_grid_with_valence_across(tmp_path, monkeypatch):
    from emovae.plots import plot_va_plane

    plt.close("all")
    seen = _spy_on_save(monkeypatch)
    coords = np.linspace(-6, 6, 5)
    valence = np.tile(coords / 6, (5, 1))  # row = arousal, column = valence
    arousal = valence.T
    valid = np.ones((5, 5), bool)
    valid[0, 0] = False
    out = plot_va_plane(valence, arousal, tmp_path / "a" / "va.png", valid=valid, title="t")
    _assert_png(out)
    images = [ax["images"][0] for ax in seen[0] if ax["images"]]
    assert len(images) == 3  # valence, arousal, validity
    assert np.array_equal(images[0]["array"], valence) and np.array_equal(images[1]["array"], arousal)
    assert images[0]["extent"] == [-6.0, 6.0, -6.0, 6.0] and images[0]["origin"] == "lower"
    assert images[0]["clim"] == (-1.0, 1.0)
    assert images[2]["array"][0, 0] == 0.0 and images[2]["array"][4, 4] > 0
    plot_va_plane(valence, arousal, tmp_path / "two.png")
    assert len([ax for ax in seen[1] if ax["images"]]) == 2
    assert plt.get_fignums() == []


def test_plot_va_plane_rejects_bad_shapes_before_writing(tmp_path):
    from emovae.plots import plot_va_plane

    with pytest.raises(EmovaeError, match="square"):
        plot_va_plane(np.zeros((2, 3)), np.zeros((2, 3)), tmp_path / "x.png")
    with pytest.raises(EmovaeError, match="differ in shape"):
        plot_va_plane(np.zeros((2, 2)), np.zeros((3, 3)), tmp_path / "x.png")
    with pytest.raises(EmovaeError, match="validity grid"):
        plot_va_plane(np.zeros((2, 2)), np.zeros((2, 2)), tmp_path / "x.png", valid=np.ones((3, 3)))
    assert list(tmp_path.iterdir()) == []


def test_plot_axis_profiles_one_column_per_feature(tmp_path, monkeypatch):
    from emovae.plots import plot_axis_profiles

    seen = _spy_on_save(monkeypatch)
    coords = np.array([-6.0, 0.0, 6.0])
    profiles = {"note_density": ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), "mode": ([0.1, np.nan, 0.3], [0.0, 0.0, 0.0])}
    _assert_png(plot_axis_profiles(coords, profiles, tmp_path / "p.png", title="features"))
    axes = seen[0]
    assert len(axes) == 4
    lines = {ax["title"]: next(iter(ax["lines"].values())) for ax in axes}
    assert lines["note_density along valence"]["y"] == [1.0, 2.0, 3.0]
    assert lines["note_density along arousal"]["y"] == [4.0, 5.0, 6.0]
    assert lines["mode along valence"]["x"] == [-6.0, 0.0, 6.0]
    with pytest.raises(EmovaeError, match="expected 3 values"):
        plot_axis_profiles(coords, {"x": ([1.0], [1.0, 2.0, 3.0])}, tmp_path / "bad.png")
    with pytest.raises(EmovaeError, match="no feature"):
        plot_axis_profiles(coords, {}, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    assert plt.get_fignums() == []


def test_plot_seed_curves_one_colour_per_run_train_solid_heldout_dashed(tmp_path, monkeypatch):
    from emovae.plots import plot_seed_curves

    seen = _spy_on_save(monkeypatch)
    run_a = [{"epoch": e, "recon": 1.0} for e in range(1, 5)]
    for row, d in zip(run_a[1::2], (40.0, 80.0)):
        row["d_train"] = {"mean_recall": d}
        row["d_heldout"] = {"mean_recall": d + 5}
    run_b = [{"epoch": 1, "d_train": 70.0}]
    _assert_png(plot_seed_curves({"s1": run_a, "s2": run_b, "s3": [{"epoch": 1}]}, tmp_path / "c.png", title="t"))
    lines = seen[0][0]["lines"]
    assert lines["s1 (train)"]["x"] == [2.0, 4.0] and lines["s1 (train)"]["y"] == [40.0, 80.0]
    assert lines["s1 (held-out)"]["y"] == [45.0, 85.0] and lines["s2 (train)"]["y"] == [70.0]
    assert lines["s1 (train)"]["style"] == "-" and lines["s1 (held-out)"]["style"] == "--"
    assert lines["s1 (train)"]["color"] == lines["s1 (held-out)"]["color"] != lines["s2 (train)"]["color"]
    assert "s3 (no D logged)" in lines
    _assert_png(plot_seed_curves({}, tmp_path / "none.png"))
    assert plt.get_fignums() == []
