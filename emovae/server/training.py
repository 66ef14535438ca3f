"""The training melodies: their dots on the plane (``GET /api/training``), one of them as a
melody (``GET /api/training/{index}``) and its audio (``GET /api/training/{index}.wav``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from ..api import Melody
from ..emotions import LABELS, NAMES
from .schemas import Bpm, ModelQuery, Synth
from .state import ServerState, get_state, melody_id, safe_name

router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]
Index = Annotated[int, PathParam(ge=0, le=100_000)]


@router.get("/api/training", summary="The training melodies as dots on the plane")
def training_dots(st: State, model: ModelQuery = None) -> dict:
    key, m = st.pick(model)
    data = st.training.dataset()
    if data is None:
        return {"available": False, "reason": st.training.reason, "model": key, "dots": []}
    points = st.training.points_for(key, m)
    dots = [
        {
            "index": i,
            "file": f"{p.parent.name}/{p.name}",
            "label": LABELS[int(lab)],
            "emotion": NAMES[int(lab)],
            "point": [round(float(v), 4), round(float(a), 4)],
            "id": melody_id(tok),
        }
        for i, (p, lab, (v, a), tok) in enumerate(zip(data.paths, data.labels, points, data.tokens))
    ]
    return {"available": True, "reason": None, "model": key, "dots": dots}


# before /api/training/{index}: "5.wav" would otherwise be an index (and a 422)
@router.get(
    "/api/training/{index}.wav",
    summary="A training melody's audio (WAV)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
def training_wav(index: Index, st: State, request: Request, synth: Synth = "numpy", bpm: Bpm = 120) -> Response:
    data = st.training_or_404(index)
    return st.wav_response(data.tokens[index], synth, bpm, request.headers.get("range"))


@router.get("/api/training/{index}", summary="A training melody, placed with its own label")
def training_melody(
    index: Index,
    st: State,
    model: ModelQuery = None,
    svg: Annotated[bool, Query()] = True,
) -> dict:
    key, m = st.pick(model)
    data = st.training_or_404(index)
    points = st.training.points_for(key, m)
    path = data.paths[index]
    mel = Melody(
        data.tokens[index],
        (int(data.labels[index]),),
        ((float(points[index][0]), float(points[index][1])),),
        safe_name(path.stem),
    )
    return st.as_json(mel, key, svg=svg, file=f"{path.parent.name}/{path.name}", index=index)
