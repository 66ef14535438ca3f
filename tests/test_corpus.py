"""The training set rebuilt from music21's corpus (emovae.corpus, `emovae data ...`).

The manifest is checked on its own; a few of its files are rebuilt here (a second or two each
chorale); the whole set is compared with the authors' files where both are present.
"""

from __future__ import annotations

import shutil
import warnings
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from emovae import corpus
from emovae.cli import main
from emovae.data import HOLD, REST, read_melody
from emovae.errors import EmovaeError, EmovaeWarning

# a sample of the manifest's kinds: every part together (the polyphonic prelude), scale 1 and 2,
# a leading rest, a short (56-step) and a long (72-step) file, two of the files an earlier match
# rule (first part, no ties joined) missed
SAMPLE = [
    "e1/bwv846.mxl.mid",
    "e2/bwv166.6.mxl.mid",
    "e3/bwv10.7.mxl.mid",
    "e4/bwv27.6.mxl.mid",
    "e3/bwv148.6.mxl.mid",
    "e3/bwv77.6.mxl.mid",
    "e1/bwv172.6.mxl.mid",
    "e3/bwv183.5.mxl.mid",
]


def read_quiet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)
        return read_melody(path)


@pytest.fixture(scope="module")
def manifest():
    return corpus.load_manifest()


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    return corpus.build(tmp_path_factory.mktemp("rebuilt") / "set", only=SAMPLE)


def test_token_hash_is_sha256_of_the_decimal_tokens():
    # sha256(b"60,129,128")
    assert corpus.token_hash([60, HOLD, REST]) == "df932ddd43d88790938e96c14d80c8e0e4c794f73ce8c852ddb417d85132e77e"
    assert corpus.token_hash(np.array([[60], [HOLD], [REST]])) == corpus.token_hash([60, HOLD, REST])
    assert corpus.token_hash([60, HOLD, HOLD]) != corpus.token_hash([60, HOLD, REST])


def test_manifest_holds_the_344_labelled_melodies_and_no_notes(manifest):
    assert len(manifest) == 344
    assert Counter(e.folder for e in manifest) == {"e1": 80, "e2": 79, "e3": 93, "e4": 92}
    assert len({e.path for e in manifest}) == 344
    for e in manifest:
        assert e.chorale == "bach/" + e.file.removesuffix(".mxl.mid")
        assert e.scale in (1, 2) and -11 <= e.transpose <= 11 and 56 <= e.steps <= 72
        assert len(e.sha256) == 64
    header = corpus.MANIFEST.read_text().split("\nfolder,")[0]
    assert "CC BY-NC" in header and "Dimitrova-Grekow" in header and "IEEE Access" in header
    assert next(line for line in corpus.MANIFEST.read_text().splitlines() if not line.startswith("#")) == ",".join(
        corpus.COLUMNS
    )
    # 293 distinct melodies among 344 (twins in the data set)
    assert len({e.sha256 for e in manifest}) == 293


def test_a_partial_build_writes_the_files_and_their_hashes_match(sample_build, manifest):
    by_path = {e.path: e for e in manifest}
    files = sorted(str(p.relative_to(sample_build)) for p in sample_build.rglob("*.mid"))
    assert files == sorted(SAMPLE)
    for name in SAMPLE:
        tokens = read_quiet(sample_build / name)
        assert corpus.token_hash(tokens) == by_path[name].sha256, name
    assert not corpus.is_built(sample_build)  # a partial build has no stamp
    assert [p.name for p in sample_build.parent.iterdir()] == ["set"]  # no temporary folder left
    # the prelude is every part together, reduced by the reader as the authors' file is
    with pytest.warns(EmovaeWarning, match="polyphonic"):
        read_melody(sample_build / "e1/bwv846.mxl.mid")
    assert (read_quiet(sample_build / "e4/bwv27.6.mxl.mid")[:24] == REST).all()  # six beats of rest


def test_the_sample_equals_the_authors_files(sample_build, authors_root):
    for name in SAMPLE:
        assert np.array_equal(read_quiet(sample_build / name), read_quiet(authors_root / name)), name


def test_the_whole_rebuilt_set_equals_the_authors_files_file_by_file(authors_root, tmp_path):
    """All 344: the rebuilt set (the user cache `make test` builds, else built here, about a
    minute) gives the same 64 tokens as each of the authors' files."""
    rebuilt = corpus.default_dir()
    if not corpus.is_built(rebuilt):
        rebuilt = corpus.build(tmp_path / "musgenvae")
    authors = sorted(p.relative_to(authors_root) for p in authors_root.glob("e*/*.mid"))
    assert authors == sorted(p.relative_to(rebuilt) for p in rebuilt.glob("e*/*.mid"))
    assert len(authors) == 344
    for name in authors:
        assert np.array_equal(read_quiet(rebuilt / name), read_quiet(authors_root / name)), name


def test_check_passes_the_authors_files_and_names_each_file_that_differs(authors_root, tmp_path):
    assert corpus.check(authors_root) == (344, [])
    # a copy with one file missing, one changed and one stranger
    copy = tmp_path / "copy"
    shutil.copytree(authors_root, copy)
    (copy / "e1/bwv1.6.mxl.mid").unlink()
    shutil.copy(copy / "e2/bwv101.7.mxl.mid", copy / "e3/bwv10.7.mxl.mid")
    shutil.copy(copy / "e2/bwv101.7.mxl.mid", copy / "e4/mine.mid")
    ok, problems = corpus.check(copy)
    assert ok == 342
    assert problems[0] == "e1/bwv1.6.mxl.mid: missing"
    assert problems[1].startswith("e3/bwv10.7.mxl.mid: other notes than the manifest's")
    assert problems[2] == "e4/mine.mid: not in the manifest"


def test_derive_manifest_finds_the_shipped_rows(authors_root, tmp_path, manifest):
    folder = tmp_path / "some"
    for name in ("e1/bwv846.mxl.mid", "e3/bwv10.7.mxl.mid", "e2/bwv166.6.mxl.mid"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(authors_root / name, folder / name)
    (folder / "e4").mkdir()
    shutil.copy(authors_root / "e4/bwv27.6.mxl.mid", folder / "e4/nochorale.mid")  # no such work
    entries, unmatched = corpus.derive_manifest(folder)
    by_path = {e.path: e for e in manifest}
    assert entries == [by_path["e1/bwv846.mxl.mid"], by_path["e2/bwv166.6.mxl.mid"], by_path["e3/bwv10.7.mxl.mid"]]
    assert entries[0].part == "all"
    assert len(unmatched) == 1 and unmatched[0].startswith("e4/nochorale.mid: bach/nochorale: not in this music21")
    # the written manifest reads back the same
    (tmp_path / "m.csv").write_text(corpus.manifest_text(entries))
    assert corpus.load_manifest(tmp_path / "m.csv") == entries


def _manifest_with(tmp_path, rows: list[corpus.Entry]) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_text(corpus.manifest_text(rows))
    return path


def test_a_hash_that_differs_is_named_and_nothing_is_left(tmp_path, manifest):
    good = next(e for e in manifest if e.path == "e3/bwv10.7.mxl.mid")
    bad = corpus.Entry(**{**good.__dict__, "sha256": "0" * 64})
    path = _manifest_with(tmp_path, [bad])
    with pytest.raises(EmovaeError) as excinfo:
        corpus.build(tmp_path / "out", manifest=path)
    assert str(excinfo.value).startswith("1 of 1 rebuilt melodies differ from the manifest (e3/bwv10.7.mxl.mid (from")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.csv"]  # no half-built folder


def test_a_complete_build_is_stamped_and_not_redone(tmp_path, manifest):
    one = [next(e for e in manifest if e.path == "e2/bwv166.6.mxl.mid")]
    path = _manifest_with(tmp_path, one)
    out = corpus.build(tmp_path / "out", manifest=path)
    assert corpus.is_built(out, path) and not corpus.is_built(out)  # stamped with its own manifest
    stamp = (out / corpus.STAMP).stat().st_mtime_ns
    assert corpus.build(out, manifest=path) == out
    assert (out / corpus.STAMP).stat().st_mtime_ns == stamp  # kept as it was
    # a folder of someone else's files is refused
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    with pytest.raises(EmovaeError, match="holds other files"):
        corpus.build(tmp_path / "theirs", manifest=path)


def test_bad_manifest_rows_are_one_line_errors(tmp_path, manifest):
    good = manifest[0]
    for change, message in (
        ({"chorale": "bach/bwv0000"}, "bach/bwv0000: not in this music21's corpus"),
        ({"part": "9"}, "e1/bwv1.6.mxl.mid: bach/bwv1.6 has no part 9"),
        ({"start": Fraction(4000)}, "no notes of bach/bwv1.6 from offset 4000"),
    ):
        path = _manifest_with(tmp_path, [corpus.Entry(**{**good.__dict__, **change})])
        with pytest.raises(EmovaeError, match=message):
            corpus.build(tmp_path / "out", manifest=path)
    (tmp_path / "broken.csv").write_text("folder,file\ne1,x.mid\n")
    with pytest.raises(EmovaeError, match="not a manifest"):
        corpus.load_manifest(tmp_path / "broken.csv")


def test_resolve_data_root_falls_back_to_the_rebuilt_set(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EMOVAE_DATA", str(b))
    assert corpus.resolve_data_root(str(a)) == a  # the argument wins
    assert corpus.resolve_data_root(None) == b  # else the environment
    monkeypatch.setenv("EMOVAE_DATA", str(tmp_path / "missing"))
    with pytest.raises(EmovaeError, match="missing \\(from EMOVAE_DATA\\): no such directory"):
        corpus.resolve_data_root(None)
    monkeypatch.delenv("EMOVAE_DATA")
    assert corpus.default_dir() == tmp_path / "cache" / "emovae" / "musgenvae"
    with pytest.raises(EmovaeError, match="run `emovae data build`"):
        corpus.resolve_data_root(None, build_missing=False)
    built = []
    monkeypatch.setattr(corpus.root, "build", lambda folder, progress: built.append(folder) or folder)
    with pytest.warns(EmovaeWarning, match="rebuilding the training set from music21's corpus"):
        assert corpus.resolve_data_root(None) == corpus.default_dir()
    assert built == [corpus.default_dir()]
    # once built (stamped), it is used without a word
    corpus.default_dir().mkdir(parents=True)
    (corpus.default_dir() / corpus.STAMP).write_text(corpus.manifest._manifest_hash() + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert corpus.resolve_data_root(None) == corpus.default_dir()


def test_cli_data_check_and_build(authors_root, tmp_path, capsys):
    assert main(["data", "check", str(authors_root)]) == 0
    assert capsys.readouterr().out.strip() == f"{authors_root}: all 344 melodies as in the manifest"
    (tmp_path / "e1").mkdir()
    assert main(["data", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "emovae: e1/bwv1.6.mxl.mid: missing"
    assert err[-1] == f"emovae: error: {tmp_path}: 344 files differ from the manifest (0 match)"
    (tmp_path / "file").write_text("x")
    assert main(["data", "build", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"emovae: error: data set folder {tmp_path / 'file'}: is an existing file, not a folder; "
        "choose a folder for the outputs"
    ]
