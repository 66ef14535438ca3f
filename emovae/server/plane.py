"""The plane: the melody at a point (``POST /api/at``, its audio ``GET /api/at.wav``) and
melodies drawn for an emotion (``POST /api/generate``: the paper's sampler or the fitted one,
the copy guard)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator
from starlette.exceptions import HTTPException

from ..api import Melody, Model
from ..emotions import NAMES, PLANE_LIMIT, quadrant_of_point
from .schemas import AtRequest, Bpm, EmotionName, GenerateRequest, ModelQuery, Synth, check_temperature
from .state import INFER_LOCK, MAX_JITTER, MAX_SEED, ServerState, get_state, locked

router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]


def samplers_of(model: Model) -> list[str]:
    """The samplers a model offers: "paper" always, "fitted" where it carries a fitted density."""
    return ["paper", "fitted"] if model.trained.sampler is not None else ["paper"]


def melody_at(model: Model, v: float, a: float, emotion, seed: int, temperature: float, jitter: float) -> Melody:
    if jitter > 0:
        dv, da = np.random.default_rng(seed).normal(0.0, jitter, 2)
        sv, sa = (1.0 if v >= 0 else -1.0), (1.0 if a >= 0 else -1.0)
        v, a = sv * min(abs(v + dv), PLANE_LIMIT), sa * min(abs(a + da), PLANE_LIMIT)
    emotion = emotion if emotion is not None else NAMES[quadrant_of_point(v, a)]
    return locked(INFER_LOCK, model.at, v, a, emotion=emotion, seed=seed, temperature=temperature)


@router.post("/api/at", summary="The melody at a point of the plane")
def at(req: AtRequest, st: State) -> dict:
    key, model = st.pick(req.model)
    m = melody_at(model, req.valence, req.arousal, req.emotion, req.seed, req.temperature, req.jitter)
    return st.as_json(m, key, svg=req.svg, seed=req.seed, clicked=[req.valence, req.arousal])


@router.get(
    "/api/at.wav",
    summary="The audio of the melody at a point (the same melody as POST /api/at)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
def at_wav(
    st: State,
    request: Request,
    valence: Annotated[float, Query(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)],
    arousal: Annotated[float, Query(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)],
    emotion: Annotated[EmotionName | None, Query()] = None,
    seed: Annotated[int, Query(ge=0, le=MAX_SEED)] = 0,
    temperature: Annotated[float, Query(), AfterValidator(check_temperature)] = 0.0,
    jitter: Annotated[float, Query(ge=0.0, le=MAX_JITTER, allow_inf_nan=False)] = 0.0,
    model: ModelQuery = None,
    synth: Synth = "numpy",
    bpm: Bpm = 120,
) -> Response:
    _, m = st.pick(model)
    tokens = melody_at(m, valence, arousal, emotion, seed, temperature, jitter).tokens
    return st.wav_response(tokens, synth, bpm, request.headers.get("range"))


@router.post("/api/generate", summary="n melodies of an emotion, drawn by the paper's sampler or the fitted one")
def generate(req: GenerateRequest, st: State) -> dict:
    key, model = st.pick(req.model)
    sampler = model.trained.default_sampler if req.sampler is None else req.sampler
    if sampler not in samplers_of(model):
        raise HTTPException(400, f"model {key!r} carries no fitted sampler: use sampler 'paper' (see /api/info)")
    if req.unique and not model.trained.training_hashes:
        raise HTTPException(400, f"model {key!r} holds no hashes of its training melodies: no copy guard (unique)")
    spread = req.spread if sampler == "fitted" else None  # the paper's sampler has no spread
    ms = locked(
        INFER_LOCK,
        model.generate,
        req.emotion,
        req.n,
        seed=req.seed,
        temperature=req.temperature,
        sampler=sampler,
        spread=req.spread,
        unique=req.unique,
    )
    used = {"sampler": sampler, "spread": spread, "unique": req.unique}
    return {"melodies": [st.as_json(m, key, svg=req.svg, seed=req.seed, **used) for m in ms], **used}
