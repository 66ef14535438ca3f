"""A corpus of bad (and odd) input, built here, fed to every command that accepts it.

Each case runs the command line in this process (``emovae.cli.main``) and asserts one of two
outcomes (decided per input and command, and stated in the README):

- **error**: exit status 2, exactly one stderr line ``emovae: error: ...`` naming the input
  (the file, folder, checkpoint, value or path), no traceback, nothing left behind (the output
  path absent, the corpus unchanged);
- **read by a stated rule**: exit status 0 and only ``emovae: warning: ...`` lines, one of them
  naming the file and the rule (polyphonic -> its highest line, 2 bars -> padded with rests,
  30 bars -> the first 4 bars for train/evaluate/metrics, 4-bar segments for encode/transform,
  the first segment's point for interpolate); a file whose tempo changes is read in beats
  (rule 3), without a word.

The cases are parametrised as ``input-command``, so a failure names both; the last test prints
the table of inputs x commands (and writes it to $EMOVAE_CORPUS_TABLE when set). One tiny
checkpoint, trained once for the module, serves every command that needs a model; torch runs on
one thread meanwhile (small models on a busy 2-core machine are faster so).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
import pytest
import torch

from emovae.cli import main
from emovae.data import notes_of, read_melody

TABLE: dict[tuple[str, str], str] = {}
COMMANDS = ("generate", "encode", "transform", "interpolate", "evaluate", "metrics", "train", "report")


# ------------------------------------------------------------------ the corpus


def _midi(path: Path, notes, *, signature=(4, 4), channel=0, tempos=(), tpb=480, extra_tracks=()):
    """A MIDI file of (onset step, steps, pitch) notes (16 steps a bar), with meta events."""
    mf = mido.MidiFile(ticks_per_beat=tpb)
    per_step = tpb // 4
    meta = [(0, mido.MetaMessage("time_signature", numerator=signature[0], denominator=signature[1]))]
    meta += [(step * per_step, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for step, bpm in tempos]
    for track_notes in (notes, *extra_tracks):
        events = list(meta) if track_notes is notes else []
        for onset, steps, pitch in track_notes:
            events.append(
                ((onset + steps) * per_step, mido.Message("note_off", note=pitch, velocity=0, channel=channel))
            )
            events.append((onset * per_step, mido.Message("note_on", note=pitch, velocity=64, channel=channel)))
        events.sort(key=lambda e: (e[0], e[1].type != "note_off"))
        track, now = mido.MidiTrack(), 0
        for tick, msg in events:
            track.append(msg.copy(time=tick - now))
            now = tick
        mf.tracks.append(track)
    mf.save(path)


@dataclass
class Corpus:
    root: Path
    good: Path  # data folder: 5 real files per emotion
    tiny: Path  # a 1-epoch tiny checkpoint trained on it
    melody: Path  # one good 4-bar melody
    files: dict = field(default_factory=dict)  # MIDI inputs: name -> path
    data_with: dict = field(default_factory=dict)  # name -> a data folder = good + that file in e1
    folders: dict = field(default_factory=dict)  # folder inputs
    checkpoints: dict = field(default_factory=dict)  # checkpoint inputs
    runs: dict = field(default_factory=dict)  # a run folder holding that checkpoint as checkpoint.pt
    unwritable: Path = None
    taken: Path = None  # an existing file

    def snapshot(self) -> set:
        return {str(p.relative_to(self.root)) for p in self.root.rglob("*")}


def _unwritable(root: Path) -> Path:
    if os.geteuid() != 0:
        locked = root / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked / "out"
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys/emovae-corpus/out")
    os.close(fd)
    os.unlink(name)
    pytest.skip("no unwritable folder available to root here")


@pytest.fixture(scope="module")
def corpus(data_root, tmp_path_factory) -> Corpus:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("corpus")
    good = root / "good"
    for label in ("e1", "e2", "e3", "e4"):
        (good / label).mkdir(parents=True)
        for f in sorted((data_root / label).glob("*.mid"))[1:6]:
            shutil.copy(f, good / label / f.name)
    tiny = root / "tiny_run"
    assert (
        main(
            [
                "train",
                "--data",
                str(good),
                "--out",
                str(tiny),
                "--epochs",
                "1",
                "--hidden",
                "16",
                "--dense",
                "8",
                "--no-validate",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    melody = sorted((good / "e1").glob("*.mid"))[0]
    c = Corpus(root, good, tiny / "checkpoint.pt", melody)

    notes = notes_of(read_melody(melody))  # the good melody's notes: pitches the tiny model knows
    m = root / "midi"
    m.mkdir()
    _midi(m / "whole.mid", notes)
    whole = (m / "whole.mid").read_bytes()
    (m / "truncated.mid").write_bytes(whole[: len(whole) // 2])
    (m / "zero-byte.mid").write_bytes(b"")
    (m / "text.mid").write_text("C D E F G A B: a melody, described in words\n")
    _midi(m / "drums-only.mid", [(4 * k, 2, 36 + k % 3) for k in range(16)], channel=9)
    _midi(
        m / "chords.mid",
        notes,
        extra_tracks=[[(o, d, p - 5) for o, d, p in notes], [(o, d, p - 9) for o, d, p in notes]],
    )
    _midi(m / "waltz-3-4.mid", notes, signature=(3, 4))
    _midi(m / "jig-6-8.mid", notes, signature=(6, 8))
    _midi(m / "2-bars.mid", [(o, min(d, 32 - o), p) for o, d, p in notes if o < 32])
    _midi(m / "30-bars.mid", [(o + 64 * k, d, p) for k in range(8) for o, d, p in notes if o + 64 * k < 480])
    _midi(m / "tempo-changes.mid", notes, tempos=[(0, 60), (16, 140), (32, 90), (48, 200)])
    _midi(m / "pitches-20-and-110.mid", [(0, 16, 20), (16, 16, 110), (32, 16, 20), (48, 16, 110)])
    (m / "whole.mid").unlink()
    c.files = {p.stem: p for p in sorted(m.iterdir())}
    for name, path in c.files.items():
        data = root / "data_with" / name
        shutil.copytree(good, data)
        shutil.copy(path, data / "e1" / path.name)
        c.data_with[name] = data

    nf = root / "no-e-folders"
    (nf / "melodies").mkdir(parents=True)
    shutil.copy(melody, nf / "melodies" / melody.name)
    (root / "empty-folder").mkdir()
    c.folders = {"no-e1..e4-folder": nf, "empty-folder": root / "empty-folder"}

    k = root / "checkpoints"
    k.mkdir()
    blob = c.tiny.read_bytes()
    (k / "truncated.pt").write_bytes(blob[: len(blob) * 2 // 3])
    (k / "random.pt").write_bytes(np.random.default_rng(7).bytes(3000))
    torch.save(torch.nn.GRU(4, 4).state_dict(), k / "foreign.pt")
    torch.save(torch.nn.GRU(4, 4), k / "pickled-module.pt")
    with zipfile.ZipFile(k / "zip-archive.pt", "w") as z:
        z.writestr("weights.txt", "0.1 0.2 0.3")
    c.checkpoints = {p.stem: p for p in sorted(k.iterdir())}
    for name, path in c.checkpoints.items():
        run = root / "runs" / name
        run.mkdir(parents=True)
        shutil.copy(path, run / "checkpoint.pt")
        c.runs[name] = run

    c.unwritable = _unwritable(root)
    c.taken = root / "taken"
    c.taken.write_text("a file where a folder is asked for")
    yield c
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ the cases


@dataclass
class Case:
    input: str
    command: str
    argv: object  # (corpus, out) -> argv
    error: tuple = ()  # fragments of the one error line (besides the input's name)
    ok: bool = False  # exit 0 expected (else exit 2)
    warning: str | None = None  # with ok: a fragment of the expected warning, naming the input
    names: object = None  # (corpus) -> the text the line must contain (default: the input's name)

    @property
    def id(self) -> str:
        return f"{self.input}-{self.command}"


def _tiny_train(data, out):
    return [
        "train",
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--dense",
        "4",
        "--no-validate",
        "--quiet",
        "--device",
        "cpu",
    ]


MIDI_ERRORS = {
    "truncated": "not a readable MIDI file",
    "zero-byte": "empty file",
    "text": "not a readable MIDI file",
    "drums-only": "no notes (drum-channel notes are ignored)",
    "waltz-3-4": "time signature 3/4",
    "jig-6-8": "time signature 6/8",
}
MIDI_READ = {
    "chords": "polyphonic",
    "2-bars": "shorter than 4 bars",
    "30-bars": "longer than 4 bars",
    "tempo-changes": None,
}


def midi_cases():
    for name in [*MIDI_ERRORS, *MIDI_READ, "pitches-20-and-110"]:
        per_file = {
            "encode": lambda c, o, n=name: ["encode", c.files[n], "--model", c.tiny],
            "transform": lambda c, o, n=name: ["transform", c.files[n], "--to", "sad", "--out", o, "--model", c.tiny],
            "interpolate": lambda c, o, n=name: [
                "interpolate",
                c.files[n],
                "2,-2",
                "--steps",
                "3",
                "--out",
                o,
                "--model",
                c.tiny,
            ],
            "evaluate": lambda c, o, n=name: ["evaluate", c.tiny, "--data", c.data_with[n]],
            "metrics": lambda c, o, n=name: ["metrics", c.data_with[n], "--no-paper"],
            "train": lambda c, o, n=name: _tiny_train(c.data_with[n], o),
        }
        for command, argv in per_file.items():
            if name in MIDI_ERRORS:
                yield Case(name, command, argv, error=(MIDI_ERRORS[name],))
            elif name == "pitches-20-and-110":
                if command in ("encode", "transform", "interpolate"):
                    yield Case(name, command, argv, error=("cannot be brought into the model's vocabulary",))
                elif command == "evaluate":
                    yield Case(name, command, argv, error=("lacks pitch(es) 20, 110",), names=lambda c: str(c.tiny))
                else:
                    yield Case(name, command, argv, ok=True)  # metrics measures it; train learns its pitches
            elif name == "30-bars" and command in ("encode", "transform"):
                yield Case(name, command, argv, ok=True)  # read as consecutive 4-bar segments
            elif name == "30-bars" and command == "interpolate":
                yield Case(name, command, argv, ok=True, warning="8 four-bar segments; the point of the first")
            else:
                yield Case(name, command, argv, ok=True, warning=MIDI_READ[name])


def folder_cases():
    for name in ("no-e1..e4-folder", "empty-folder"):
        what = "no .mid files in e1..e4 folders"
        if name == "empty-folder":
            yield Case(
                name,
                "encode",
                lambda c, o, n=name: ["encode", c.folders[n], "--model", c.tiny],
                error=("no .mid files in this folder",),
                names=lambda c, n=name: str(c.folders[n]),
            )
        else:  # encode reads a folder of melodies and its subfolders: no e1..e4 needed
            yield Case(name, "encode", lambda c, o, n=name: ["encode", c.folders[n], "--model", c.tiny], ok=True)
        named = lambda c, n=name: str(c.folders[n])  # noqa: E731
        yield Case(
            name,
            "evaluate",
            lambda c, o, n=name: ["evaluate", c.tiny, "--data", c.folders[n]],
            error=(what,),
            names=named,
        )
        yield Case(
            name, "metrics", lambda c, o, n=name: ["metrics", c.folders[n]], error=("no e1..e4 folder",), names=named
        )
        yield Case(name, "train", lambda c, o, n=name: _tiny_train(c.folders[n], o), error=(what,), names=named)
        yield Case(
            name,
            "report",
            lambda c, o, n=name: [
                "report",
                "--out",
                o,
                "--data",
                c.good,
                "--model",
                f"tiny={c.tiny}",
                "--set",
                f"set={c.folders[n]}",
                "--quiet",
            ],
            error=("e1..e4",) if name == "no-e1..e4-folder" else ("empty folder",),
            names=named,
        )


CHECKPOINT_ERRORS = {
    "truncated": "truncated or damaged",
    "random": "not a PyTorch checkpoint",
    "foreign": "without the 'emovae-checkpoint-1' marker",
    "pickled-module": "pickled Python objects (torch.nn.modules.rnn.GRU) that need code to load",
    "zip-archive": "a zip archive of other files",
}


def checkpoint_cases():
    for name, fragment in CHECKPOINT_ERRORS.items():
        per = {
            "generate": lambda c, o, n=name: ["generate", c.checkpoints[n], "--out", o, "-n", "1"],
            "encode": lambda c, o, n=name: ["encode", c.melody, "--model", c.checkpoints[n]],
            "transform": lambda c, o, n=name: [
                "transform",
                c.melody,
                "--to",
                "sad",
                "--out",
                o,
                "--model",
                c.checkpoints[n],
            ],
            "interpolate": lambda c, o, n=name: ["interpolate", "1,1", "2,-2", "--out", o, "--model", c.checkpoints[n]],
            "evaluate": lambda c, o, n=name: ["evaluate", c.checkpoints[n], "--data", c.good],
            "train": lambda c, o, n=name: ["train", "--data", c.good, "--out", c.runs[n], "--resume", "--quiet"],
            "report": lambda c, o, n=name: [
                "report",
                "--out",
                o,
                "--data",
                c.good,
                "--model",
                f"x={c.checkpoints[n]}",
                "--quiet",
            ],
        }
        for command, argv in per.items():
            names = (
                (lambda c, n=name: str(c.runs[n] / "checkpoint.pt"))
                if command == "train"
                else (lambda c, n=name: c.checkpoints[n].name)
            )
            yield Case(f"{name}.pt", command, argv, error=(fragment,), names=names)


def value_cases():
    joyful = ("unknown emotion 'joyful'",)
    yield Case(
        "emotion 'joyful'",
        "generate",
        lambda c, o: ["generate", c.tiny, "--out", o, "--emotion", "joyful"],
        error=joyful,
        names=lambda c: "joyful",
    )
    yield Case(
        "emotion 'joyful'",
        "encode",
        lambda c, o: ["encode", c.melody, "--model", c.tiny, "--emotion", "joyful"],
        error=joyful,
        names=lambda c: "joyful",
    )
    yield Case(
        "emotion 'joyful'",
        "transform",
        lambda c, o: ["transform", c.melody, "--to", "joyful", "--out", o, "--model", c.tiny],
        error=joyful,
        names=lambda c: "joyful",
    )
    for text in ("nan,0", "1e9,0"):
        label = f"point {text}"
        yield Case(
            label,
            "generate",
            lambda c, o, t=text: ["generate", c.tiny, "--out", o, f"--at={t}"],
            error=("off the plane",),
            names=lambda c, t=text: "nan" if "nan" in t else "1000000000",
        )
        yield Case(
            label,
            "interpolate",
            lambda c, o, t=text: ["interpolate", t, "2,2", "--out", o, "--model", c.tiny],
            error=("off the plane",),
            names=lambda c, t=text: "nan" if "nan" in t else "1000000000",
        )
    for text in ("-3", "100000000"):
        label = f"count {text}"
        named = lambda c, t=text: t  # noqa: E731
        yield Case(
            label,
            "generate",
            lambda c, o, t=text: ["generate", c.tiny, "--out", o, f"--count={t}"],
            error=("whole number",),
            names=named,
        )
        yield Case(
            label,
            "interpolate",
            lambda c, o, t=text: ["interpolate", "1,1", "2,2", f"--steps={t}", "--out", o, "--model", c.tiny],
            names=named,
        )
        flag = "--epochs" if text.startswith("-") else "--hidden"
        yield Case(
            label,
            "train",
            lambda c, o, t=text, f=flag: _tiny_train(c.good, o) + [f"{f}={t}"],
            error=("whole number",),
            names=named,
        )
        yield Case(
            label, "report", lambda c, o, t=text: ["report", "--out", o, "--data", c.good, f"--count={t}"], names=named
        )


def output_cases():
    for label in ("unwritable output", "output is an existing file"):
        fragment = "cannot write there" if label.startswith("unwritable") else "is an existing file"

        def where(c, lab=label):
            return c.unwritable if lab.startswith("unwritable") else c.taken

        named = lambda c, w=where: str(w(c))  # noqa: E731
        yield Case(
            label,
            "generate",
            lambda c, o, w=where: ["generate", c.tiny, "--out", w(c), "-n", "1"],
            error=(fragment,),
            names=named,
        )
        yield Case(
            label,
            "transform",
            lambda c, o, w=where: ["transform", c.melody, "--to", "sad", "--out", w(c), "--model", c.tiny],
            error=(fragment,),
            names=named,
        )
        yield Case(
            label,
            "interpolate",
            lambda c, o, w=where: ["interpolate", "1,1", "2,2", "--out", w(c), "--model", c.tiny],
            error=(fragment,),
            names=named,
        )
        yield Case(
            label,
            "evaluate",
            lambda c, o, w=where: ["evaluate", c.tiny, "--data", c.good, "--out", w(c)],
            error=(fragment,),
            names=named,
        )
        yield Case(label, "train", lambda c, o, w=where: _tiny_train(c.good, w(c)), error=(fragment,), names=named)
        yield Case(
            label,
            "report",
            lambda c, o, w=where: ["report", "--out", w(c), "--data", c.good],
            error=(fragment,),
            names=named,
        )
        plot_fragment = "cannot write there" if label.startswith("unwritable") else "is a file, not a folder"
        yield Case(
            label,
            "encode",
            lambda c, o, w=where: ["encode", c.melody, "--model", c.tiny, "--plot", w(c) / "plane.png"],
            error=(plot_fragment,),
            names=lambda c, w=where: str(w(c) / "plane.png"),
        )


CASES = [*midi_cases(), *folder_cases(), *checkpoint_cases(), *value_cases(), *output_cases()]


# ------------------------------------------------------------------ running them


def _summary(line: str, limit: int = 90) -> str:
    """The message of an ``emovae: error/warning:`` line, paths shortened to their last part."""
    text = line.split(": ", 2)[-1] if line.startswith("emovae: ") else line
    text = re.sub(r"/(?:[^\s/:'()]+/)+([^\s/:'()]*)", r"\1", text).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, corpus, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(a) for a in case.argv(corpus, out)]
    before = corpus.snapshot()
    code = main(argv)  # an unexpected exception fails here, with its traceback
    stdout, stderr = capsys.readouterr()
    lines = [line for line in stderr.splitlines() if line.strip()]
    named = case.names(corpus) if case.names else case.input
    if not case.ok:
        TABLE[(case.input, case.command)] = f"**2**: {_summary(lines[0]) if lines else '?'}"
        assert code == 2, (argv, stdout, stderr)
        assert len(lines) == 1 and lines[0].startswith("emovae: error: "), stderr
        assert "Traceback" not in stderr and named in lines[0], (named, lines[0])
        for fragment in case.error:
            assert fragment in lines[0], (fragment, lines[0])
        assert not out.exists(), "output left behind"
        assert corpus.snapshot() == before, "the corpus changed"
    else:
        warned = [line for line in lines if case.warning and case.warning in line]
        TABLE[(case.input, case.command)] = "0" + (f" + warning: {_summary(warned[0])}" if warned else "")
        assert code == 0, (argv, stderr)
        assert all(line.startswith("emovae: warning: ") for line in lines), stderr
        if case.warning:
            assert warned and named in warned[0], (case.warning, lines)
        else:  # a 1-epoch model may decode a degenerate melody: that warning is about the output, not the input
            assert not [line for line in lines if "written all the same" not in line], lines


def _table_text(table: dict) -> str:
    """The Markdown table of inputs x commands from ``table`` ((input, command) -> cell; "-" where none ran)."""
    inputs = list(dict.fromkeys(case.input for case in CASES))
    rows = ["| input | " + " | ".join(COMMANDS) + " |", "|---|" + "---|" * len(COMMANDS)]
    for name in inputs:
        rows.append(f"| {name} | " + " | ".join(table.get((name, cmd), "-") for cmd in COMMANDS) + " |")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module", autouse=True)
def _corpus_table():
    """After this module's cases ran, in any order or any subset: the table of inputs x commands
    (printed; written to $EMOVAE_CORPUS_TABLE when set)."""
    yield
    text = _table_text(TABLE)
    print("\n" + text)
    if os.environ.get("EMOVAE_CORPUS_TABLE"):
        Path(os.environ["EMOVAE_CORPUS_TABLE"]).write_text(text)


def test_table_has_a_row_per_input_and_a_cell_per_command():
    """The table alone, not relying on which cases ran before it."""
    case = CASES[0]
    lines = _table_text({(case.input, case.command): "**2**: x"}).splitlines()
    inputs = list(dict.fromkeys(c.input for c in CASES))
    assert len(lines) == 2 + len(inputs) and lines[1].count("---|") == 1 + len(COMMANDS)
    assert all(line.count(" | ") == len(COMMANDS) for line in lines[:1] + lines[2:])
    assert "**2**: x" in lines[2 + inputs.index(case.input)]
    assert {(c.input, c.command) for c in CASES} <= {(i, c) for i in inputs for c in COMMANDS}
