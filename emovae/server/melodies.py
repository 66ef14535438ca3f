"""A melody by its id (its raw tokens, two hex digits a step: no server state):
``GET /api/melody/{id}.wav`` / ``.mid`` / ``.svg``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from .schemas import MelodyId, Synth
from .state import ServerState, get_state, svg_of, tokens_of_id

router = APIRouter()


@router.get(
    "/api/melody/{mid}.wav",
    summary="A melody's audio (WAV, 16-bit mono)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
def melody_wav(mid: MelodyId, st: Annotated[ServerState, Depends(get_state)], synth: Synth = "numpy") -> Response:
    return st.wav_response(tokens_of_id(mid), synth)


@router.get(
    "/api/melody/{mid}.mid",
    summary="A melody's MIDI file",
    response_class=Response,
    responses={200: {"content": {"audio/midi": {}}}},
)
def melody_midi(mid: MelodyId, name: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.+-]{1,100}$")] = "melody") -> Response:
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
