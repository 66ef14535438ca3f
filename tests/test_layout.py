"""One home per concern: presets, the trained-model object, the lazy package, the bundled figures."""

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

import emovae
from emovae.checkpoint import load_model, resolve_checkpoint
from emovae.config import PRESETS, TrainConfig, preset
from emovae.errors import EmovaeError
from emovae.weights import bundled

HEAVY = ("muspy", "matplotlib", "sklearn", "music21", "verovio")


def loaded_after(code: str) -> list[str]:
    """The modules of interest loaded by a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
    probe += f"{('torch', *HEAVY)!r})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return sorted({m.split(".")[0] for m in json.loads(out.strip().splitlines()[-1])})


def test_import_emovae_loads_nothing_heavy():
    assert loaded_after("import emovae") == []
    assert loaded_after("import emovae.cli\nemovae.cli.build_parser()") == []


def test_generate_loads_torch_but_no_muspy_matplotlib_or_sklearn(tmp_path):
    code = f"from emovae.cli import main\nassert main(['generate', '--out', {str(tmp_path)!r}, '-n', '1', '--emotion', 'sad']) == 0"
    assert loaded_after(code) == ["torch"]
    assert len(list((tmp_path / "e3").glob("*.mid"))) == 1


def test_lazy_names_resolve_to_functions_not_modules():
    assert callable(emovae.train) and callable(emovae.generate) and callable(emovae.reproduce)
    generation = importlib.import_module("emovae.generation")  # the submodule must not shadow the function
    assert emovae.generate is generation.generate
    with pytest.raises(AttributeError):
        emovae.no_such_name  # noqa: B018


def test_presets_hold_the_papers_two_configurations():
    emoreg, base = preset("paper-emoreg"), preset("base")
    assert (emoreg.train.weight_arousal, emoreg.train.weight_valence) == (80.0, 70.0)
    assert (base.train.weight_arousal, base.train.weight_valence) == (0.0, 0.0)
    assert emoreg.model == base.model and emoreg.model.hidden == 512
    assert emoreg.train.emotion_regularized and not base.train.emotion_regularized
    assert preset("emoreg", epochs=3).train.epochs == 3
    assert PRESETS["paper-emoreg"].train.epochs == 700  # overriding copies, never mutates
    with pytest.raises(EmovaeError, match="unknown preset 'nope'"):
        preset("nope")
    with pytest.raises(EmovaeError, match="unknown training setting"):
        preset("emoreg", epoch=3)
    assert TrainConfig.from_dict({"epochs": 5, "log_every": 50}).epochs == 5  # old keys are ignored


def test_cli_help_reads_its_defaults_from_the_presets(capsys):
    from emovae.cli import main

    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    from emovae.config import DEFAULT_PRESET, PRESETS

    epochs = PRESETS[DEFAULT_PRESET].train.epochs
    assert (
        "paper-emoreg" in text
        and "paper-base" in text
        and f"--epochs EPOCHS passes over the training split (preset: {epochs})" in text
    )


def test_one_rule_finds_a_checkpoint(tmp_path):
    assert resolve_checkpoint(None) == bundled("plane") == resolve_checkpoint("default") == bundled()
    assert resolve_checkpoint("emoreg") == bundled("emoreg") == resolve_checkpoint("paper-emoreg")
    assert resolve_checkpoint("base") == bundled("base")
    assert resolve_checkpoint(tmp_path) == tmp_path / "checkpoint.pt"
    assert resolve_checkpoint(tmp_path / "x.pt") == tmp_path / "x.pt"
    with pytest.raises(EmovaeError, match="no such checkpoint"):
        load_model(tmp_path)


def test_trained_model_verbs():
    m = load_model("emoreg")
    assert m.title == "CVAE-EmoReg" and m.emotion_regularized and load_model("base").title == "CVAE-Base"
    tokens = m.sample("sad", 6, seed=2)
    assert tokens.shape == (6, 64) and np.array_equal(tokens, m.sample("sad", 6, seed=2))
    z = m.sample_points("sad", 6, seed=2)
    assert np.array_equal(m.decode(z, "sad"), tokens)  # sample = decode(sample_points)
    hot = m.decode(z, "sad", temperature=1.5, seed=1)
    assert np.array_equal(hot, m.decode(z, "sad", temperature=1.5, seed=1)) and not np.array_equal(hot, tokens)
    pts = m.encode(tokens, [2] * 6)
    assert pts.shape == (6, 2)
    for bad in (-1, float("nan"), "hot"):
        with pytest.raises(EmovaeError, match="temperature"):
            m.decode(z, "sad", temperature=bad)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(EmovaeError, match="count"):
            m.sample("sad", bad)


def test_bundled_emoreg_keeps_its_published_figures(data_root):
    """docs/RESULTS.md: 89.7% / 95.8% mean D_i (recall) on the training / held-out split."""
    from emovae.evaluate import evaluate_model

    ev = evaluate_model("emoreg", data_root)
    assert round(ev["train"].accuracy.mean_recall, 1) == 89.7
    assert round(ev["heldout"].accuracy.mean_recall, 1) == 95.8
    base = evaluate_model("base", data_root)
    assert round(base["train"].accuracy.mean_recall, 1) == 23.1
