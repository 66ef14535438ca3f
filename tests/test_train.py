"""Training on a few real files: EmoReg shapes the plane, same seed same result, resume, checkpoints."""

import json

import pytest
import torch

from emovae.checkpoint import load_model as load_checkpoint
from emovae.errors import EmovaeError
from emovae.evaluate import QuadrantLog
from emovae.training import TrainConfig, train


def fit(data, model_config, out=None, **kw):
    cfg = TrainConfig(**{"device": "cpu", "checkpoint_every": 5, **kw})
    return train(
        out_dir=out,
        config=cfg,
        data=data,
        model_config=model_config,
        progress=False,
        callbacks=[QuadrantLog(every=5, out_dir=out)],
    )


def final_accuracy(ckpt):
    return ckpt.history[-1]["d_train"]["mean_recall"]


def test_emoreg_lays_out_the_plane_and_base_does_not(tiny_data, tiny_model):
    # At this tiny size a run can stall with every point in one quadrant (the emotion terms'
    # gradient shrinks as 1/|mu|), so three seeds each; the full-size model does not stall.
    seeds = (33, 1, 5)
    emoreg = [fit(tiny_data, tiny_model, epochs=25, seed=s, weight_arousal=80, weight_valence=70) for s in seeds]
    base = [fit(tiny_data, tiny_model, epochs=25, seed=s, weight_arousal=0, weight_valence=0) for s in seeds]
    best = max(emoreg, key=final_accuracy)
    assert final_accuracy(best) >= 90
    assert max(final_accuracy(b) for b in base) <= final_accuracy(best) - 30
    assert best.history[-1]["emo_a"] < -0.5 and best.history[-1]["emo_v"] < -0.5
    for run in (best, *base):  # the reconstruction improves in both
        assert run.history[-1]["recon"] < 0.6 * run.history[0]["recon"]
    assert "val_recon" in best.history[-1] and "d_heldout" in best.history[-1]


def test_same_seed_same_result_other_seed_other_result(tiny_data, tiny_model):
    a = fit(tiny_data, tiny_model, epochs=2, seed=5)
    b = fit(tiny_data, tiny_model, epochs=2, seed=5)
    c = fit(tiny_data, tiny_model, epochs=2, seed=6)
    for (k, va), vb, _vc in zip(a.net.state_dict().items(), b.net.state_dict().values(), c.net.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(va, vc) for va, vc in zip(a.net.state_dict().values(), c.net.state_dict().values()))


def test_resume_continues_exactly(tiny_data, tiny_model, tmp_path):
    straight = fit(tiny_data, tiny_model, out=tmp_path / "a", epochs=6, checkpoint_every=3)
    fit(tiny_data, tiny_model, out=tmp_path / "b", epochs=3, checkpoint_every=3)
    cfg = TrainConfig(epochs=6, device="cpu")
    resumed = train(out_dir=tmp_path / "b", config=cfg, data=tiny_data, resume=True, progress=False)
    assert resumed.epoch == 6 and len(resumed.history) == 6
    for (k, va), vb in zip(straight.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(va, vb), k
    on_disk = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert on_disk.epoch == 6 and on_disk.train_config.checkpoint_every == 3  # stored config kept
    assert len(json.loads((tmp_path / "b" / "history.json").read_text())) == 6


def test_existing_run_is_not_overwritten(tiny_data, tiny_model, tmp_path):
    fit(tiny_data, tiny_model, out=tmp_path, epochs=1)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(EmovaeError, match="--resume"):
        fit(tiny_data, tiny_model, out=tmp_path, epochs=1)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    with pytest.raises(EmovaeError, match="no checkpoint"):
        train(out_dir=tmp_path / "empty", config=TrainConfig(device="cpu"), data=tiny_data, resume=True)


def test_interrupted_write_leaves_the_previous_checkpoint(tiny_data, tiny_model, tmp_path, monkeypatch):
    fit(tiny_data, tiny_model, out=tmp_path, epochs=1, checkpoint_every=1)
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        train(out_dir=tmp_path, config=TrainConfig(epochs=2, device="cpu"), data=tiny_data, resume=True, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "history.json", "latent"]


def test_checkpoint_carries_what_loading_needs(tiny_data, tiny_model, tmp_path):
    run = fit(tiny_data, tiny_model, out=tmp_path, epochs=1)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck.vocab == tiny_data.vocab and ck.model_config.hidden == 32
    st = ck.state
    assert st.optimizer and st.shuffle_rng is not None and st.noise_rng is not None
    assert len(st.train_idx) + len(st.heldout_idx) == len(tiny_data.labels)
    x = torch.as_tensor(tiny_data.indices[:4])
    e = torch.as_tensor(tiny_data.labels[:4])
    assert torch.equal(ck.net.encode(x, e)[0], run.net.encode(x, e)[0])


def test_bad_checkpoints_are_named(tmp_path):
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EmovaeError, match="junk.pt: not an emovae checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(EmovaeError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(EmovaeError, match="other.pt: not an emovae checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_early_stopping_stops_after_patience_and_checkpoints_there(tiny_data, tiny_model, tmp_path):
    from emovae.training import EarlyStopping

    # the training L_R falls every epoch, so asked to rise ("max") it never improves after the
    # first epoch: the run stops at epoch 1 + patience, with a checkpoint of that epoch
    stopper = EarlyStopping("recon", mode="max", patience=2)
    cfg = TrainConfig(epochs=10, device="cpu", checkpoint_every=5)
    out = tmp_path / "run"
    model = train(out_dir=out, config=cfg, data=tiny_data, model_config=tiny_model, progress=False, callbacks=[stopper])
    assert model.epoch == 3 and stopper.best_epoch == 1
    assert model.history[-1]["early_stop"] == {"key": "recon", "best": model.history[0]["recon"], "best_epoch": 1}
    saved = load_checkpoint(out / "checkpoint.pt")
    assert saved.epoch == 3 and len(json.loads((out / "history.json").read_text())) == 3


def test_early_stopping_reads_a_nested_key_only_where_reported():
    from types import SimpleNamespace

    from emovae.training import EarlyStopping

    stopper = EarlyStopping("d_heldout.mean_recall", mode="max", patience=2, min_delta=0.5)
    trainer = SimpleNamespace()
    rows = [
        {"epoch": 1, "d_heldout": {"mean_recall": 90.0}},
        {"epoch": 2},  # no D this epoch: not counted
        {"epoch": 3, "d_heldout": {"mean_recall": 90.4}},  # within min_delta: no improvement
        {"epoch": 4, "d_heldout": {"mean_recall": 95.0}},  # better: the wait starts again
        {"epoch": 5, "d_heldout": {"mean_recall": 94.0}},
    ]
    for row in rows:
        stopper.on_epoch_end(trainer, row)
    assert stopper.best_epoch == 4 and stopper.best == 95.0 and stopper.waited == 1
    assert not getattr(trainer, "stop_requested", False)
    last = {"epoch": 6, "d_heldout": {"mean_recall": 95.2}}
    stopper.on_epoch_end(trainer, last)
    assert trainer.stop_requested and last["early_stop"] == {
        "key": "d_heldout.mean_recall",
        "best": 95.0,
        "best_epoch": 4,
    }


def test_early_stopping_rejects_bad_settings():
    from emovae.training import EarlyStopping

    with pytest.raises(EmovaeError, match="mode 'up'"):
        EarlyStopping(mode="up")
    with pytest.raises(EmovaeError, match="patience 0"):
        EarlyStopping(patience=0)
