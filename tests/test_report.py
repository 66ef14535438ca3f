"""``emovae report``: a tiny end-to-end report, and bad input. (Its formulas are tested where they live:
test_evaluate.py, test_novelty.py, test_metrics.py.)"""

import json
import time
import warnings

import numpy as np
import pytest

from emovae.errors import EmovaeError, EmovaeWarning

# ---------------------------------------------------------------------------- a tiny report


@pytest.fixture(scope="module")
def small_root(data_root, tmp_path_factory):
    """Links to 8 real files per emotion (the data stays where it is)."""
    root = tmp_path_factory.mktemp("data")
    for label in ("e1", "e2", "e3", "e4"):
        (root / label).mkdir()
        for f in sorted((data_root / label).glob("*.mid"))[:8]:
            (root / label / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="module")
def run_dirs(small_root, tmp_path_factory):
    """Two tiny CVAE-EmoReg runs (seeds 1, 2), D logged every 2 epochs."""
    from emovae.config import TrainConfig
    from emovae.evaluate import QuadrantLog
    from emovae.model import CVAEConfig
    from emovae.training import train

    base = tmp_path_factory.mktemp("runs")
    out = []
    for seed in (1, 2):
        run = base / f"emoreg_s{seed}"
        train(
            small_root,
            run,
            model_config=CVAEConfig(hidden=32, dense=16),
            progress=False,
            config=TrainConfig(epochs=4, seed=seed, device="cpu", checkpoint_every=4),
            callbacks=[QuadrantLog(every=2)],
        )
        out.append(run)
    return out


@pytest.fixture(scope="module")
def midi_set(small_root, run_dirs, tmp_path_factory):
    """A set laid out as e1..e4: 3 melodies per emotion from the tiny model, and one broken file."""
    from emovae.generation import generate_set

    folder = tmp_path_factory.mktemp("set")
    generate_set(run_dirs[0], folder, n_per_emotion=3, seed=5)
    (folder / "e2" / "broken.mid").write_bytes(b"not a midi file")
    return folder


@pytest.fixture(scope="module")
def fast_classifier():
    """Logistic regression alone: the same code paths without the slow model choice."""
    from emovae import classifier

    with pytest.MonkeyPatch.context() as mp:
        mp.delitem(classifier.CANDIDATES, "hgb")
        yield


@pytest.fixture(scope="module")
def built(small_root, run_dirs, midi_set, tmp_path_factory, fast_classifier):
    """One report through the command line: a model, a set with a broken file, two runs."""
    from emovae import cli

    out = tmp_path_factory.mktemp("reports") / "rep"
    printed = []
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("always")
        mp.setattr(cli, "_one_line_warning", lambda message, category, *a, **k: printed.append((category, message)))
        started = time.perf_counter()
        assert (
            cli.main(
                [
                    "report",
                    "--out",
                    str(out),
                    "--data",
                    str(small_root),
                    "--model",
                    f"tiny={run_dirs[0]}",
                    "--set",
                    f"tiny set={midi_set}",
                    "--runs",
                    f"emoreg={run_dirs[0]},{run_dirs[1]}",
                    "--grid",
                    "5",
                    "-n",
                    "5",
                    "--seed",
                    "3",
                    "--quiet",
                ]
            )
            == 0
        )
        seconds = time.perf_counter() - started
    skipped = [str(m) for c, m in printed if issubclass(c, EmovaeWarning) and "skipped" in str(m)]
    return {
        "out": out,
        "text": (out / "report.md").read_text(),
        "seconds": seconds,
        "skipped": skipped,
        "json": json.loads((out / "results.json").read_text()),
    }


def test_report_has_every_section_and_picture(built):
    text, out = built["text"], built["out"]
    for heading in (
        "## 1. The emotion classifier on real melodies",
        "## 2. Emotion control accuracy",
        "### Continuous valence and arousal over the plane",
        "## 3. Every point a melody",
        "## 4. Novelty and diversity",
        "## 5. Order on unseen melodies and over seeds",
        "### Runs: emoreg (2 runs)",
        "## 6. Closeness to the training set (Table 3)",
    ):
        assert heading in text, heading
    for needle in (
        "| tiny set | 12 (1 skipped) |",
        "**tiny**",
        "identical token sequence",
        "real held-out melodies",
        "within 0.5 sigma",
        "sd (n - 1)",
    ):
        assert needle in text, needle
    for png in ("plane_va_tiny.png", "grid_features_tiny.png", "seeds_emoreg.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG") and f"({png})" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["report.md", "results.json", "plane_va_tiny.png", "grid_features_tiny.png", "seeds_emoreg.png"]
    )
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_the_broken_file_is_skipped_with_one_warning_and_counted(built):
    assert len(built["skipped"]) == 1 and "broken.mid" in built["skipped"][0]
    assert "\n" not in built["skipped"][0]
    s = built["json"]["settings"]["sets"]["tiny set"]
    assert s["read"] == 12 and len(s["skipped"]) == 1 and s["skipped"][0]["path"].endswith("broken.mid")
    assert built["json"]["control"]["tiny set"]["skipped"] == 1


def test_results_json_figures_agree_with_each_other(built):
    r = built["json"]
    cv = r["classifier"]["cross_validation"]
    assert cv["n"] == 32 and sum(map(sum, cv["confusion"])) == 32
    assert cv["accuracy"] == pytest.approx(np.trace(cv["confusion"]) / 32)
    held = r["classifier"]["heldout"]
    assert held["n"] + held["train"] == 32
    assert r["classifier"]["heldout_unseen_tunes"]["n"] + r["classifier"]["heldout_with_twin_in_train"] == held["n"]
    for name, n in (("tiny", 20), ("tiny, fitted sampler", 20), ("tiny set", 12)):
        c = r["control"][name]
        assert c["n"] == n and sum(map(sum, c["confusion"])) == n
        assert c["accuracy"] == pytest.approx(np.trace(c["confusion"]) / n)
    assert [sum(row) for row in r["control"]["tiny"]["confusion"]] == [5, 5, 5, 5]  # asked: 5 of each emotion
    g = r["grid"]["tiny"]
    assert g["n"] == 25 and g["valid"] + g["no_note"] + g["one_pitch"] + g["long_rest"] == 25
    assert 1 <= g["distinct"] <= 25 and g["valid_share"] == pytest.approx(g["valid"] / 25)
    assert set(g["profiles"]) == {"note_density", "mode", "pitch_mean", "pitch_range"}
    assert all(len(p["along_valence"]) == 5 for p in g["profiles"].values())
    cont = r["continuous"]["tiny"]
    assert cont["points"] == 25 and 0 <= cont["valence"]["l1_sign"] <= 2 and 0 <= cont["arousal"]["l1_scaled"] <= 2
    nov = r["novelty"]["tiny"]["emotions"]
    assert set(nov) == {"e1", "e2", "e3", "e4", "all"} and nov["all"]["n"] == 20 and nov["e3"]["n"] == 5
    assert r["novelty"]["tiny set"]["emotions"]["e2"]["n"] == 3
    order = r["order"]["tiny"]
    assert order["train"]["n"] + order["heldout"]["n"] == 32
    assert 0 <= order["heldout"]["token_accuracy"] <= 1
    runs = r["runs"]["emoreg"]
    assert [x["seed"] for x in runs["runs"]] == [1, 2]
    values = [x["heldout"]["token_accuracy"] for x in runs["runs"]]
    assert runs["summary"]["heldout_token_accuracy"]["mean"] == pytest.approx(np.mean(values))
    assert runs["summary"]["heldout_token_accuracy"]["sd"] == pytest.approx(np.std(values, ddof=1))
    # run 1 is also the model: the same figures
    assert runs["runs"][0]["train"]["mean_recall"] == pytest.approx(order["train"]["mean_recall"])
    t3 = r["table3"]
    # the tiny run carries a fitted density: its melodies are drawn by both samplers
    assert r["control"]["tiny"]["sampler"] == "paper" and r["control"]["tiny, fitted sampler"]["sampler"] == "fitted"
    assert r["novelty"]["tiny, fitted sampler"]["emotions"]["all"]["n"] == 20
    assert set(t3["columns"]) == {"training set (all files)", "tiny", "tiny, fitted sampler", "tiny set"}
    assert t3["columns"]["tiny"] != t3["columns"]["tiny, fitted sampler"]
    for name in ("tiny", "tiny, fitted sampler", "tiny set"):
        assert t3["within_count"][name] == sum(v is True for m in t3["within"][name].values() for v in m.values())
    assert t3["cells"] == 16
    assert r["settings"]["grid"] == 5 and r["settings"]["n_per_emotion"] == 5 and r["settings"]["seed"] == 3


def test_the_tiny_report_is_quick(built):
    assert built["seconds"] < 40


# ---------------------------------------------------------------------------- bad input


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the long work starts."""
    from emovae import classifier
    from emovae.report import build

    def forbidden(*args, **kwargs):
        raise AssertionError("the long work started before the input was checked")

    monkeypatch.setattr(classifier, "cross_validate", forbidden)
    monkeypatch.setattr(build, "_compute", forbidden)


@pytest.mark.parametrize("grid", [0, 1, 10_000, 2.5])
def test_bad_grid_sizes_are_one_line_errors_before_any_work(grid, small_root, run_dirs, tmp_path, no_work):
    from emovae.report import report

    with pytest.raises(EmovaeError, match=r"^grid") as info:
        report(tmp_path / "out", models={"m": str(run_dirs[0])}, sets={}, data_root=small_root, grid=grid)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_grid_of_ten_thousand(tmp_path, capsys):
    from emovae.cli import main

    assert main(["report", "--out", str(tmp_path / "out"), "--grid", "10000", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("emovae: error: grid 10000: must be between 2 and 201") and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_bad_counts_seeds_and_out(small_root, run_dirs, tmp_path, no_work):
    from emovae.report import report

    kw = {"models": {"m": str(run_dirs[0])}, "sets": {}, "data_root": small_root}
    with pytest.raises(EmovaeError, match="melodies per emotion 0"):
        report(tmp_path / "out", n_per_emotion=0, **kw)
    with pytest.raises(EmovaeError, match="seed"):
        report(tmp_path / "out", seed=-1, **kw)
    (tmp_path / "file").write_text("x")
    with pytest.raises(EmovaeError, match="not a folder"):
        report(tmp_path / "file", **kw)
    with pytest.raises(EmovaeError, match="runs 'r': expected a list"):
        report(tmp_path / "out", runs={"r": []}, **kw)
    with pytest.raises(EmovaeError, match="name 'm': used for two columns"):
        report(tmp_path / "out", **{**kw, "sets": {"m": str(small_root)}})
    assert not (tmp_path / "out").exists()


def test_set_folders_without_e1_to_e4(small_root, run_dirs, tmp_path, no_work):
    from emovae.report import report

    kw = {"models": {"m": str(run_dirs[0])}, "data_root": small_root}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmovaeError, match=r"set 'x': .*empty: empty folder"):
        report(tmp_path / "out", sets={"x": str(empty)}, **kw)
    other = tmp_path / "other"
    (other / "happy").mkdir(parents=True)
    with pytest.raises(EmovaeError, match="no e1..e4 folder"):
        report(tmp_path / "out", sets={"x": str(other)}, **kw)
    (other / "e1").mkdir()
    with pytest.raises(EmovaeError, match="no .mid files"):
        report(tmp_path / "out", sets={"x": str(other)}, **kw)
    (other / "e1" / "bad.mid").write_bytes(b"junk")
    with (
        pytest.warns(EmovaeWarning, match="bad.mid: skipped"),
        pytest.raises(EmovaeError, match="none of its 1 MIDI files can be read"),
    ):
        report(tmp_path / "out", sets={"x": str(other)}, **kw)
    with pytest.raises(EmovaeError, match="no such folder"):
        report(tmp_path / "out", sets={"x": str(tmp_path / "nowhere")}, **kw)
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_from_another_vocabulary(small_root, tmp_path, no_work):
    from emovae.checkpoint import save_checkpoint
    from emovae.config import TrainConfig
    from emovae.data import Vocabulary
    from emovae.model import CVAE, CVAEConfig
    from emovae.report import report

    vocab = Vocabulary((60, 62, 128, 129))
    ckpt = save_checkpoint(
        tmp_path / "other.pt",
        net=CVAE(CVAEConfig(vocab_size=4, hidden=8, dense=4)),
        vocab=vocab,
        train_config=TrainConfig(),
    )
    with pytest.raises(EmovaeError, match=r"model 'o'.*lacks pitch.*another vocabulary") as info:
        report(tmp_path / "out", models={"o": str(ckpt)}, sets={}, data_root=small_root)
    assert "\n" not in str(info.value)
    with pytest.raises(EmovaeError, match=r"runs 'r'.*another vocabulary"):
        report(tmp_path / "out", models={}, sets={}, runs={"r": [str(ckpt)]}, data_root=small_root)
    with pytest.raises(EmovaeError, match=r"model 'gone'.*no such checkpoint"):
        report(tmp_path / "out", models={"gone": str(tmp_path / "gone.pt")}, sets={}, data_root=small_root)
    assert not (tmp_path / "out").exists()


def test_a_data_set_too_small_for_the_classifier(small_root, tmp_path, no_work):
    from emovae.report import report

    root = tmp_path / "data"
    for label in ("e1", "e2", "e3", "e4"):
        (root / label).mkdir(parents=True)
        for f in sorted((small_root / label).iterdir())[:3]:
            (root / label / f.name).symlink_to(f.resolve())
    with pytest.raises(EmovaeError, match="at least 5 melodies per emotion"):
        report(tmp_path / "out", models={}, sets={}, data_root=root)


def test_nothing_reaches_the_folder_when_a_picture_fails(tmp_path):
    from emovae.report.build import _write

    def good(path, **kw):
        path.write_bytes(b"png")

    def bad(path, **kw):
        raise RuntimeError("no picture")

    with pytest.raises(RuntimeError):
        _write(tmp_path / "new", "# report", {"a": 1}, {"a.png": (good, {}), "b.png": (bad, {})})
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.md").write_text("old report")
    with pytest.raises(RuntimeError):
        _write(old, "# new report", {"a": 1}, {"a.png": (good, {}), "b.png": (bad, {})})
    assert [p.name for p in tmp_path.iterdir()] == ["old"] and (old / "report.md").read_text() == "old report"
    assert [p.name for p in old.iterdir()] == ["report.md"]
    path = _write(old, "# new report", {"x": float("nan")}, {"a.png": (good, {})})
    assert path.read_text() == "# new report" and json.loads((old / "results.json").read_text()) == {"x": None}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_read_set_keeps_silent_melodies_and_skips_broken_files(small_root, tmp_path):
    from emovae.data import REST, read_melody, write_midi
    from emovae.report import read_set

    real = sorted((small_root / "e3").iterdir())[0]
    (tmp_path / "e3").mkdir()
    (tmp_path / "e3" / "a_real.mid").symlink_to(real.resolve())
    write_midi(np.full(64, REST), tmp_path / "e3" / "b_silent.mid")  # a model may generate silence
    (tmp_path / "e3" / "c_broken.mid").write_bytes(b"MThd broken")
    (tmp_path / "e3" / "notes.txt").write_text("not a MIDI file name: ignored")
    with pytest.warns(EmovaeWarning, match=r"c_broken.mid: skipped, cannot be read") as caught:
        s = read_set("s", tmp_path)
    assert len([w for w in caught if issubclass(w.category, EmovaeWarning)]) == 1
    assert s.labels.tolist() == [2, 2] and s.silent == 1
    assert [p.name for p in s.paths] == ["a_real.mid", "b_silent.mid"]
    assert s.tokens[0].tolist() == read_melody(real).tolist() and (s.tokens[1] == REST).all()
    assert [x["path"].rsplit("/", 1)[-1] for x in s.skipped] == ["c_broken.mid"]
