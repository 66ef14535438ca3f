"""Plain words and honest pictures (issue "honest answers", items 10 and 12)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import emovae
from emovae.cli import main
from emovae.data import HOLD, REST, write_midi
from emovae.errors import EmovaeError


def one_line_error(capsys, argv, *expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("emovae: error: ") and "\n" not in err, err
    for text in expected:
        assert text in err, err
    return err


# ---------------------------------------------------------------------------- 10. misleading text


def test_a_checkpoint_with_pickled_code_is_called_that(tmp_path):
    import os

    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    torch.save({"config": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(EmovaeError) as info:
        emovae.load(tmp_path / "evil.pt")
    assert "pickled Python objects (posix.system)" in str(info.value) and "truncated" not in str(info.value)
    assert pickle  # the legacy format is tested in test_reliability


def test_interpolate_between_emotions(tmp_path, capsys):
    assert main(["interpolate", "happy", "sad", "--out", str(tmp_path / "ip"), "--steps", "3"]) == 0
    assert "(+2.0, +2.0) -> (+0.0, +0.0) -> (-2.0, -2.0)" in capsys.readouterr().out
    one_line_error(
        capsys, ["interpolate", "hapy", "sad", "--out", str(tmp_path / "x")], "hapy: neither a MIDI file, a point"
    )
    one_line_error(capsys, ["interpolate", "gone.mid", "sad", "--out", str(tmp_path / "y")], "gone.mid")


def test_bars_without_path_and_empty_waypoints_are_not_dropped_silently(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "g"), "-n", "1", "--emotion", "sad", "--bars", "8"]) == 0
    out = capsys.readouterr()
    assert "emovae: warning: --bars 8 ignored without --path" in out.err
    assert "wrote 1 file (midi) for 1 melody under" in out.out
    one_line_error(capsys, ["generate", "--out", str(tmp_path / "p"), "--path", "happy,,sad"], "an empty waypoint")
    one_line_error(capsys, ["generate", "--out", str(tmp_path / "q"), "--path", "happy,sad,"], "an empty waypoint")
    assert not (tmp_path / "p").exists()


def test_an_empty_out_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, ["generate", "--out", "", "-n", "1"], "--out: an empty path")
    assert not list(tmp_path.iterdir())


def test_load_of_a_number_and_one_note(tmp_path):
    with pytest.raises(EmovaeError, match=r"emovae.load\(123\): give a checkpoint file"):
        emovae.load(123)
    one = emovae.api.Melody(np.array([60] + [HOLD] * 3 + [REST] * 60))
    assert "1 note," in repr(one)


# ---------------------------------------------------------------------------- 12. pictures that tell


@pytest.fixture
def drawn(monkeypatch):
    import emovae.plots

    calls = []

    def plot_plane(train_points, train_labels, path, **kw):
        calls.append({"n_train": len(train_points), **kw})
        return path

    monkeypatch.setattr(emovae.plots, "plot_plane", plot_plane)
    return calls


def test_plane_titles_marks_and_colours(tmp_path, drawn, monkeypatch, capsys):
    monkeypatch.setenv("EMOVAE_DATA", str(tmp_path / "nowhere"))
    assert main(["generate", "--out", str(tmp_path / "g"), "-n", "2", "--plot"]) == 0
    title = drawn[-1]["title"]
    assert "over the training melodies" not in title and "no training melodies" in title
    assert sorted(set(np.asarray(drawn[-1]["mark_emotions"]).tolist())) == [0, 1, 2, 3]
    mine = tmp_path / "mine.mid"
    write_midi(np.array([60, HOLD, 62, HOLD] * 16), mine)
    assert main(["encode", str(mine), "--emotion", "sad", "--plot", str(tmp_path / "mine.png")]) == 0
    assert drawn[-1]["mark_name"] == "your melodies" and "generated" not in drawn[-1]["title"]
    capsys.readouterr()


# ---------------------------------------------------------------------------- 6. non-UTF-8 file names


def test_a_non_utf8_file_name_is_no_traceback(tmp_path, capsys):
    import os

    name = tmp_path / os.fsdecode(b"m\xffx.mid")
    write_midi(np.array([60, HOLD, 62, HOLD] * 16), name)
    out = tmp_path / "o"
    assert main(["transform", str(name), "--to", "sad", "--out", str(out), "--format", "svg,musicxml"]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".musicxml", ".svg"]
    png = tmp_path / os.fsdecode(b"p\xff.png")
    assert main(["encode", str(name), "--emotion", "sad", "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()


# ---------------------------------------------------------------------------- 7. overwrites


def test_encode_plot_refuses_an_existing_file_without_force(tmp_path, capsys):
    mine = tmp_path / "mine.mid"
    write_midi(np.array([60, HOLD, 62, HOLD] * 16), mine)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    one_line_error(capsys, ["encode", str(mine), "--emotion", "sad", "--plot", str(notes)], "exists", "--force")
    assert notes.read_text() == "my notes"
    assert main(["encode", str(mine), "--emotion", "sad", "--plot", str(notes), "--force"]) == 0
    assert notes.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()


def test_force_never_deletes_a_users_own_melodies(tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["generate", "--out", str(out), "--emotion", "happy", "-n", "2"]) == 0
    write_midi(np.array([60, HOLD, 62, HOLD] * 16), out / "e1" / "mine.mid")
    one_line_error(
        capsys,
        ["generate", "--out", str(out), "--emotion", "happy", "-n", "1", "--force"],
        "e1/mine.mid not written by emovae",
    )
    assert (out / "e1" / "mine.mid").exists() and (out / "e1" / "e1_001.mid").exists()
    assert main(["generate", "--out", str(out), "--emotion", "sad", "-n", "1"]) == 0  # another folder: fine
    capsys.readouterr()


# ---------------------------------------------------------------------------- 11. progress on a terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_long_work_shows_progress_only_on_a_terminal(tmp_path, capsys, monkeypatch, terminal):
    import emovae.cli.output as output

    monkeypatch.setattr(output, "_on_terminal", lambda: terminal)
    for k in range(3):
        write_midi(np.array([60 + k, HOLD, 62, HOLD] * 16), tmp_path / f"m{k}.mid")
    assert main(["encode", str(tmp_path), "--emotion", "sad"]) == 0
    err = capsys.readouterr().err
    assert ("encode:" in err and "/3 [" in err) == terminal, err
    assert main(["generate", "--out", str(tmp_path / "g"), "-n", "2", "--emotion", "sad"]) == 0
    err = capsys.readouterr().err
    assert ("write e3:" in err and "/2 [" in err) == terminal, err
    assert ("generate:" in err and "emotion" in err) == terminal, err  # the decoding too, emotion by emotion


@pytest.mark.parametrize("terminal", [True, False])
def test_reading_a_data_set_shows_progress_only_on_a_terminal(data_root, capsys, monkeypatch, terminal):
    import sys

    from emovae.data import load_dataset

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    ds = load_dataset(data_root)
    err = capsys.readouterr().err
    assert len(ds.labels) == 344 and (f"read {data_root.name}:" in err and "/344 [" in err) == terminal, err
    from emovae.verdict import classifier, clear_cache

    clear_cache()
    assert classifier(data_root)[0] is not None
    assert ("fit the emotion classifier" in capsys.readouterr().err) == terminal
    from emovae.metrics import read_folder

    assert len(read_folder(data_root)[2]) == 93  # e3
    assert (f"read {data_root.name}/e3:" in capsys.readouterr().err) == terminal
