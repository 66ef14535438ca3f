"""K models trained as one batched model give the checkpoints of K separate runs."""

import dataclasses

import pytest
import torch

from emovae.batched import group_key, train_batched
from emovae.checkpoint import load_model
from emovae.config import CVAEConfig, TrainConfig
from emovae.errors import EmovaeError
from emovae.training import train

# Float rounding only: the batched GRU sums its products in another order than the C++ pass. Three
# epochs of RMSprop amplify it where a gradient is near zero (a step is about lr = 1e-3 whatever the
# gradient's size, so rounding can flip a tiny one): measured up to 3e-5 here, depending on the
# thread count. A different seed, loss weight or data order moves weights by 1e-3 and more.
TOL = dict(rtol=1e-4, atol=1e-4)


def configs():
    base = TrainConfig(epochs=3, device="cpu", checkpoint_every=3, batch_size=8)
    return [
        dataclasses.replace(base, seed=5),
        dataclasses.replace(base, seed=6, weight_arousal=0.0, weight_valence=0.0),
        dataclasses.replace(base, seed=7, kl_weight=0.5, kl_warmup=2, emotion_warmup=2, free_bits=0.1),
    ]


@pytest.fixture(scope="module")
def alone(tiny_data, tiny_model):
    """Each of :func:`configs` trained as a single run (the default trainer), once for the module."""
    return [train(config=cfg, data=tiny_data, model_config=tiny_model, progress=False) for cfg in configs()]


def assert_same(a, b):
    for (k, va), vb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        torch.testing.assert_close(va, vb, **TOL, msg=k)
    for ra, rb in zip(a.history, b.history):
        for key in ("loss", "recon", "kld", "val_recon", "val_kld"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-4, abs=1e-5), key
        for key in ("emo_a", "emo_v"):  # a cosine of near-zero points: rounding shows more
            assert ra[key] == pytest.approx(rb[key], abs=1e-3), key


def test_batched_models_equal_separate_runs(tiny_data, tiny_model, alone, tmp_path):
    cfgs = configs()
    dirs = [tmp_path / f"run{i}" for i in range(len(cfgs))]
    together = train_batched(tiny_data, cfgs, dirs, model_config=tiny_model, progress=False)
    for cfg, model, d, single in zip(cfgs, together, dirs, alone):
        assert_same(single, model)
        saved = load_model(d / "checkpoint.pt")  # an ordinary checkpoint, with its own settings
        assert saved.epoch == 3 and saved.train_config == cfg
        assert_same(single, saved)
        assert "d_train" in saved.history[-1]


def test_hinge_label_free_and_resume(tiny_data, tmp_path):
    mc = CVAEConfig(hidden=16, dense=8, latent=3, encoder_condition=False)
    base = TrainConfig(
        epochs=4,
        device="cpu",
        checkpoint_every=2,
        batch_size=8,
        emotion_loss="hinge",
        emotion_on_z=True,
        weight_arousal=2.0,
        weight_valence=2.0,
        weight_decay=1e-3,
    )
    cfgs = [  # loss forms differ per model inside one batched model
        dataclasses.replace(base, seed=1),
        dataclasses.replace(base, seed=2, margin=0.5, emotion_on_z=False),
        dataclasses.replace(base, seed=3, emotion_loss="cosine", kl_cycle=2),
    ]
    a_dirs = [tmp_path / f"a{i}" for i in range(3)]
    b_dirs = [tmp_path / f"b{i}" for i in range(3)]
    straight = train_batched(tiny_data, cfgs, a_dirs, model_config=mc, progress=False)
    half = [dataclasses.replace(c, epochs=2) for c in cfgs]
    train_batched(tiny_data, half, b_dirs, model_config=mc, progress=False)
    resumed = train_batched(tiny_data, cfgs, b_dirs, model_config=mc, progress=False)
    for a, b in zip(straight, resumed):
        for va, vb in zip(a.net.state_dict().values(), b.net.state_dict().values()):
            assert torch.equal(va, vb)
    for cfg, model in zip(cfgs, straight):  # the single-model trainer agrees on these recipes too
        assert_same(train(config=cfg, data=tiny_data, model_config=mc, progress=False), model)
    # a single-model run resumes a batched run's checkpoint
    more = dataclasses.replace(cfgs[0], epochs=5)
    cont = train(out_dir=tmp_path / "a0", config=more, data=tiny_data, resume=True, progress=False)
    assert cont.epoch == 5 and len(cont.history) == 5


def test_group_rules(tiny_data, tiny_model):
    a, b = TrainConfig(device="cpu"), TrainConfig(device="cpu", batch_size=32)
    assert group_key(tiny_model, a) != group_key(tiny_model, b)
    assert group_key(tiny_model, a) == group_key(tiny_model, dataclasses.replace(a, seed=9, weight_arousal=1))
    with pytest.raises(EmovaeError, match="must share"):
        train_batched(tiny_data, [a, b], model_config=tiny_model, progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
def test_cuda_graphs_equal_eager(tiny_data, tiny_model):
    cfgs = [dataclasses.replace(c, device="cuda") for c in configs()]
    graphed = train_batched(tiny_data, cfgs, model_config=tiny_model, graphs=True, progress=False)
    eager = train_batched(tiny_data, cfgs, model_config=tiny_model, graphs=False, progress=False)
    for a, b in zip(graphed, eager):
        for va, vb in zip(a.net.state_dict().values(), b.net.state_dict().values()):
            torch.testing.assert_close(va, vb, rtol=1e-4, atol=1e-5)


def test_fused_gru_path_equals_the_loop(tiny_data, tiny_model):
    # "fused" (PyTorch's GRU kernel per model; cuDNN on CUDA) and "loop" (batched products) are
    # two ways to run the same GRUs: the same training up to float rounding
    cfgs = configs()[:2]
    loop = train_batched(tiny_data, cfgs, model_config=tiny_model, rnn="loop", progress=False, track_every=0)
    fused = train_batched(tiny_data, cfgs, model_config=tiny_model, rnn="fused", progress=False, track_every=0)
    for a, b in zip(loop, fused):
        assert_same(a, b)
    with pytest.raises(EmovaeError, match="rnn"):
        train_batched(tiny_data, cfgs, model_config=tiny_model, rnn="cudnn", progress=False)


def test_graph_trainer_behind_train(tiny_data, tiny_model, alone, tmp_path):
    # GraphTrainer (what `emovae train` uses on CUDA) inside training.train: same weights as the
    # default Trainer, the callbacks, checkpoints and resume of train() itself
    from emovae.batched import GraphTrainer
    from emovae.evaluate import QuadrantLog

    cfg, plain = configs()[2], alone[2]
    log = QuadrantLog(every=1, out_dir=tmp_path / "g")
    graph = train(
        out_dir=tmp_path / "g",
        config=cfg,
        data=tiny_data,
        model_config=tiny_model,
        progress=False,
        callbacks=[log],
        trainer_factory=GraphTrainer,
    )
    assert_same(plain, graph)
    assert graph.history[-1]["d_train"]["counts"] and (tmp_path / "g" / "latent" / "epoch_0003.png").is_file()
    half = dataclasses.replace(cfg, epochs=2)
    train(
        out_dir=tmp_path / "h",
        config=half,
        data=tiny_data,
        model_config=tiny_model,
        progress=False,
        trainer_factory=GraphTrainer,
    )
    resumed = train(out_dir=tmp_path / "h", config=cfg, data=tiny_data, resume=True, progress=False)
    assert resumed.epoch == 3 and len(resumed.history) == 3
    assert_same(plain, resumed)
