"""The melody as a score: MusicXML (music21) and an SVG engraving of it (verovio).

- **MusicXML** (:func:`to_musicxml`), built with music21: one treble-or-bass part (music21's best
  clef), 4/4, bars of 16 sixteenths; a note or rest crossing a barline is split there, the note
  halves tied; a duration no single note value expresses (5 sixteenths ...) is written as tied
  notes (music21's ``makeNotation``), beams by beat. **Key**: the data are in C major or C
  minor and the melody does not say which, so **no key signature** is written and every
  accidental is printed. Black keys are spelled for C major/minor: C#, Eb, F#, Ab, Bb.
  No composer, no encoding date: the same tokens give the same text.
- **SVG** (:func:`to_svg`): the MusicXML engraved by verovio (PyPI ``verovio``, offline: its
  fonts ship in the wheel), page width 2100 units (as many bars a system as fit: six to eight
  for the data set's melodies), **one page whose height is adapted to the music**
  (``adjustPageHeight``, page height up to ``_PAGE_HEIGHT``), so a 16-bar melody is one SVG; a
  melody too long for one page (about 1,000 bars) has its pages **joined** one below the
  other into one SVG. The root element has a ``viewBox``, so it scales in a browser.

music21 and verovio are imported by the functions that use them.
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np

from ..data import STEPS_PER_QUARTER, notes_of
from .tokens import _melody, _write_bytes

__all__ = ["to_musicxml", "to_svg"]

# Pitch-class spelling for C major / C minor (no key signature is written).
_SPELLING = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_PAGE_WIDTH = 2100
_PAGE_HEIGHT = 60000  # verovio's largest page; adjustPageHeight shrinks it to the music

_verovio_lock = threading.Lock()
_verovio_toolkit = None


# ---------------------------------------------------------------------------- MusicXML


def _score(arr: np.ndarray, title: str | None):
    """A music21 Score of the melody: one part, 4/4, notes and rests in sixteenths."""
    from music21 import metadata, meter, note, stream

    part = stream.Part(id="P1")
    part.append(meter.TimeSignature("4/4"))
    pos = 0
    for start, duration, pitch in notes_of(arr):
        if start > pos:
            part.append(note.Rest(quarterLength=(start - pos) / STEPS_PER_QUARTER))
        name = f"{_SPELLING[pitch % 12]}{pitch // 12 - 1}"
        part.append(note.Note(name, quarterLength=duration / STEPS_PER_QUARTER))
        pos = start + duration
    if pos < arr.size:
        part.append(note.Rest(quarterLength=(arr.size - pos) / STEPS_PER_QUARTER))
    score = stream.Score(id="emovae")
    score.metadata = metadata.Metadata()
    score.metadata.title = title or ""
    score.metadata.movementName = title or ""
    score.insert(0, part)
    return score


def _printable(text: str | None) -> str | None:
    """A file name's stem as text: bytes that were not UTF-8 (a non-UTF-8 file name) become U+FFFD."""
    return None if text is None else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _musicxml(arr: np.ndarray, title: str | None) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter, ScoreExporter

    wellformed = GeneralObjectExporter().fromGeneralObject(_score(arr, _printable(title)))  # copy + makeNotation
    exporter = ScoreExporter(wellformed)
    root = exporter.parse()
    for element in (root.find("part-list/score-part"), root.find("part")):
        if element is not None:
            element.set("id", "P1")  # music21 makes a random id: output not reproducible
    identification = root.find("identification")
    if identification is not None:
        for creator in identification.findall("creator"):  # music21's default composer "Music21"
            identification.remove(creator)
        for encoding in identification.findall("encoding"):
            for date in encoding.findall("encoding-date"):  # today's date: output not reproducible
                encoding.remove(date)
    return exporter.asBytes().decode("utf-8")


def to_musicxml(tokens, path: str | os.PathLike | None = None, title: str | None = None) -> str:
    """The melody as a MusicXML (partwise) document; written atomically to ``path`` if given.

    4/4, no key signature (C major or minor is not known; black keys spelled C# Eb F# Ab Bb),
    notes and rests split at barlines with ties, ``title`` as work and movement title.
    """
    text = _musicxml(_melody(tokens), title)
    if path is not None:
        _write_bytes(path, text.encode("utf-8"))
    return text


# ---------------------------------------------------------------------------- SVG


def _toolkit():
    """The process's verovio toolkit (created once; callers hold ``_verovio_lock``)."""
    global _verovio_toolkit
    if _verovio_toolkit is None:
        import verovio

        verovio.enableLog(verovio.LOG_OFF)
        _verovio_toolkit = verovio.toolkit()
    return _verovio_toolkit


def _svg_size(svg: str) -> tuple[float, float]:
    """(width, height) of an SVG from its root's ``viewBox`` (or ``width``/``height``)."""
    start = svg.index("<svg")
    head = svg[start : svg.index(">", start)]
    box = re.search(r'\sviewBox="\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*"', head)
    if box:
        return float(box.group(1)), float(box.group(2))
    width = re.search(r'\swidth="([0-9.]+)(?:px)?"', head)
    height = re.search(r'\sheight="([0-9.]+)(?:px)?"', head)
    if not width or not height:
        raise RuntimeError("verovio page without a size")  # not expected from verovio
    return float(width.group(1)), float(height.group(1))


def _join_pages(pages: list[str]) -> str:
    """One SVG holding verovio's pages one below the other (nested <svg> elements)."""
    sizes = [_svg_size(p) for p in pages]
    width = max(w for w, _ in sizes)
    parts, y = [], 0.0
    for page, (w, h) in zip(pages, sizes):
        start = page.index("<svg")
        head = page[start + 4 : page.index(">", start)]
        if " width=" in head or " height=" in head:  # keep the page's own size attributes
            parts.append(f'<svg x="0" y="{y:g}"' + page[start + 4 :])
        else:
            parts.append(f'<svg x="0" y="{y:g}" width="{w:g}" height="{h:g}"' + page[start + 4 :])
        y += h
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'viewBox="0 0 {width:g} {y:g}">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _svg_from_musicxml(xml: str, header: bool) -> str:
    with _verovio_lock:
        tk = _toolkit()
        tk.setOptions(
            {
                "inputFrom": "musicxml",
                "pageWidth": _PAGE_WIDTH,
                "pageHeight": _PAGE_HEIGHT,
                "adjustPageHeight": True,
                "breaks": "auto",
                "header": "auto" if header else "none",
                "footer": "none",
                "svgViewBox": True,
                "xmlIdSeed": 1,  # ids from a fixed seed: the same melody gives the same SVG
            }
        )
        tk.resetXmlIdSeed(1)  # setting the same option again does not restart the id sequence
        if not tk.loadData(xml):
            raise RuntimeError("verovio could not read the MusicXML emovae wrote")  # a bug, not bad input
        pages = [tk.renderToSVG(p) for p in range(1, tk.getPageCount() + 1)]
    return pages[0] if len(pages) == 1 else _join_pages(pages)


def to_svg(tokens, path: str | os.PathLike | None = None, title: str | None = None) -> str:
    """The melody's score as one SVG document (verovio engraving of :func:`to_musicxml`).

    All bars on as few systems as the 2100-unit page width holds, one page whose height is
    adapted to the systems (pages joined one below the other if it ever takes more than
    one). Written atomically to ``path`` if given.
    """
    arr = _melody(tokens)
    svg = _svg_from_musicxml(_musicxml(arr, title), header=bool(title))
    if path is not None:
        _write_bytes(path, svg.encode("utf-8"))
    return svg
