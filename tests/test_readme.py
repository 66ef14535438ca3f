"""The README's examples run as written (the Python block and the `emovae generate` lines)."""
import re
import shlex
from pathlib import Path

import muspy
import numpy as np

from emovae.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(tmp_path, monkeypatch):
    (code,) = blocks("python")
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["tokens"].shape == (4, 64)
    assert muspy.read_midi(tmp_path / "relaxed.mid").tracks[0].notes
    assert scope["points"].shape == (1, 64)


def test_generate_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [line.split("#")[0].strip() for block in blocks("sh") for line in block.splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("emovae generate")]
    assert len(commands) == 2
    for argv in commands:
        assert main(argv) == 0
    happy = sorted((tmp_path / "melodies" / "e1").glob("*.mid"))
    sad = sorted((tmp_path / "melodies" / "e3").glob("*.mid"))
    assert len(happy) == 5 and len(sad) == 1
    pitches = [n.pitch for f in happy for n in muspy.read_midi(f).tracks[0].notes]
    assert np.mean([p % 12 in (0, 2, 4, 5, 7, 9, 11) for p in pitches]) > 0.8   # happy = C major
