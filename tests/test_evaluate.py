"""Quadrant of a point, quadrant accuracy (recall, precision, overall) and Table 2; reconstruction;
the report's grid over the plane and its statistics (Pearson r, valence/arousal agreement, mean and sd)."""

import json
import math

import numpy as np
import pytest

from emovae.errors import EmovaeError
from emovae.evaluate import (
    PAPER_TABLE2,
    QuadrantAccuracy,
    mean_sd,
    pearson,
    plane_grid,
    quadrant_accuracy,
    quadrant_of,
    reconstruction_accuracy,
    table2_markdown,
    va_agreement,
)


def test_quadrant_of_interior_points():
    pts = [[1.0, 2.0], [-1.0, 2.0], [-1.0, -2.0], [1.0, -2.0]]
    assert quadrant_of(pts).tolist() == [0, 1, 2, 3]


def test_quadrant_of_boundaries_count_as_positive():
    pts = np.array(
        [
            [0.0, 0.0],  # origin -> Q1
            [-0.0, 0.0],  # negative zero is >= 0 -> Q1
            [0.0, -0.0],  # -> Q1
            [-0.0, -1.0],  # x = -0.0 counts as positive -> Q4
            [0.0, -1.0],  # -> Q4
            [-1.0, 0.0],  # -> Q2
            [-1.0, -0.0],  # -> Q2
            [1e-300, -1e-300],  # tiny: signs decide -> Q4
        ]
    )
    assert quadrant_of(pts).tolist() == [0, 0, 0, 3, 3, 1, 1, 3]


def test_quadrant_of_accepts_a_tensor_and_rejects_bad_shapes_and_nan():
    torch = pytest.importorskip("torch")
    z = torch.tensor([[0.5, -0.5], [-0.5, 0.5]], requires_grad=True)
    assert quadrant_of(z).tolist() == [3, 1]
    with pytest.raises(EmovaeError, match=r"shape \(N, 2\)"):
        quadrant_of(np.zeros((3, 3)))
    with pytest.raises(EmovaeError, match="NaN"):
        quadrant_of([[0.0, math.nan]])


def _hand_made_set():
    # label, point; quadrant in the comment
    rows = [
        (0, (1.0, 1.0)),  # Q1 hit
        (0, (2.0, 0.0)),  # Q1 hit (boundary)
        (0, (-1.0, 1.0)),  # Q2 miss
        (0, (1.0, -1.0)),  # Q4 miss
        (1, (-1.0, 1.0)),  # Q2 hit
        (1, (1.0, 1.0)),  # Q1 miss
        (2, (-1.0, -1.0)),  # Q3 hit
        (2, (-2.0, -3.0)),  # Q3 hit
        (2, (-1.0, -0.5)),  # Q3 hit
    ]
    labels = np.array([r[0] for r in rows])
    points = np.array([r[1] for r in rows])
    return points, labels


def test_quadrant_accuracy_exact_values():
    points, labels = _hand_made_set()
    acc = quadrant_accuracy(points, labels)
    assert isinstance(acc, QuadrantAccuracy)
    assert acc.counts.tolist() == [4, 2, 3, 0]
    # recall: e1 2/4, e2 1/2, e3 3/3, e4 absent
    assert acc.recall[:3].tolist() == [50.0, 50.0, 100.0]
    assert math.isnan(acc.recall[3])
    # points per quadrant: Q1 3 (2 e1, 1 e2), Q2 2 (1 e1, 1 e2), Q3 3 (all e3), Q4 1 (e1)
    assert acc.precision[0] == pytest.approx(200.0 / 3.0, abs=1e-12)
    assert acc.precision[1:].tolist() == [50.0, 100.0, 0.0]
    assert acc.overall == pytest.approx(600.0 / 9.0, abs=1e-12)  # 6 of 9 points home
    assert acc.mean_recall == pytest.approx((50.0 + 50.0 + 100.0) / 3.0, abs=1e-12)
    # mean precision over the emotions present (e1..e3): Q4's 0% belongs to no example
    assert acc.mean_precision == pytest.approx((200.0 / 3.0 + 50.0 + 100.0) / 3.0, abs=1e-12)


def test_quadrant_accuracy_nan_precision_for_an_empty_quadrant():
    points = np.array([[1.0, 1.0], [1.0, 2.0], [-1.0, 1.0], [1.0, -1.0]])
    labels = np.array([0, 1, 1, 3])
    acc = quadrant_accuracy(points, labels)
    assert math.isnan(acc.precision[2])  # no point in Q3
    assert math.isnan(acc.recall[2])  # no example labelled e3
    assert acc.precision[[0, 1, 3]].tolist() == [50.0, 100.0, 100.0]
    assert acc.recall[[0, 1, 3]].tolist() == [100.0, 50.0, 100.0]
    assert acc.overall == 75.0
    d = acc.to_dict()
    assert d["precision"][2] is None and d["recall"][2] is None
    assert d["counts"] == [1, 2, 0, 1]
    json.dumps(d, allow_nan=False)  # JSON-friendly: no NaN left


def test_quadrant_accuracy_perfect_and_empty():
    points = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=float)
    acc = quadrant_accuracy(points, [0, 1, 2, 3])
    assert acc.recall.tolist() == [100.0] * 4
    assert acc.precision.tolist() == [100.0] * 4
    assert acc.overall == 100.0 and acc.mean_recall == 100.0
    empty = quadrant_accuracy(np.zeros((0, 2)), np.zeros(0, dtype=int))
    assert np.isnan(empty.recall).all() and np.isnan(empty.precision).all()
    assert math.isnan(empty.overall) and math.isnan(empty.mean_recall)
    assert empty.to_dict()["overall"] is None


def test_quadrant_accuracy_rejects_bad_labels():
    with pytest.raises(EmovaeError, match="0..3"):
        quadrant_accuracy([[1.0, 1.0]], [4])
    with pytest.raises(EmovaeError, match=r"shape \(2,\)"):
        quadrant_accuracy([[1.0, 1.0], [1.0, 1.0]], [0])


def test_table2_markdown_rows_and_columns():
    points, labels = _hand_made_set()
    text = table2_markdown({"ours": quadrant_accuracy(points, labels)})
    lines = text.strip().splitlines()
    assert lines[0] == ("| quadrant | ours recall | ours precision | paper CVAE-Base | paper CVAE-EmoReg |")
    assert lines[2] == "| Q1 (e1 happy) | 50.0 | 66.7 | 24 | 83 |"
    assert lines[5] == "| Q4 (e4 relaxed) | n/a | 0.0 | 25 | 92 |"
    assert lines[6] == "| mean | 66.7 | 72.2 | 23 | 88 |"
    assert lines[7].startswith("| overall | 66.7 | 66.7 |")
    assert len(lines) == 8
    without = table2_markdown({"ours": quadrant_accuracy(points, labels)}, paper=False)
    assert "paper" not in without
    assert PAPER_TABLE2["CVAE-EmoReg"][4] == 88


def test_reconstruction_is_the_argmax_of_the_decoded_mean_with_its_ce_and_kl(tiny_data):
    """The one reconstruction measure (report and sweep): checked against the model's own verbs."""
    import torch

    from emovae.checkpoint import TrainedModel
    from emovae.evaluate import reconstruction
    from emovae.model import CVAE, CVAEConfig

    torch.manual_seed(0)
    net = CVAE(CVAEConfig(hidden=16, dense=8, vocab_size=tiny_data.vocab.size))
    model = TrainedModel(net, tiny_data.vocab)
    raw = tiny_data.vocab.decode(tiny_data.indices[:12])
    labels = tiny_data.labels[:12]
    out = reconstruction(model, raw, labels)
    rebuilt = model.reconstruct(raw, labels)
    assert out["n"] == 12
    assert out["token_accuracy"] == pytest.approx(float((rebuilt == raw).mean()))
    assert out["melody_accuracy"] == pytest.approx(float((rebuilt == raw).all(axis=1).mean()))
    mu, logvar = model.latent(raw, labels)
    kl = np.mean(np.sum(-0.5 * (1 + logvar - mu**2 - np.exp(logvar)), axis=1))
    assert out["kl"] == pytest.approx(float(kl), rel=1e-5)
    with torch.no_grad():
        logits = net.decode(torch.as_tensor(mu), torch.as_tensor(labels)).float()
        logp = torch.log_softmax(logits, -1).numpy()
    idx = tiny_data.indices[:12]
    ce = -np.take_along_axis(logp, idx[..., None], -1).sum() / 12
    assert out["ce"] == pytest.approx(float(ce), rel=1e-5)
    assert math.isnan(reconstruction(model, raw[:0], labels[:0])["token_accuracy"])


def test_reconstruction_accuracy_tokens_and_whole_melodies():
    original = np.array([[60, 129, 128, 62], [64, 64, 64, 64]])
    rebuilt = np.array([[60, 129, 128, 62], [64, 65, 64, 128]])
    out = reconstruction_accuracy(rebuilt, original)
    assert out == {"n": 2, "token_accuracy": 6 / 8, "melody_accuracy": 0.5}
    assert reconstruction_accuracy(np.zeros((0, 4)), np.zeros((0, 4)))["token_accuracy"] == 0.0
    with pytest.raises(EmovaeError, match="one shape"):
        reconstruction_accuracy(original[:, :3], original)


def _untrained(tiny_data):
    import torch

    from emovae.checkpoint import TrainedModel
    from emovae.model import CVAE, CVAEConfig

    torch.manual_seed(0)
    return TrainedModel(CVAE(CVAEConfig(hidden=16, dense=8, vocab_size=tiny_data.vocab.size)), tiny_data.vocab)


def test_split_figures_are_d_and_the_reconstruction_of_each_split(tiny_data):
    """The figures report and sweep share: evaluate_model's D_i beside reconstruction(), per split."""
    from emovae.evaluate import evaluate_model, reconstruction, split_figures

    model = _untrained(tiny_data)
    out = split_figures(model, tiny_data)
    evaluation = evaluate_model(model, data=tiny_data)
    assert list(out) == ["train", "heldout"] == list(evaluation)
    for split, rows in (("train", tiny_data.train_idx), ("heldout", tiny_data.heldout_idx)):
        assert out[split]["accuracy"].to_dict() == evaluation[split].accuracy.to_dict()
        rec = reconstruction(model, tiny_data.vocab.decode(tiny_data.indices[rows]), tiny_data.labels[rows])
        assert {k: v for k, v in out[split].items() if k != "accuracy"} == rec
        assert out[split]["n"] == len(rows)


def test_generated_set_draws_each_emotion_in_turn(tiny_data):
    from emovae.evaluate import generated_set

    model = _untrained(tiny_data)
    tokens, asked = generated_set(model, 2, seed=3)
    assert asked.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    expected = np.concatenate([model.sample(e, 2, seed=3, sampler="paper") for e in range(4)])
    assert np.array_equal(tokens, expected)


# ---------------------------------------------------------------------------- the report's grid and statistics


def test_plane_grid_rows_are_arousal_columns_valence():
    coords, points = plane_grid(3)
    assert coords.tolist() == [-6.0, 0.0, 6.0]
    assert points.tolist() == [[-6, -6], [0, -6], [6, -6], [-6, 0], [0, 0], [6, 0], [-6, 6], [0, 6], [6, 6]]
    assert plane_grid(2, limit=1.0)[1].tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]


def test_pearson_exact_and_undefined():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # cov 1.0 / var 1.25
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert pearson([5], [1]) is None
    with pytest.raises(EmovaeError, match="equal length"):
        pearson([1, 2], [1, 2, 3])


def test_va_agreement_sign_and_linear_scaling():
    # valence: predicted 1 at x = 6, 0 at x = -3; arousal: -1 at y = 0 (counts as +1), 0.5 at y = -6
    out = va_agreement([[1.0, -1.0], [0.0, 0.5]], [[6.0, 0.0], [-3.0, -6.0]], limit=6.0)
    assert out["valence"]["l1_sign"] == pytest.approx((0 + 1) / 2)
    assert out["valence"]["l1_scaled"] == pytest.approx((0 + 0.5) / 2)
    assert out["valence"]["pearson"] == pytest.approx(1.0)
    assert out["arousal"]["l1_sign"] == pytest.approx((2 + 1.5) / 2)
    assert out["arousal"]["l1_scaled"] == pytest.approx((1 + 1.5) / 2)
    assert out["arousal"]["pearson"] == pytest.approx(-1.0)
    with pytest.raises(EmovaeError, match=r"shape \(N, 2\)"):
        va_agreement([[1.0, 0.0]], [[1.0, 0.0], [2.0, 0.0]])


def test_mean_sd_is_the_sample_sd():
    assert mean_sd([1, 2, 3]) == {"n": 3, "mean": 2.0, "sd": 1.0}
    assert mean_sd([4.0, None]) == {"n": 1, "mean": 4.0, "sd": None}
    assert mean_sd([2.0, math.nan, 4.0]) == {"n": 2, "mean": 3.0, "sd": math.sqrt(2.0)}
    assert mean_sd([]) == {"n": 0, "mean": None, "sd": None}
