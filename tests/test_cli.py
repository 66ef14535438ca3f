"""The command line end to end on a tiny configuration, and its one-line errors."""

import os
import subprocess
import sys

import mido
import pytest

from emovae.checkpoint import load_model as load_checkpoint
from emovae.checkpoint import save_checkpoint
from emovae.cli import main
from emovae.data import Vocabulary


@pytest.fixture(scope="module")
def small_root(data_root, tmp_path_factory):
    """A data folder of links to 4 real files per emotion (the data stays where it is)."""
    root = tmp_path_factory.mktemp("data")
    for label in ("e1", "e2", "e3", "e4"):
        (root / label).mkdir()
        for f in sorted((data_root / label).glob("*.mid"))[1:5]:
            (root / label / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="module")
def run_dir(small_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "emoreg"
    assert (
        main(
            [
                "train",
                "--data",
                str(small_root),
                "--out",
                str(out),
                "--epochs",
                "3",
                "--hidden",
                "16",
                "--dense",
                "8",
                "--log-every",
                "3",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    return out


def one_line_error(capsys, argv, *expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("emovae: error: ") and "\n" not in err, err
    for text in expected:
        assert text in err, err
    return err


def test_train_evaluate_generate_metrics(run_dir, small_root, tmp_path, capsys):
    assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "latent" / "epoch_0003.png").is_file()
    assert main(["evaluate", str(run_dir), "--data", str(small_root), "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "train split" in out and "heldout split" in out and "Q4 (e4 relaxed)" in out
    assert (tmp_path / "ev" / "latent_train.png").is_file()
    assert main(["generate", str(run_dir), "--out", str(tmp_path / "gen"), "-n", "2", "--seed", "1"]) == 0
    assert len(list((tmp_path / "gen").rglob("*.mid"))) == 8
    assert main(["generate", str(run_dir), "--out", str(tmp_path / "pt"), "--emotion", "sad", "--at=-1,-2"]) == 0
    assert [p.parent.name for p in (tmp_path / "pt").rglob("*.mid")] == ["e3"]
    capsys.readouterr()
    assert main(["metrics", str(tmp_path / "gen"), "--name", "ours", "--no-paper"]) == 0
    table = capsys.readouterr().out
    assert "| metric | emotion | ours |" in table and "pitch" in table.lower()


def test_resume_extends_a_run(run_dir, small_root, capsys):
    assert (
        main(
            [
                "train",
                "--data",
                str(small_root),
                "--out",
                str(run_dir),
                "--epochs",
                "4",
                "--resume",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    assert load_checkpoint(run_dir / "checkpoint.pt").epoch == 4


def test_errors_are_one_line(run_dir, small_root, tmp_path, capsys):
    one_line_error(
        capsys,
        ["generate", str(run_dir), "--out", str(tmp_path / "g"), "--emotion", "joyful"],
        "unknown emotion 'joyful'",
    )
    assert not (tmp_path / "g").exists()
    one_line_error(capsys, ["generate", str(run_dir), "--out", str(tmp_path / "g"), "--at", "20,0"], "off the plane")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    one_line_error(capsys, ["generate", str(bad), "--out", str(tmp_path / "g")], "bad.pt", "not an emovae checkpoint")
    one_line_error(capsys, ["train", "--data", str(small_root), "--out", str(run_dir), "--epochs", "1"], "--resume")


def test_checkpoint_from_another_vocabulary(run_dir, small_root, tmp_path, capsys):
    ck = load_checkpoint(run_dir / "checkpoint.pt")
    narrow = Vocabulary.from_list([t for t in ck.vocab.tokens if t != ck.vocab.pitches[-1]])
    import dataclasses

    from emovae.model import CVAE

    model = CVAE(dataclasses.replace(ck.model_config, vocab_size=narrow.size))
    save_checkpoint(tmp_path / "narrow.pt", net=model, vocab=narrow, train_config=ck.train_config)
    one_line_error(
        capsys,
        ["evaluate", str(tmp_path / "narrow.pt"), "--data", str(small_root)],
        "narrow.pt",
        "vocabulary",
        f"pitch(es) {ck.vocab.pitches[-1]} ",
    )


def write_melody(path, numerator=4, denominator=4):
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0))
    for pitch in (60, 62, 64, 65) * 4:  # 4 bars of quarter notes (a shorter file is padded, with a warning)
        tr.append(mido.Message("note_on", note=pitch, velocity=64, time=0))
        tr.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    mid.tracks.append(tr)
    mid.save(path)


@pytest.mark.parametrize(
    "kind, expected",
    [("corrupt", "not a readable MIDI file"), ("empty", "empty file"), ("waltz", "time signature 3/4")],
)
def test_bad_training_files_are_named(kind, expected, small_root, tmp_path, capsys):
    root = tmp_path / "data"
    for label in ("e1", "e2"):
        (root / label).mkdir(parents=True)
        write_melody(root / label / "ok.mid")
    bad = root / "e2" / f"{kind}.mid"
    if kind == "corrupt":
        bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        write_melody(bad, 3, 4)
    one_line_error(
        capsys,
        [
            "train",
            "--data",
            str(root),
            "--out",
            str(tmp_path / "r"),
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--dense",
            "4",
            "--quiet",
        ],
        f"{kind}.mid",
        expected,
    )
    assert not (tmp_path / "r").exists()


def test_real_process_exit_status_and_no_traceback(tmp_path):
    env = {**os.environ, "EMOVAE_DATA": str(tmp_path / "nowhere")}
    proc = subprocess.run(
        [sys.executable, "-m", "emovae.cli", "train", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "nowhere" in proc.stderr
    usage = subprocess.run([sys.executable, "-m", "emovae.cli", "generate", "--at"], capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.startswith("emovae: error: argument --at")
    assert usage.stderr.strip().count("\n") == 0
    help_text = subprocess.run(
        [sys.executable, "-m", "emovae.cli", "generate", "--help"], capture_output=True, text=True
    ).stdout
    assert "--emotion" in help_text and "--at" in help_text


def test_interrupted_training_resumes(small_root, tmp_path):
    """Ctrl-C during training: exit 130, one line, the last checkpoint intact; --resume goes on."""
    import signal
    import time

    out = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "emovae.cli",
        "train",
        "--data",
        str(small_root),
        "--out",
        str(out),
        "--epochs",
        "100000",
        "--hidden",
        "8",
        "--dense",
        "4",
        "--checkpoint-every",
        "1",
        "--device",
        "cpu",
        "--quiet",
    ]
    # Ctrl-C's default action in the child even where this suite runs as a background job (which ignores SIGINT)
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().startswith("emovae: interrupted") and "\n" not in err.strip(), err
    stopped = load_checkpoint(out / "checkpoint.pt").epoch
    assert stopped >= 1
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert (
        main(
            [
                "train",
                "--data",
                str(small_root),
                "--out",
                str(out),
                "--epochs",
                str(stopped + 2),
                "--resume",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    assert load_checkpoint(out / "checkpoint.pt").epoch == stopped + 2


def test_reproduce_writes_the_report(small_root, tmp_path, capsys):
    from emovae.model import CVAEConfig
    from emovae.reproduction import reproduce

    report = reproduce(
        small_root,
        tmp_path / "rep",
        epochs=2,
        n_per_emotion=2,
        model_config=CVAEConfig(hidden=16, dense=8),
        device="cpu",
        progress=False,
    )
    text = report.read_text()
    for needle in (
        "## Table 2",
        "emovae CVAE-EmoReg recall",
        "paper CVAE-EmoReg",
        "## Table 3",
        "training set (all files)",
        "fig7_cvae_emoreg_final.png",
    ):
        assert needle in text, needle
    for fig in ("fig5_cvae_base_final.png", "fig7_cvae_emoreg_final.png", "history_cvae_emoreg.png"):
        assert (tmp_path / "rep" / "figures" / fig).stat().st_size > 1000
    assert len(list((tmp_path / "rep" / "generated").rglob("*.mid"))) == 16
    # a second call finds both runs finished and only rewrites the report
    before = (tmp_path / "rep" / "cvae_emoreg" / "checkpoint.pt").read_bytes()
    reproduce(small_root, tmp_path / "rep", epochs=2, n_per_emotion=2, device="cpu", progress=False)
    assert (tmp_path / "rep" / "cvae_emoreg" / "checkpoint.pt").read_bytes() == before
