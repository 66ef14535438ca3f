"""A diverged run stops with one line and leaves its last finite checkpoint; a checkpoint whose
weights are not finite is neither written nor loaded; in a batch a diverged run stops alone."""

import contextlib
import io
import json
import warnings

import numpy as np
import pytest
import torch

from emovae.batched import BatchedTrainer, train_batched
from emovae.checkpoint import load_model, resolve_checkpoint
from emovae.cli import main
from emovae.data import HOLD, REST, write_midi
from emovae.errors import EmovaeError, EmovaeWarning
from emovae.evaluate import QuadrantLog
from emovae.training import TrainConfig, train


def _train(data, model_config, out, **kw):
    cfg = TrainConfig(**{"device": "cpu", "checkpoint_every": 1, "epochs": 4, "seed": 0, **kw})
    return train(
        out_dir=out,
        config=cfg,
        data=data,
        model_config=model_config,
        resume=(out / "checkpoint.pt").exists(),
        progress=False,
        callbacks=[QuadrantLog(every=1)],  # it would stop on "latent point 0 is NaN" if it saw the diverged epoch
    )


def _finite(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.net.parameters())


def test_a_diverged_run_stops_with_one_line_and_keeps_its_last_finite_checkpoint(tiny_data, tiny_model, tmp_path):
    # lr 1: epoch 1 ends finite, epoch 2's loss is NaN (no held-out pass, which is NaN at once)
    ckpt = tmp_path / "checkpoint.pt"
    line = f"training diverged at epoch 2 (loss nan): lower --lr (now 1) and train again; {ckpt} keeps epoch 1"
    with pytest.raises(EmovaeError) as excinfo:
        _train(tiny_data, tiny_model, tmp_path, lr=1.0, validate=False)
    assert str(excinfo.value) == line
    kept = load_model(ckpt)
    assert kept.epoch == 1 and _finite(kept) and len(kept.history) == 1
    assert [row["epoch"] for row in json.loads((tmp_path / "history.json").read_text())] == [1]
    # the state left resumes, to the same point (same seed, same result)
    with pytest.raises(EmovaeError) as excinfo:
        _train(tiny_data, tiny_model, tmp_path, lr=1.0, validate=False)
    assert str(excinfo.value) == line
    assert load_model(ckpt).epoch == 1


def test_a_run_diverged_before_its_first_checkpoint_writes_none(tiny_data, tiny_model, tmp_path):
    # with the held-out pass, lr 1 is NaN there at epoch 1 already
    with pytest.raises(EmovaeError) as excinfo:
        _train(tiny_data, tiny_model, tmp_path, lr=1.0)
    assert str(excinfo.value) == (
        "training diverged at epoch 1 (val_recon nan): lower --lr (now 1) and train again; no checkpoint was written"
    )
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "history.json").exists()
    with pytest.raises(EmovaeError, match="no checkpoint.pt to resume from"):
        train(out_dir=tmp_path, data=tiny_data, resume=True, progress=False)
    # a learning rate that trains is untouched by the check
    model = _train(tiny_data, tiny_model, tmp_path / "fine", epochs=2)
    assert model.epoch == 2 and _finite(model)


def _nan_checkpoint(tmp_path, value=float("nan")):
    payload = torch.load(resolve_checkpoint("emoreg"), map_location="cpu", weights_only=True)
    name = next(iter(payload["model"]))
    payload["model"][name].view(-1)[3] = value
    path = tmp_path / "diverged.pt"
    torch.save(payload, path)
    return path, name


def test_a_checkpoint_with_non_finite_weights_is_refused(tmp_path):
    for value in (float("nan"), float("inf")):
        path, name = _nan_checkpoint(tmp_path, value)
        with pytest.raises(EmovaeError) as excinfo:
            load_model(path)
        assert str(excinfo.value) == (
            f"{path}: weight {name} holds NaN or infinite values (a diverged training run); "
            "no model can be used from this checkpoint"
        )
    # and no command takes it: one line, exit 2
    melody = np.array([60, HOLD, 62, HOLD, 64] + [REST] * 59)
    write_midi(melody, tmp_path / "tune.mid")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["encode", str(tmp_path / "tune.mid"), "--model", str(path)])
    assert status == 2 and err.getvalue() == f"emovae: error: {excinfo.value}\n"


def test_a_model_with_non_finite_weights_is_not_written(tmp_path):
    model = load_model("emoreg")
    with torch.no_grad():
        next(model.net.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(EmovaeError, match="not written: weight .* holds NaN or infinite values"):
        model.save(tmp_path / "x.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_run_of_a_batch_stops_alone(tiny_data, tiny_model, tmp_path, monkeypatch):
    cfgs = [TrainConfig(device="cpu", epochs=3, checkpoint_every=1, seed=s) for s in (0, 1)]
    clean = train_batched(tiny_data, cfgs, model_config=tiny_model, progress=False, track_every=0)

    original = BatchedTrainer.train_epoch

    def poisoned(self):  # run 2's weights blow up during epoch 2
        rows = original(self)
        if self.epoch == 2:
            with torch.no_grad():
                self.model.stacked[0][1].view(-1)[0] = float("nan")
        return rows

    monkeypatch.setattr(BatchedTrainer, "train_epoch", poisoned)
    dirs = [tmp_path / "a", tmp_path / "b"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models = train_batched(tiny_data, cfgs, dirs, model_config=tiny_model, progress=False, track_every=0)
    lines = [str(w.message) for w in caught if issubclass(w.category, EmovaeWarning)]
    assert lines == [
        f"{dirs[1]}: training diverged at epoch 2 (val_recon nan): lower lr (now 0.001); this run stopped, "
        f"the others go on; {dirs[1] / 'checkpoint.pt'} keeps epoch 1"
    ]
    # the other run trained on as if alone in the batch
    assert models[0].epoch == 3 and models[0].diverged is None
    for a, b in zip(models[0].net.parameters(), clean[0].net.parameters()):
        assert torch.equal(a, b)
    # the diverged one is handed back as at its last finite epoch, marked, and its folder keeps that epoch
    assert models[1].diverged is not None and models[1].diverged.startswith("training diverged at epoch 2")
    assert models[1].epoch == 1 and len(models[1].history) == 1 and _finite(models[1])
    kept = load_model(dirs[1] / "checkpoint.pt")
    assert kept.epoch == 1 and len(json.loads((dirs[1] / "history.json").read_text())) == 1
    for a, b in zip(models[1].net.parameters(), kept.net.parameters()):
        assert torch.equal(a, b)
    assert load_model(dirs[0] / "checkpoint.pt").epoch == 3
