"""The README's promise at every boundary: output paths checked before any work, counts capped,
the API checking like the CLI, one reading rule for every command, checkpoint errors in plain
words, and a warning (or a clear error) for each thing that would otherwise happen silently."""

import errno
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from conftest import one_line_error

import emovae
from emovae import generation
from emovae.atomic import atomic_path, check_output, stale_temporaries
from emovae.checkpoint import load_model
from emovae.cli import main
from emovae.data import HOLD, REST, read_melody, write_midi
from emovae.errors import EmovaeError, EmovaeWarning
from emovae.limits import MAX_COUNT, MAX_SEED, MIN_TEMPERATURE, check_count, check_seed
from emovae.weights import bundled


@pytest.fixture(autouse=True)
def numpy_synth(monkeypatch):
    monkeypatch.setenv("EMOVAE_SYNTH", "numpy")


def run(capsys, argv):
    """(exit status, stdout, stderr lines) of the CLI run in this process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]


def melody(*notes, length=64):
    out = []
    for pitch, n in notes:
        out += [REST] * n if pitch is None else [pitch] + [HOLD] * (n - 1)
    return np.array(out + [REST] * (length - len(out)), dtype=np.int64)


TUNE = melody((60, 4), (62, 4), (64, 8), (65, 4), (67, 4), (69, 8), (67, 16), (64, 16))


def midi(path, notes, *, signature=(4, 4), channel=0, tpb=480):
    """A one-track MIDI file of (pitch, quarters) notes in a row."""
    mf = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=signature[0], denominator=signature[1])])
    for pitch, quarters in notes:
        tr.append(mido.Message("note_on", note=pitch, velocity=64, channel=channel, time=0))
        tr.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=int(quarters * tpb)))
    mf.tracks.append(tr)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    mf.save(path)
    return Path(path)


def unwritable(tmp_path) -> Path:
    """A folder no file can be created in (as root, chmod is no obstacle: /sys refuses)."""
    if os.geteuid() == 0:
        if Path("/sys").is_dir() and _refuses("/sys"):
            return Path("/sys/emovae-test")
        pytest.skip("no unwritable folder available to root here")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "out"


def _refuses(folder) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(name)
    return False


@pytest.fixture(scope="module")
def tiny_run(data_root, tmp_path_factory):
    """A 1-epoch tiny model on 5 real files per emotion (copied), and its data folder."""
    root = tmp_path_factory.mktemp("data")
    for label in ("e1", "e2", "e3", "e4"):
        (root / label).mkdir()
        for f in sorted((data_root / label).glob("*.mid"))[1:6]:
            shutil.copy(f, root / label / f.name)
    run_dir = tmp_path_factory.mktemp("run") / "tiny"
    assert (
        main(
            [
                "train",
                "--data",
                str(root),
                "--out",
                str(run_dir),
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
    return run_dir, root


# ------------------------------------------------------------------ output paths, before any work


def test_check_output_names_the_problem_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(EmovaeError, match="is an existing file, not a folder"):
        check_output(tmp_path / "file")
    with pytest.raises(EmovaeError, match="file, not a folder"):
        check_output(tmp_path / "file" / "sub")
    with pytest.raises(EmovaeError, match="is a folder; give a file name"):
        check_output(tmp_path, "file", what="--plot")
    assert check_output(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["file"]

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(EmovaeError) as err:
        check_output(tmp_path / "out")
    assert str(err.value) == f"--out {tmp_path / 'out'}: cannot write there ({tmp_path}: Read-only file system)"


def test_atomic_write_failure_is_one_line_and_leaves_nothing(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(EmovaeError, match=r"x.bin: cannot write \(No space left on device\)"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(EmovaeError, match="cannot write"):
        write_midi(TUNE, unwritable(tmp_path) / "x.mid")


def test_train_and_evaluate_refuse_a_bad_out_before_any_work(tiny_run, tmp_path, capsys):
    run_dir, root = tiny_run
    (tmp_path / "taken").write_text("a file")
    started = time.perf_counter()
    # the data folder does not exist: the --out problem is found first, before the data is read
    one_line_error(
        capsys,
        ["train", "--data", tmp_path / "nowhere", "--out", tmp_path / "taken", "--epochs", "1"],
        "taken: is an existing file, not a folder",
    )
    one_line_error(
        capsys, ["train", "--data", root, "--out", unwritable(tmp_path), "--epochs", "1"], "cannot write there"
    )
    one_line_error(
        capsys,
        ["evaluate", tmp_path / "missing.pt", "--data", root, "--out", tmp_path / "taken"],
        "taken: is an existing file",
    )
    one_line_error(capsys, ["evaluate", run_dir, "--data", root, "--out", unwritable(tmp_path)], "cannot write there")
    one_line_error(capsys, ["encode", tmp_path / "missing.mid", "--plot", tmp_path], "--plot", "is a folder")
    assert time.perf_counter() - started < 10
    assert (tmp_path / "taken").read_text() == "a file"


def test_counts_are_capped_before_any_work(tmp_path, capsys):
    started = time.perf_counter()
    one_line_error(capsys, ["generate", "--out", tmp_path / "g", "-n", "100000000"], "at most 100,000")
    one_line_error(capsys, ["generate", "--out", tmp_path / "g", "-n", "0"], "a whole number >= 1")
    one_line_error(capsys, ["train", "--out", tmp_path / "r", "--hidden", "1000000000"], "at most 4,096")
    one_line_error(capsys, ["interpolate", "--steps", "100000", "--out", tmp_path / "i", "1,1", "2,2"], "256")
    assert time.perf_counter() - started < 5 and not (tmp_path / "g").exists()


# ------------------------------------------------------------------ the API checks like the CLI


@pytest.fixture(scope="module")
def model():
    return emovae.load()


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3", None, MAX_COUNT + 1, np.float32(2)])
def test_api_counts(model, n):
    for call in (
        lambda: model.generate("sad", n=n),
        lambda: model.at(1, 1, n=n),
        lambda: generation.generate(model.trained, "sad", n=n),
    ):
        with pytest.raises(EmovaeError) as err:
            call()
        assert "\n" not in str(err.value) and "whole number from 1 to 100,000" in str(err.value)


def test_api_numbers_accept_numpy_scalars(model):
    assert len(model.generate("sad", n=np.int64(2), seed=np.uint32(3))) == 2
    assert model.at(np.float32(1), np.float32(1)).emotion == "happy"
    tokens = generation.generate(model.trained, "happy", n=np.int32(2), at=(np.float32(1), np.float32(1)))
    again = generation.generate(model.trained, "happy", n=2, at=(1.0, 1.0))
    assert tokens.shape == (2, 64) and np.array_equal(tokens, again)  # the default draws its content dimensions
    assert check_count(np.int16(7)) == 7 and check_seed(np.int64(MAX_SEED)) == MAX_SEED


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"seed": -1}, "seed -1"),
        ({"seed": 2.5}, "seed 2.5"),
        ({"seed": MAX_SEED + 1}, "seed"),
        ({"temperature": -1}, "temperature -1"),
        ({"temperature": float("nan")}, "temperature nan"),
        ({"temperature": MIN_TEMPERATURE / 10}, "use 0 (argmax)"),
        ({"temperature": "hot"}, "temperature 'hot'"),
    ],
)
def test_api_seeds_and_temperatures(model, kwargs, expected):
    for call in (
        lambda: model.generate("sad", n=1, **kwargs),
        lambda: model.at(1, 1, **kwargs),
        lambda: model.path(["happy", "sad"], bars=8, **kwargs),
        lambda: model.interpolate((1, 1), (2, 2), 3, **kwargs),
    ):
        with pytest.raises(EmovaeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_api_at_with_temperature_zero_decodes_once(model, monkeypatch):
    calls = []
    decode = type(model.trained)._decode  # the decoding under TrainedModel.decode, after the checks

    def counting(self, z, emotion, *args):
        calls.append(len(z))
        return decode(self, z, emotion, *args)

    monkeypatch.setattr(type(model.trained), "_decode", counting)
    several = model.at(1, -1, n=500)
    assert len(several) == 500 and calls == [1]
    assert all(np.array_equal(m.tokens, several[0].tokens) for m in several)


# ------------------------------------------------------------------ one reading rule everywhere

BAD_FILES = {
    "drums.mid": ("drum-channel notes are ignored", lambda p: midi(p, [(36, 1)] * 16, channel=9)),
    "waltz.mid": ("time signature 3/4", lambda p: midi(p, [(60, 1)] * 12, signature=(3, 4))),
    "jig.mid": ("time signature 6/8", lambda p: midi(p, [(60, 0.5)] * 24, signature=(6, 8))),
    "zero.mid": ("empty file", lambda p: p.write_bytes(b"")),
    "text.mid": ("not a readable MIDI file", lambda p: p.write_text("these are not the notes you are looking for")),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_metrics_train_and_evaluate_read_midi_by_the_same_rule(name, tiny_run, tmp_path, capsys):
    run_dir, good = tiny_run
    expected, make = BAD_FILES[name]
    root = tmp_path / "data"
    shutil.copytree(good, root)
    bad = root / "e1" / name
    make(bad)
    with pytest.raises(EmovaeError) as err:
        read_melody(bad)
    message = f"emovae: error: {err.value}"
    assert expected in message and name in message
    for argv in (
        ["metrics", root],
        ["evaluate", run_dir, "--data", root],
        ["train", "--data", root, "--out", tmp_path / "r", "--epochs", "1", "--hidden", "8", "--dense", "4", "--quiet"],
    ):
        code, _, err_lines = run(capsys, argv)
        assert code == 2 and err_lines == [message], (argv[0], err_lines)
    assert not (tmp_path / "r").exists()


def test_metrics_warns_where_a_rule_reads_the_file(tmp_path, capsys):
    root = tmp_path / "set"
    write_midi(TUNE, root / "e1" / "four.mid")
    midi(root / "e1" / "two.mid", [(60, 1), (64, 1), (67, 2)] * 2)  # 2 bars: padded
    midi(root / "e2" / "thirty.mid", [(60 + k % 12, 1) for k in range(120)])  # 30 bars: first 4 read
    write_midi(np.full(64, REST), root / "e3" / "silent.mid")  # no notes: silence
    code, out, err = run(capsys, ["metrics", root, "--no-paper"])
    assert code == 0, err
    assert sorted(err) == sorted(
        [
            f"emovae: warning: {root / 'e1' / 'two.mid'}: shorter than 4 bars (2 bars); padded with rests to 4 bars",
            f"emovae: warning: {root / 'e2' / 'thirty.mid'}: longer than 4 bars (30 bars); only its first 4 bars are "
            "read (104 notes after bar 4 dropped)",
            f"emovae: warning: {root / 'e3' / 'silent.mid'}: no notes; measured as a silent melody (range 0, no pitches)",
        ]
    )
    # e2 is the first 16 notes only: 60..71 then 60..63 -> range 11, 12 pitches
    assert "|  | e2 | 11.00 (0.00) |" in out and "|  | e2 | 12.00 (0.00) |" in out
    assert "|  | e3 | 0.00 (0.00) |" in out


def test_a_melody_written_with_a_silent_last_bar_reads_back_without_a_warning(tmp_path):
    tokens = melody((60, 8), (62, 8), (64, 16))  # notes end at step 32, rests to 64
    write_midi(tokens, tmp_path / "m.mid")
    assert len(mido.MidiFile(tmp_path / "m.mid").tracks[1]) and _length_in_ticks(tmp_path / "m.mid") == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_melody(tmp_path / "m.mid").tolist() == tokens.tolist()


def _length_in_ticks(path) -> int:
    return max(sum(msg.time for msg in track) for track in mido.MidiFile(path).tracks)


# ------------------------------------------------------------------ checkpoints in plain words


def _checkpoints(folder: Path) -> dict[str, Path]:
    data = bundled("emoreg").read_bytes()
    files = {
        "truncated.pt": data[: len(data) // 2],
        "random.pt": np.random.default_rng(1).bytes(4000),
        "empty.pt": b"",
        "text.pt": b"model weights, honest",
    }
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    torch.save(torch.nn.Linear(2, 2), folder / "module.pt")
    torch.save(torch.nn.Linear(2, 2).state_dict(), folder / "foreign.pt")
    with zipfile.ZipFile(folder / "archive.pt", "w") as z:
        z.writestr("readme.txt", "hello")
    torch.save({"format": "emovae-checkpoint-1", "vocab": [128, 129]}, folder / "hollow.pt")
    return {p.name: p for p in folder.iterdir()}


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "truncated.pt",
            "truncated or damaged (a PyTorch checkpoint that cannot be read to its end; copy or download it again)",
        ),
        ("random.pt", "not an emovae checkpoint (not a PyTorch checkpoint file at all)"),
        ("text.pt", "not an emovae checkpoint (not a PyTorch checkpoint file at all)"),
        ("empty.pt", "an empty file, not a checkpoint"),
        (
            "module.pt",
            "holds pickled Python objects (torch.nn.modules.linear.Linear) that need code to load; emovae "
            "loads only its own checkpoints of plain data (not an emovae checkpoint)",
        ),
        (
            "foreign.pt",
            "not an emovae checkpoint (a PyTorch file without the 'emovae-checkpoint-1' marker: someone else's model?)",
        ),
        ("archive.pt", "not an emovae checkpoint (not a PyTorch checkpoint file: a zip archive of other files)"),
        ("hollow.pt", "a damaged emovae checkpoint (no 'model_config' entry)"),
    ],
)
def test_checkpoint_errors_in_plain_words(tmp_path, capsys, name, expected):
    path = _checkpoints(tmp_path)[name]
    with pytest.raises(EmovaeError) as err:
        load_model(path)
    assert str(err.value) == f"{path}: {expected}"
    line = one_line_error(capsys, ["generate", path, "--out", tmp_path / "g"], expected)
    assert "\x1b" not in line and "Weights only" not in line and "weights_only" not in line
    assert not (tmp_path / "g").exists()


def test_a_folder_without_a_checkpoint(tmp_path):
    with pytest.raises(EmovaeError, match="a folder without checkpoint.pt"):
        load_model(tmp_path)


# ------------------------------------------------------------------ reused output folders and --force


def test_generate_refuses_a_reused_folder_and_force_clears_only_its_files(tmp_path, capsys):
    out = tmp_path / "g"
    assert run(capsys, ["generate", "--out", out, "--emotion", "happy", "-n", "4", "--format", "midi,wav"])[0] == 0
    (out / "e1" / "my notes.txt").write_text("mine")
    (out / "e1" / ".e1_009.mid.abcd1234.tmp").write_bytes(b"left by a killed run")
    (out / "keep.mid").write_bytes(b"not emovae's")
    assert run(capsys, ["generate", "--out", out, "--emotion", "sad", "-n", "1"])[0] == 0  # another folder: fine
    err = one_line_error(
        capsys,
        ["generate", "--out", out, "--emotion", "happy", "-n", "2"],
        "holds files of an earlier run (e1/",
        "pass --force",
    )
    assert "and 8 more" in err  # 4 .mid + 4 .wav + the temporary
    assert run(capsys, ["generate", "--out", out, "--emotion", "happy", "-n", "2", "--force"])[0] == 0
    assert sorted(p.name for p in (out / "e1").iterdir()) == ["e1_000.mid", "e1_001.mid", "my notes.txt"]
    assert (out / "keep.mid").exists() and len(list((out / "e3").glob("*.mid"))) == 1
    code, _, _ = run(capsys, ["metrics", out, "--no-paper"])
    assert code == 0


def test_force_keeps_the_earlier_files_when_the_new_run_fails(tmp_path, capsys):
    out = tmp_path / "g"
    assert run(capsys, ["generate", "--out", out, "--emotion", "relaxed", "-n", "3"])[0] == 0
    before = sorted(p.name for p in (out / "e4").iterdir())
    one_line_error(
        capsys,
        ["generate", "--out", out, "--emotion", "relaxed", "-n", "1", "--force", "--format", "midi,mp3"],
        "unknown format",
    )
    one_line_error(
        capsys,
        ["generate", tmp_path / "missing.pt", "--out", out, "--emotion", "relaxed", "--force"],
        "no such checkpoint",
    )
    assert sorted(p.name for p in (out / "e4").iterdir()) == before


def test_transform_interpolate_evaluate_and_report_refuse_reuse(tiny_run, tmp_path, capsys, monkeypatch):
    run_dir, root = tiny_run
    write_midi(TUNE, tmp_path / "a.mid")
    for argv in (
        ["transform", tmp_path / "a.mid", "--to", "sad", "--out", tmp_path / "t"],
        ["interpolate", "--steps", "3", "--out", tmp_path / "i", tmp_path / "a.mid", "2,-2"],
        ["evaluate", run_dir, "--data", root, "--out", tmp_path / "e"],
    ):
        assert run(capsys, argv)[0] == 0
        one_line_error(capsys, argv, "holds files of an earlier run", "--force")
    assert run(capsys, ["transform", tmp_path / "a.mid", "--to", "happy", "--out", tmp_path / "t"])[0] == 0  # other
    assert run(capsys, ["interpolate", "--steps", "2", "--force", "--out", tmp_path / "i", "1,1", "2,2"])[0] == 0
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == ["step_000.mid", "step_001.mid"]

    import emovae.report

    def fake_report(out_dir, **kwargs):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "report.md").write_text("# report")
        return Path(out_dir) / "report.md"

    monkeypatch.setattr(emovae.report, "report", fake_report)
    rep = tmp_path / "rep"
    assert run(capsys, ["report", "--out", rep])[0] == 0
    (rep / "plane_va_old_model.png").write_bytes(b"png of a model no longer asked for")
    (rep / "notes.md").write_text("mine")
    one_line_error(
        capsys, ["report", "--out", rep], "holds files of an earlier run (plane_va_old_model.png and 1 more)"
    )
    assert run(capsys, ["report", "--out", rep, "--force"])[0] == 0
    assert sorted(p.name for p in rep.iterdir()) == ["notes.md", "report.md"]


# ------------------------------------------------------------------ no silent surprises


def test_resume_past_the_asked_epochs_says_nothing_to_do(tiny_run, tmp_path, capsys):
    run_dir, root = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = (copy / "checkpoint.pt").read_bytes()
    code, out, err = run(capsys, ["train", "--data", root, "--out", copy, "--epochs", "2", "--resume", "--quiet"])
    assert code == 0 and out.startswith("nothing to do: 3 epochs already")
    assert err == [f"emovae: warning: {copy}: already trained 3 epochs, past --epochs 2; nothing to do"]
    code, out, err = run(capsys, ["train", "--data", root, "--out", copy, "--resume", "--quiet", "--lr", "0.5"])
    assert code == 0 and "nothing to do" in out
    assert err[0].startswith("emovae: warning: --lr ignored with --resume") and "at its 3 epochs" in err[1]
    assert (copy / "checkpoint.pt").read_bytes() == before


def test_training_on_one_emotion_warns(tiny_run, tmp_path, capsys):
    _, good = tiny_run
    root = tmp_path / "only_sad"
    shutil.copytree(good / "e3", root / "e3")
    code, _, err = run(
        capsys,
        [
            "train",
            "--data",
            root,
            "--out",
            tmp_path / "r",
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--dense",
            "4",
            "--quiet",
            "--no-validate",
        ],
    )
    assert code == 0
    assert err == [
        f"emovae: warning: {root}: no melodies of e1 happy, e2 angry, e4 relaxed (folder absent or "
        "empty); the model is trained on e3 sad only and will not learn the emotions it never saw"
    ]


def test_ctrl_c_before_the_first_checkpoint_says_there_is_nothing_to_resume(tiny_run, tmp_path, capsys, monkeypatch):
    _, root = tiny_run
    import emovae.training.loop

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(emovae.training.loop, "encode_dataset", interrupted)  # train() calls it from there
    code, _, err = run(capsys, ["train", "--data", root, "--out", tmp_path / "r", "--epochs", "1", "--quiet"])
    assert code == 130
    assert err == [
        "emovae: interrupted before the first checkpoint; nothing to resume (start it again without --resume)"
    ]


def test_generate_warns_about_what_it_ignores(tmp_path, capsys):
    code, _, err = run(capsys, ["generate", "--out", tmp_path / "a", "--at=1,-1", "--seed", "5"])
    assert code == 0 and err == [
        "emovae: warning: --seed has no effect at one point with --temperature 0 (argmax: the point fixes the melody)"
    ]
    code, _, err = run(capsys, ["generate", "--out", tmp_path / "p", "--path", "happy,sad", "--bars", "8", "-n", "3"])
    assert code == 0 and len(err) == 1 and err[0].startswith("emovae: warning: -n ignored with --path")


def test_melodies_without_notes_are_named_in_one_warning(tmp_path):
    from emovae.api import Melody
    from emovae.cli.output import write_melodies

    silent = [Melody(np.full(64, REST), (0,), ((1.0, 1.0),), f"e1_{k:03d}") for k in range(5)]
    flat = Melody(melody((60, 4), (60, 4)), (0,), ((1.0, 1.0),), "e1_005")
    with pytest.warns(EmovaeWarning) as records:
        paths = write_melodies([*silent, flat, Melody(TUNE, name="ok")], tmp_path, ["midi"])
    assert [str(r.message) for r in records] == [
        "6 melodies without notes or with a single pitch: e1_000 (no notes), e1_001 (no notes), e1_002 (no notes) "
        "and 3 more; written all the same"
    ]
    assert len(paths) == 7


def test_stale_temporaries_are_only_atomic_leftovers(tmp_path):
    for name in (
        ".checkpoint.pt.ab12cd34.tmp",
        ".x.mid.zz_99xyz.tmp",
        ".mine.tmp",
        "visible.ab12cd34.tmp",
        ".history.json.toolong123.tmp",
    ):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in stale_temporaries(tmp_path)] == [".checkpoint.pt.ab12cd34.tmp", ".x.mid.zz_99xyz.tmp"]
