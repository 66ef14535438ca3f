"""The score side: a music21 corpus work's notes, placed on the sixteenth grid of a file.

A note of the score (ties joined, grace notes skipped) at offset ``o`` with length ``d`` becomes
the MIDI note from step ``(o - start) * 4 * scale`` to ``(o + d - start) * 4 * scale``, its pitch
plus ``transpose``; notes starting before ``start`` or at ``steps`` or later are left out, and a
note is cut at ``steps`` (:func:`_placed`). music21 is imported by :func:`_parse`.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import EmovaeError


def _score_notes(score, part: str) -> list[tuple[Fraction, Fraction, int]]:
    """(offset, end, pitch) in quarter notes of a part (a chord gives its highest pitch) or of
    every part (``"all"``: each pitch of each chord); ties joined, grace notes skipped."""
    parts = list(score.parts) if part == "all" else [score.parts[int(part)]]
    out = []
    for p in parts:
        for n in p.stripTies().flatten().notes:
            length = Fraction(n.quarterLength)
            if length == 0:
                continue
            onset = Fraction(n.offset)
            pitches = [x.midi for x in n.pitches]
            for pitch in pitches if part == "all" else [max(pitches)]:
                out.append((onset, onset + length, pitch))
    return sorted(out)


def _placed(notes, start: Fraction, scale: int, transpose: int, steps: int) -> list[tuple[int, int, int]] | None:
    """The score notes as (onset step, end step, pitch) of the file; None when a note falls off
    the sixteenth grid."""
    out = []
    for onset, end, pitch in notes:
        a, b = (onset - start) * 4 * scale, (end - start) * 4 * scale
        if a < 0 or a >= steps:
            continue
        if a.denominator != 1 or b.denominator != 1:
            return None
        out.append((int(a), min(int(b), steps), pitch + transpose))
    return out


def _parse(chorale: str):
    from music21 import corpus

    try:
        return corpus.parse(chorale)
    except Exception as exc:  # noqa: BLE001 - music21 raises its own errors for a missing or broken work
        raise EmovaeError(f"{chorale}: not in this music21's corpus ({type(exc).__name__})") from None
