"""Your melody: a MIDI file placed on the plane (``POST /api/upload``), tokens placed again
(``POST /api/encode``, e.g. under the other model) and moved into another quadrant
(``POST /api/transform``).

The paper's encoders read the emotion label with the melody, so a melody's point depends on the
label it is given: upload and encode answer with its point under each of the four labels
(``label_placements``), the label chosen (``chosen_emotion``: the one given, else the emotion
classifier's, else, the emotion unknown, the label whose point lies deepest in its own
quadrant) and why, in one line (``chosen_because``)."""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.exceptions import HTTPException

from ..api import Melody, Model
from ..emotions import LABELS, NAMES
from ..errors import EmovaeError
from .schemas import MODEL_HELP, MODEL_PATTERN, EmotionName, EncodeRequest, TransformRequest
from .state import INFER_LOCK, MAX_UPLOAD_BYTES, MAX_WEB_BARS, ServerState, get_state, locked, message, safe_name

router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]


@router.post("/api/upload", summary=f"Place a MIDI file (at most {MAX_UPLOAD_BYTES // 1024} KiB) on the plane")
def upload(
    file: Annotated[UploadFile, File(description=f"a MIDI file, at most {MAX_UPLOAD_BYTES} bytes")],
    st: State,
    model: Annotated[str | None, Form(pattern=MODEL_PATTERN, description=MODEL_HELP)] = None,
    emotion: Annotated[EmotionName | None, Form()] = None,
) -> dict:
    key, m = st.pick(model)
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(
            413,
            f"upload over {MAX_UPLOAD_BYTES} bytes ({MAX_UPLOAD_BYTES // 1024} KiB): "
            "a 4-bar melody is a few hundred bytes",
        )
    name = safe_name(Path(file.filename or "upload.mid").name, "upload.mid")
    if not data:
        raise HTTPException(400, f"{name}: empty file")
    if not data.startswith(b"MThd"):
        raise HTTPException(415, f"{name}: not a MIDI file (a standard MIDI file starts with 'MThd')")
    check_midi_length(data, name)
    if not name.lower().endswith((".mid", ".midi")):
        name += ".mid"
    with tempfile.TemporaryDirectory(prefix="emovae-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        caught: list[str] = []

        def place():
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                placed = m.encode(path, emotion=emotion, data=st.training.root)
            caught.extend(message(w.message, (str(path), name), (tmp + os.sep, "")) for w in seen)
            return placed

        try:
            placed = locked(INFER_LOCK, place)
        except EmovaeError as exc:
            raise HTTPException(400, message(exc, (str(path), name), (tmp + os.sep, ""))) from None
    if placed.bars > MAX_WEB_BARS:
        raise HTTPException(400, f"{name}: {placed.bars} bars; at most {MAX_WEB_BARS} are served here")
    return st.as_json(placed, key, seed=0, warnings=caught, file=name, **label_placements(m, placed))


@router.post("/api/encode", summary="Place a melody (tokens) on the plane")
def encode(req: EncodeRequest, st: State) -> dict:
    key, model = st.pick(req.model)
    placed = locked(
        INFER_LOCK, model.encode, np.asarray(req.tokens, dtype=np.int64), emotion=req.emotion, data=st.training.root
    )
    return st.as_json(placed, key, svg=req.svg, **label_placements(model, placed))


@router.post("/api/transform", summary="Move a melody (tokens) into another quadrant")
def transform(req: TransformRequest, st: State) -> dict:
    key, model = st.pick(req.model)
    m = locked(
        INFER_LOCK,
        model.transform,
        np.asarray(req.tokens, dtype=np.int64),
        req.to,
        emotion=req.emotion,
        temperature=req.temperature,
        seed=req.seed,
    )
    return st.as_json(m, key, svg=req.svg, seed=req.seed, temperature=req.temperature)


def check_midi_length(data: bytes, name: str) -> None:
    """Refuse (400) a MIDI file mido cannot parse, or whose notes end beyond MAX_WEB_BARS bars
    (checked before MusPy lays it out step by step, so a huge delta time cannot eat memory)."""
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido raises OSError, EOFError, ValueError, KeyError, IndexError ...
        raise HTTPException(400, f"{name}: not a readable MIDI file ({message(exc)})") from None
    tpb = getattr(midi, "ticks_per_beat", 0)
    if not isinstance(tpb, int) or tpb <= 0:
        raise HTTPException(400, f"{name}: unsupported MIDI time division ({tpb!r} ticks per beat)")
    last = 0
    for track in midi.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type in ("note_on", "note_off"):
                last = max(last, now)
    bars = last * 4 / tpb / 16
    if bars > MAX_WEB_BARS:
        raise HTTPException(400, f"{name}: notes run to bar {bars:.0f}; at most {MAX_WEB_BARS} bars are served here")


def label_placements(model: Model, placed: Melody) -> dict:
    """The melody's point under each of the four labels, the label chosen and why (module doc):
    ``label_placements`` (e1..e4: emotion, label, points and quadrants of each 4-bar segment,
    the first segment's point and quadrant, whether it lies in its own quadrant, chosen),
    ``chosen_emotion`` (the first segment's), ``chosen_emotions`` (each segment's),
    ``chosen_because`` (one line) and ``label_matters`` (False for a label-free encoder)."""
    placements = placed.info["placements"]
    first = placements[0]
    chosen = [LABELS.index(pl["label"]) for pl in placements]
    tokens = np.asarray(placed.tokens, dtype=np.int64)
    label_matters = not first["label_free"]

    def under(e: int) -> list[tuple[float, float]]:
        if label_matters and any(c != e for c in chosen):
            return [tuple(map(float, p)) for p in model.encode(tokens, emotion=NAMES[e]).points]
        return [tuple(map(float, p)) for p in placed.points]  # the points already encoded with this label

    points = locked(INFER_LOCK, lambda: [under(e) for e in range(4)])
    out = []
    for e in range(4):
        quadrants = [quadrant_name(p) for p in points[e]]
        out.append(
            {
                "emotion": NAMES[e],
                "label": LABELS[e],
                "points": [[round(v, 4), round(a, 4)] for v, a in points[e]],
                "quadrants": quadrants,
                "point": [round(points[e][0][0], 4), round(points[e][0][1], 4)],
                "quadrant": quadrants[0],
                "in_own_quadrant": quadrants[0] == f"Q{e + 1}",
                "chosen": e == chosen[0],
            }
        )
    name = NAMES[chosen[0]]
    if not label_matters:
        because = f"the label-free encoder places the melody itself ({first['quadrant']} {first['emotion']})"
    elif first["label_given"]:
        because = f"{name}: the label given"
    elif first["classifier_probabilities"]:
        p = first["classifier_probabilities"][first["label"]]
        because = f"{name} by the emotion classifier (p {p:.2f})"
    else:
        because = (
            f"emotion unknown: {first['unknown'] or 'no label given'}; shown as {name}, the label whose point "
            "lies deepest in its own quadrant"
        )
    return {
        "label_placements": out,
        "chosen_emotion": name,
        "chosen_emotions": [NAMES[c] for c in chosen],
        "chosen_because": because,
        "label_matters": label_matters,
    }


def quadrant_name(point) -> str:
    from ..emotions import quadrant_of_point

    return f"Q{quadrant_of_point(*point) + 1}"
