"""The generation commands end to end: generate (formats, --at, --path, --temperature), encode,
transform, interpolate, and their one-line errors."""

import json

import numpy as np
import pytest
from conftest import one_line_error

from emovae.cli import main
from emovae.data import HOLD, REST, read_segments, write_midi


def steps(*notes, length=64):
    out = []
    for pitch, n in notes:
        out += [REST] * n if pitch is None else [pitch] + [HOLD] * (n - 1)
    return np.array(out + [REST] * (length - len(out)), dtype=np.int64)


@pytest.fixture(autouse=True)
def numpy_synth(monkeypatch):
    monkeypatch.setenv("EMOVAE_SYNTH", "numpy")  # fast WAV; FluidSynth is tested in test_render


def test_generate_every_format(tmp_path, capsys):
    assert (
        main(["generate", "--out", str(tmp_path), "--emotion", "happy", "-n", "2", "--format", "midi,svg,wav,musicxml"])
        == 0
    )
    names = sorted(p.name for p in (tmp_path / "e1").iterdir())
    assert names == [f"e1_00{k}.{ext}" for k in (0, 1) for ext in ("mid", "musicxml", "svg", "wav")]
    assert "8 files" in capsys.readouterr().out


def test_generate_temperature_changes_the_melodies_and_zero_is_the_argmax(tmp_path):
    for t in ("0", "1.0"):
        assert main(["generate", "--out", str(tmp_path / t), "--emotion", "sad", "-n", "3", "--temperature", t]) == 0
    cold = [read_segments(p) for p in sorted((tmp_path / "0" / "e3").glob("*.mid"))]
    hot = [read_segments(p) for p in sorted((tmp_path / "1.0" / "e3").glob("*.mid"))]
    assert any(not np.array_equal(a, b) for a, b in zip(cold, hot))


def test_generate_at_warns_about_what_it_would_otherwise_do_silently(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path), "--at=-2,-2", "--emotion", "happy", "-n", "2"]) == 0
    err = capsys.readouterr().err
    assert "2 identical melodies" in err and "a point of Q3 sad" in err
    assert len(list((tmp_path / "e1").glob("*.mid"))) == 2


def test_generate_along_a_path(tmp_path, capsys):
    assert (
        main(
            ["generate", "--out", str(tmp_path), "--path", "happy,sad,relaxed", "--bars", "16", "--format", "midi,svg"]
        )
        == 0
    )
    mid = tmp_path / "path_happy_sad_relaxed_16bars.mid"
    assert read_segments(mid).shape == (4, 64)
    assert (tmp_path / "path_happy_sad_relaxed_16bars.svg").stat().st_size > 1000
    assert (tmp_path / "path_happy_sad_relaxed_16bars.png").stat().st_size > 1000
    assert (
        "happy (+2.0, +2.0) -> happy (+0.0, +0.0) -> sad (-2.0, -2.0) -> relaxed (+2.0, -2.0)"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--path", ""], "empty path"),
        (["--path", "happy,joyful"], "unknown emotion 'joyful'"),
        (["--path", "happy,sad", "--bars", "6"], "multiple of 4"),
        (["--at=9,0"], "off the plane"),
        (["--temperature", "-1"], "a number >= 0"),
        (["--format", "midi,mp3"], "unknown format 'mp3'"),
        (["--emotion", "joyful"], "unknown emotion"),
    ],
)
def test_generate_bad_input(tmp_path, capsys, argv, expected):
    out = tmp_path / "o"
    one_line_error(capsys, ["generate", "--out", str(out), *argv], expected)
    assert not out.exists()


def test_encode_text_json_and_plot(tmp_path, capsys):
    write_midi(np.concatenate([steps((60, 4), (64, 4), (67, 8)), steps((57, 8), (55, 8))]), tmp_path / "a.mid")
    write_midi(steps((62, 16)), tmp_path / "b.mid")
    assert main(["encode", str(tmp_path), "--plot", str(tmp_path / "plane.png")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and "a.mid bars 1-4: valence" in out[0] and "a.mid bars 5-8" in out[1]
    assert (tmp_path / "plane.png").stat().st_size > 1000
    assert main(["encode", str(tmp_path / "b.mid"), "--json", "--emotion", "relaxed"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["placements"][0]["label"] == "e4" and row["placements"][0]["label_given"] is True


def test_transform_and_interpolate(tmp_path, capsys):
    write_midi(steps((60, 4), (64, 4), (67, 8)), tmp_path / "a.mid")
    assert (
        main(
            ["transform", str(tmp_path / "a.mid"), "--to", "sad", "--out", str(tmp_path / "t"), "--format", "midi,wav"]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["a_to_sad.mid", "a_to_sad.wav"]
    assert "(sad)" in capsys.readouterr().out
    assert main(["interpolate", "--steps", "3", "--out", str(tmp_path / "i"), str(tmp_path / "a.mid"), "2,-2"]) == 0
    assert len(list((tmp_path / "i").glob("step_*.mid"))) == 3


def test_encode_and_transform_bad_input(tmp_path, capsys):
    write_midi(steps((20, 32), (100, 32)), tmp_path / "wide.mid")
    one_line_error(capsys, ["encode", str(tmp_path / "wide.mid")], "wide.mid", "cannot be brought")
    silent = tmp_path / "late.mid"
    write_midi(np.concatenate([steps(length=64), steps((60, 16))]), silent)  # notes only in bars 5-8
    one_line_error(capsys, ["encode", str(silent)], "late.mid", "no notes in the first 4 bars")
    one_line_error(
        capsys,
        ["transform", str(tmp_path / "nope.mid"), "--to", "sad", "--out", str(tmp_path / "o")],
        "nope.mid",
        "no such file",
    )
    one_line_error(
        capsys,
        ["transform", str(tmp_path / "wide.mid"), "--to", "joyful", "--out", str(tmp_path / "o")],
        "unknown emotion",
    )
    one_line_error(capsys, ["encode", str(tmp_path / "empty_dir_missing")], "no such file")
    (tmp_path / "empty").mkdir()
    one_line_error(capsys, ["encode", str(tmp_path / "empty")], "no .mid files")
    assert not (tmp_path / "o").exists()
