"""The README's examples run as written: the Python block and every generation command line."""

import re
import shlex
import wave
from pathlib import Path

import numpy as np

from emovae.cli import main
from emovae.data import read_melody, read_segments

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
RUN_HERE = ("generate", "encode", "transform", "interpolate")  # quick commands; train/serve/report elsewhere


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(tmp_path, monkeypatch):
    (code,) = blocks("python")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMOVAE_SYNTH", "numpy")
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert len(scope["sad"]) == 4 and all(m.emotion == "sad" for m in scope["sad"])
    assert read_melody(tmp_path / "sad.mid").shape == (64,)
    assert "<svg" in (tmp_path / "sad.svg").read_text()
    with wave.open(str(tmp_path / "sad.wav")) as w:
        assert w.getnframes() / w.getframerate() > 8
    assert scope["calm"].emotion == "relaxed"
    assert len(scope["placed"].points) == 1 and scope["happy"].emotion == "happy"
    assert scope["journey"].bars == 16


def test_command_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMOVAE_SYNTH", "numpy")
    from emovae.api import load

    model = load()
    model.generate("sad", n=1)[0].to_midi(tmp_path / "my.mid")  # the user's own melodies
    model.generate("happy", n=1)[0].to_midi(tmp_path / "a.mid")
    model.generate("angry", n=2)[1].to_midi(tmp_path / "other_folder" / "b.mid")
    lines = [line.split("#")[0].strip() for block in blocks("sh") for line in block.splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("emovae ")]
    run = [argv for argv in commands if argv[0] in RUN_HERE]
    assert [argv[0] for argv in run] == ["generate"] * 4 + ["encode", "transform", "interpolate"]
    for argv in run:
        assert main(argv) == 0, argv
    happy = sorted((tmp_path / "melodies" / "e1").glob("*.mid"))
    assert len(happy) == 5 and len(list((tmp_path / "melodies" / "e3").glob("*.mid"))) == 1
    pitches = [p for f in happy for p in read_melody(f) if p < 128]
    assert np.mean([p % 12 in (0, 2, 4, 5, 7, 9, 11) for p in pitches]) > 0.8  # happy = C major
    assert len(list((tmp_path / "melodies" / "e2").glob("*.wav"))) == 3
    assert read_segments(next((tmp_path / "journey").glob("*.mid"))).shape == (4, 64)
    assert (tmp_path / "where.png").exists() and (tmp_path / "moved" / "my_to_sad.wav").exists()
    assert len(list((tmp_path / "between").glob("*.mid"))) == 8
