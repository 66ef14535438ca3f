"""Shared fixtures: the real data set ($EMOVAE_DATA: the authors' files read in place, or the set
rebuilt from music21's corpus that `make test` builds) and tiny configurations."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from emovae.errors import EmovaeWarning


@pytest.fixture(scope="session")
def data_root() -> Path:
    """$EMOVAE_DATA, else the rebuilt set if `emovae data build` has made it (never built here)."""
    from emovae.corpus import resolve_data_root
    from emovae.errors import EmovaeError

    try:
        return resolve_data_root(None, build_missing=False).resolve()
    except EmovaeError as exc:
        pytest.skip(f"no data set ({exc}); make test builds it")


@pytest.fixture(scope="session")
def authors_root(data_root) -> Path:
    """The authors' own files (not a rebuild): tests of their quirks (stray time signatures)."""
    from emovae.corpus import STAMP

    if (data_root / STAMP).exists():
        pytest.skip("the authors' files are not here (the data set is the one rebuilt from music21's corpus)")
    return data_root


@pytest.fixture(scope="session")
def encoded(data_root):
    """The whole data set encoded once for the session (vocabulary from all files, 275/69 split)."""
    from emovae.training import encode_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)  # e1/bwv846 is polyphonic; tested in test_data
        return encode_dataset(data_root)


def subset(data, per_emotion: int, heldout_per_emotion: int = 2):
    """A few real files per emotion: the first ``per_emotion`` of each e1..e4, the last
    ``heldout_per_emotion`` of those held out. Keeps the whole data set's vocabulary."""
    from emovae.training import EncodedData

    rows, held = [], []
    for e in range(4):
        idx = np.flatnonzero(data.labels == e)[:per_emotion]
        rows += idx.tolist()
        held += idx[per_emotion - heldout_per_emotion :].tolist()
    rows = np.asarray(rows)
    pos = {r: i for i, r in enumerate(rows)}
    heldout_idx = np.asarray(sorted(pos[r] for r in held))
    train_idx = np.asarray([i for i in range(len(rows)) if i not in set(heldout_idx.tolist())])
    return EncodedData(
        data.vocab, data.indices[rows], data.labels[rows], [data.names[r] for r in rows], train_idx, heldout_idx
    )


@pytest.fixture(scope="session")
def tiny_data(encoded):
    return subset(encoded, per_emotion=10)


@pytest.fixture(scope="session")
def tiny_model():
    from emovae.model import CVAEConfig  # frozen: one for the session

    return CVAEConfig(hidden=32, dense=16)  # a few seconds per run on 2 cores


def one_line_error(capsys, argv, *expected) -> str:
    """Run the CLI in this process and assert it ends with exit status 2 and one line
    ``emovae: error: ...`` on stderr holding each of ``expected``; returns that line."""
    from emovae.cli import main

    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("emovae: error: "), (code, lines)
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
