"""The training set rebuilt from music21's corpus: nothing to download.

The 344 melodies of Grekow and Dimitrova-Grekow (2021) are 4-bar lines of Bach chorales from
music21's corpus, which ships inside the music21 wheel (``music21/corpus/bach/``). The shipped
manifest (``emovae/manifest/musgenvae.csv``; labels and positions, no notes; the labels are the
authors', CC BY-NC) says for each file where its notes come from: chorale, part, start,
scale, transposition, length and the hash of its tokens (the columns: :mod:`.manifest`).

The score's notes are placed on the file's sixteenth grid by the rule in :mod:`.score` (start,
scale, transposition, cut at ``steps``); the file is written at 4 ticks per quarter, 120 BPM,
4/4 (:func:`emovae.data.notes_midi`) and read back by the same rules as every MIDI file.

:func:`build` writes the 344 files into a folder laid out like the authors' (``e1..e4``) and checks
every hash; :func:`default_dir` is where they are cached (``$XDG_CACHE_HOME/emovae`` or
``~/.cache/emovae``). :func:`resolve_data_root` is how every command finds its data set: ``--data``,
else ``$EMOVAE_DATA``, else this cache (built on first use). :func:`derive_manifest` is how the
manifest was made from the authors' files: each file matched against its chorale's parts, every
start, both scales and the transposition that maps the first notes onto each other.

Modules: :mod:`.manifest` (the rows, reading and writing them, :func:`derive_manifest`),
:mod:`.score` (a corpus work's notes on the sixteenth grid), :mod:`.rebuild` (:func:`build`,
:func:`check`, :func:`is_built`, :func:`default_dir`), :mod:`.root` (:func:`resolve_data_root`,
which calls the ``build`` it imports: a test replaces ``corpus.root.build``).
"""

from __future__ import annotations

from ..data import token_hash
from .manifest import COLUMNS as COLUMNS
from .manifest import MANIFEST, Entry, derive_manifest, load_manifest
from .manifest import SCALES as SCALES
from .manifest import manifest_text as manifest_text
from .rebuild import STAMP as STAMP
from .rebuild import build, check, default_dir, is_built
from .root import resolve_data_root

__all__ = [
    "MANIFEST",
    "Entry",
    "load_manifest",
    "token_hash",
    "default_dir",
    "is_built",
    "build",
    "check",
    "derive_manifest",
    "resolve_data_root",
]
