"""``GET /api/info``: the models (with the samplers each offers), the plane, the limits, the
audio and whether training dots exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ..emotions import AROUSAL, LABELS, NAMES, PLANE_LIMIT, QUADRANTS, VALENCE
from ..limits import MAX_PATH_POINTS
from .plane import samplers_of
from .schemas import MAX_WEB_BPM, MIN_WEB_BPM
from .state import (
    MAX_BODY_BYTES,
    MAX_COUNT,
    MAX_JITTER,
    MAX_SEED,
    MAX_SPREAD,
    MAX_TEMPERATURE,
    MAX_UPLOAD_BYTES,
    MAX_WEB_BARS,
    WEB_SAMPLE_RATE,
    ServerState,
    get_state,
)

router = APIRouter()


@router.get("/api/info", summary="Models, the plane, the limits")
def info(st: Annotated[ServerState, Depends(get_state)]) -> dict:
    data, training = st.training.data, st.training
    return {
        "models": [
            {
                "key": k,
                "title": m.title,
                "default": k == st.default_key,
                "samplers": samplers_of(m),
                "default_sampler": m.trained.default_sampler,
                "copy_guard": bool(m.trained.training_hashes),
            }
            for k, m in st.models.items()
        ],
        "default_model": st.default_key,
        "plane_limit": PLANE_LIMIT,
        "quadrants": [
            {
                "quadrant": QUADRANTS[e],
                "emotion": NAMES[e],
                "label": LABELS[e],
                "valence_sign": VALENCE[e],
                "arousal_sign": AROUSAL[e],
            }
            for e in range(4)
        ],
        "limits": {
            "upload_bytes": MAX_UPLOAD_BYTES,
            "body_bytes": MAX_BODY_BYTES,
            "bars": MAX_WEB_BARS,
            "count": MAX_COUNT,
            "temperature": MAX_TEMPERATURE,
            "jitter": MAX_JITTER,
            "spread": MAX_SPREAD,
            "path_points": MAX_PATH_POINTS,
            "seed": MAX_SEED,
        },
        "audio": {
            "synth": "numpy",
            "sample_rate": WEB_SAMPLE_RATE,
            "piano": piano(),
            "bpm": {"default": 120, "min": MIN_WEB_BPM, "max": MAX_WEB_BPM},
        },
        "training": {
            "available": training.root is not None and training.reason is None,
            "count": None if data is None else len(data.paths),
            "reason": training.reason,
        },
    }


def piano() -> dict:
    """Whether the WAV routes' ``synth=auto`` gives a piano here: FluidSynth and a General MIDI
    soundfont (:func:`emovae.render.find_soundfont`), else why not."""
    import shutil

    from ..render import find_soundfont

    if shutil.which("fluidsynth") is None:
        return {"available": False, "reason": "FluidSynth is not installed on the server"}
    if find_soundfont() is None:
        return {"available": False, "reason": "no General MIDI soundfont on the server"}
    return {"available": True, "reason": None}
