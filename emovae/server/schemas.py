"""The request schemas (pydantic): what each endpoint accepts, with the limits and rules of
:mod:`emovae.limits` (the web server's own limits re-exported by :mod:`emovae.server.state`).
Unknown fields are refused (422)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .. import limits
from ..data import HOLD, N_STEPS
from ..errors import EmovaeError
from ..limits import MAX_PATH_POINTS, MAX_SEED, MAX_SPREAD, PLANE_LIMIT
from .state import MAX_COUNT, MAX_JITTER, MAX_TEMPERATURE, MAX_TOKENS, MAX_WEB_BARS

Coordinate = Annotated[float, Field(ge=-PLANE_LIMIT, le=PLANE_LIMIT, allow_inf_nan=False)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="seeds the sampling (temperature > 0) and jitter")]


def check_temperature(t: float) -> float:
    """The web's temperature: :func:`emovae.limits.check_temperature` up to MAX_TEMPERATURE, its
    one line as pydantic's ValueError (a 422 naming the field)."""
    try:
        return limits.check_temperature(t, MAX_TEMPERATURE)
    except EmovaeError as exc:
        raise ValueError(str(exc)) from None


Temperature = Annotated[
    float,
    Field(description="0 = argmax (the paper); from 0.001 sampling from softmax(logits / T)"),
    AfterValidator(check_temperature),
]
EmotionName = Literal["happy", "angry", "sad", "relaxed"]
SamplerName = Literal["paper", "fitted"]  # emovae.samplers.SAMPLERS
MODEL_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"
MODEL_HELP = "a key of /api/info's models; default: the first"
ModelKey = Annotated[str | None, Field(pattern=MODEL_PATTERN, description=MODEL_HELP)]
ModelQuery = Annotated[str | None, Query(pattern=MODEL_PATTERN, description=MODEL_HELP)]
Token = Annotated[int, Field(ge=0, le=HOLD)]
Tokens = Annotated[
    list[Token],
    Field(
        min_length=N_STEPS,
        max_length=MAX_TOKENS,
        description="raw tokens: 0..127 onset, 128 rest, 129 hold; 64 per 4 bars",
    ),
]
MelodyId = Annotated[
    str,
    PathParam(
        pattern=r"^[0-9a-f]+$", max_length=2 * MAX_TOKENS, description="the melody's tokens as two hex digits a step"
    ),
]
SvgFlag = Annotated[bool, Field(description="include the SVG score")]
Synth = Literal["numpy", "auto"]
MIN_WEB_BPM, MAX_WEB_BPM = 60, 180
Bpm = Annotated[
    int,
    Query(ge=MIN_WEB_BPM, le=MAX_WEB_BPM, description="tempo in quarter notes a minute (the melody's own: 120)"),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelKey = None


class AtRequest(_Request):
    valence: Coordinate
    arousal: Coordinate
    emotion: EmotionName | None = Field(None, description="condition; default: the point's quadrant")
    seed: Seed = 0
    temperature: Temperature = 0.0
    jitter: Annotated[
        float,
        Field(
            ge=0.0,
            le=MAX_JITTER,
            allow_inf_nan=False,
            description="std of a seeded offset of the point, kept in its quadrant",
        ),
    ] = 0.0
    svg: SvgFlag = True


class GenerateRequest(_Request):
    emotion: EmotionName = "happy"
    n: Annotated[int, Field(ge=1, le=MAX_COUNT)] = 4
    seed: Seed = 0
    temperature: Temperature = 0.0
    sampler: SamplerName | None = Field(
        None,
        description="where the points are drawn: 'paper' (around the quadrant centre) or 'fitted' (the density "
        "fitted to the model's training codes; /api/info says which models have one); default: the model's",
    )
    spread: Annotated[
        float,
        Field(
            gt=0.0,
            le=MAX_SPREAD,
            allow_inf_nan=False,
            description="the fitted sampler's spread: its codes' own spread times this (the paper's ignores it)",
        ),
    ] = 1.0
    unique: bool = Field(False, description="the copy guard: a melody equal to a training melody is drawn again nearby")
    svg: SvgFlag = True


class PathRequest(_Request):
    points: Annotated[
        list[tuple[Coordinate, Coordinate]],
        Field(min_length=1, max_length=MAX_PATH_POINTS, description="(valence, arousal) waypoints"),
    ]
    bars: Annotated[int, Field(ge=4, le=MAX_WEB_BARS, multiple_of=4)] = 16
    seed: Seed = 0
    temperature: Temperature = 0.0
    svg: SvgFlag = True


class _TokensRequest(_Request):
    tokens: Tokens

    @field_validator("tokens")
    @classmethod
    def _whole_segments(cls, tokens: list[int]) -> list[int]:
        if len(tokens) % N_STEPS:
            raise ValueError(f"{len(tokens)} steps: a multiple of {N_STEPS} (4 bars) is needed")
        return tokens


class EncodeRequest(_TokensRequest):
    emotion: EmotionName | None = Field(None, description="the label to encode with; default: tried under all four")
    svg: SvgFlag = False


class TransformRequest(_TokensRequest):
    to: EmotionName
    emotion: EmotionName | None = Field(None, description="the label to place the melody with; default: guessed")
    seed: Seed = 0
    temperature: Temperature = 0.0
    svg: SvgFlag = True
