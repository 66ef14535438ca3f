"""A melody by its id (its raw tokens, two hex digits a step: no server state):
``GET /api/melody/{id}.wav`` (``?bpm=`` 60..180) / ``.mid`` / ``.svg`` / ``.musicxml``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from .schemas import Bpm, MelodyId, Synth
from .state import RENDER_LOCK, ServerState, get_state, locked, svg_of, tokens_of_id

FileName = Annotated[str, Query(pattern=r"^[A-Za-z0-9_.+-]{1,100}$")]

router = APIRouter()


@router.get(
    "/api/melody/{mid}.wav",
    summary="A melody's audio (WAV, 16-bit mono)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
def melody_wav(
    mid: MelodyId,
    st: Annotated[ServerState, Depends(get_state)],
    request: Request,
    synth: Synth = "numpy",
    bpm: Bpm = 120,
) -> Response:
    return st.wav_response(tokens_of_id(mid), synth, bpm, request.headers.get("range"))


@router.get(
    "/api/melody/{mid}.mid",
    summary="A melody's MIDI file",
    response_class=Response,
    responses={200: {"content": {"audio/midi": {}}}},
)
def melody_midi(mid: MelodyId, name: FileName = "melody") -> Response:
    from ..render import to_midi_bytes

    data = to_midi_bytes(tokens_of_id(mid))
    filename = name if name.lower().endswith(".mid") else name + ".mid"
    return Response(
        data, media_type="audio/midi", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/api/melody/{mid}.svg",
    summary="A melody's score (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def melody_svg(mid: MelodyId) -> Response:
    return Response(svg_of(tokens_of_id(mid)), media_type="image/svg+xml")


@router.get(
    "/api/melody/{mid}.musicxml",
    summary="A melody's score (MusicXML)",
    response_class=Response,
    responses={200: {"content": {"application/vnd.recordare.musicxml+xml": {}}}},
)
def melody_musicxml(mid: MelodyId, name: FileName = "melody") -> Response:
    from ..render import to_musicxml

    tokens = tokens_of_id(mid)
    stem = name[: -len(".musicxml")] if name.lower().endswith(".musicxml") else name
    xml = locked(RENDER_LOCK, to_musicxml, tokens, title=stem)
    return Response(
        xml.encode("utf-8"),
        media_type="application/vnd.recordare.musicxml+xml",
        headers={"Content-Disposition": f'attachment; filename="{stem}.musicxml"'},
    )
