"""The command line end to end on a tiny configuration, its one-line errors, its help texts, and
its parsing of numbers and points (property-based, hypothesis)."""

import argparse
import math
import os
import subprocess
import sys

import mido
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import emovae
from emovae.checkpoint import load_model as load_checkpoint
from emovae.checkpoint import save_checkpoint
from emovae.cli import args as cli_args
from emovae.cli import build_parser, main
from emovae.data import Vocabulary
from emovae.emotions import PLANE_LIMIT
from emovae.limits import MAX_COUNT, MAX_SEED, MIN_TEMPERATURE


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


# ------------------------------------------------------------------ help texts


def test_help_texts_say_what_happens(capsys):
    assert main(["interpolate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--start=" not in text and "-- -1,2 2,-1" in " ".join(text.split())
    assert main(["generate", "--help"]) == 0
    assert "MIDI only when midi is among them" in " ".join(capsys.readouterr().out.split())


def test_version_and_reproduce_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"emovae {emovae.__version__}"
    assert main(["reproduce", "--help"]) == 0
    text = capsys.readouterr().out
    options = text.split("options:")[1]
    for flag in ("--epochs", "--seed", "--device", "--precision", "--quiet"):
        line = next(line for line in options.splitlines() if line.strip().startswith(flag))
        assert len(line.split()) > 2 or flag == "--precision", line


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------ the command line's numbers and points

texts = st.one_of(
    st.text(max_size=20), st.from_regex(r"\s*[-+]?\d{0,12}(\.\d*)?([eE][-+]?\d{1,3})?\s*", fullmatch=True)
)


@SETTINGS
@given(text=texts)
@example(text="nan")
@example(text="1e999")
@example(text="1_000")
@example(text="٣")
def test_positive_int_parses_or_says_why(text):
    try:
        value = cli_args.positive_int(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc) and "whole number" in str(exc)
        return
    assert isinstance(value, int) and value >= 1 and value == int(text)


@SETTINGS
@given(n=st.integers(-10, 3 * MAX_COUNT))
def test_count_accepts_exactly_one_to_the_limit(n):
    if 1 <= n <= MAX_COUNT:
        assert cli_args.count(str(n)) == n
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="whole number"):
            cli_args.count(str(n))


@SETTINGS
@given(n=st.integers(-(2**40), 2**40))
def test_seed_accepts_exactly_zero_to_the_limit(n):
    if 0 <= n <= MAX_SEED:
        assert cli_args.seed(str(n)) == n
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="from 0 to"):
            cli_args.seed(str(n))


@SETTINGS
@given(text=st.one_of(texts, st.floats(allow_nan=True, allow_infinity=True).map(repr)))
@example(text="1e-320")
@example(text="inf")
@example(text="-0")
def test_temperature_is_zero_or_a_finite_number_from_the_minimum(text):
    try:
        value = cli_args.temperature(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc) and ("number >= 0" in str(exc) or "use 0 (argmax)" in str(exc))
        return
    assert value == float(text) and math.isfinite(value) and (value == 0 or value >= MIN_TEMPERATURE)


coordinates = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-20, 20))


@SETTINGS
@given(v=coordinates, a=coordinates, sep=st.sampled_from([",", ", ", " ,"]))
def test_point_is_two_finite_numbers_on_the_plane(v, a, sep):
    text = f"{v!r}{sep}{a!r}"
    on_plane = all(math.isfinite(float(x)) and abs(float(x)) <= PLANE_LIMIT for x in (v, a))
    if on_plane:
        assert cli_args.point(text) == (float(v), float(a))
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="off the plane"):
            cli_args.point(text)


@SETTINGS
@given(text=st.text(max_size=30))
def test_point_parses_any_text_or_says_why(text):
    try:
        v, a = cli_args.point(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc)
        return
    assert abs(v) <= PLANE_LIMIT and abs(a) <= PLANE_LIMIT


@SETTINGS
@given(count=texts, at=st.text(max_size=12), temperature=texts)
def test_the_parser_accepts_or_fails_with_one_line_and_status_2(capsys, count, at, temperature):
    argv = ["generate", "--out", "o", "-n", count, f"--at={at}", "--temperature", temperature]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        err = capsys.readouterr().err
        assert exc.code == 2 and err.startswith("emovae: error: ") and err.count("\n") == 1, err
        return
    assert 1 <= args.count <= MAX_COUNT and args.temperature >= 0
    assert all(abs(x) <= PLANE_LIMIT for x in args.at)
