"""``POST /api/path``: one melody whose emotion follows a path across the plane."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from .schemas import PathRequest
from .state import INFER_LOCK, ServerState, get_state, locked

router = APIRouter()


@router.post("/api/path", summary="A melody whose emotion follows a path across the plane")
def path(req: PathRequest, st: Annotated[ServerState, Depends(get_state)]) -> dict:
    key, model = st.pick(req.model)
    m = locked(
        INFER_LOCK,
        model.path,
        [tuple(p) for p in req.points],
        bars=req.bars,
        seed=req.seed,
        temperature=req.temperature,
    )
    return st.as_json(
        m, key, svg=req.svg, seed=req.seed, temperature=req.temperature, waypoints=[list(p) for p in req.points]
    )
