"""Configurations: the model's architecture, the training settings, and the named presets.

One home for every default. ``CVAEConfig`` is architecture only (what the weights' shapes
depend on); ``TrainConfig`` holds how a model is trained (optimizer, loss weights, seeds,
device, precision). ``PRESETS`` maps a name to both, as magenta's ``music_vae`` does:

| preset | what it is |
|---|---|
| ``paper-emoreg`` | the paper's CVAE-EmoReg: L_R + L_KLD + 80 L_EmoA + 70 L_EmoV, 700 epochs |
| ``paper-base``   | the paper's CVAE-Base (the 2021 model): L_R + L_KLD |
| ``plane``        | the default: the paper's model with 2 content dimensions, hinge terms, 300 epochs |

The CLI's defaults and help texts are read from here. This module imports nothing heavy
(no torch), so ``emovae --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, fields

from .errors import EmovaeError
from .limits import PRECISIONS

__all__ = [
    "CVAEConfig",
    "TrainConfig",
    "Preset",
    "PRESETS",
    "DEFAULT_PRESET",
    "preset",
    "preset_of",
    "title_of",
    "PRECISIONS",
    "check_settings",
]


_CHOICES = {
    "reduction": ("sum", "mean"),
    "emotion_loss": ("cosine", "hinge"),
    "precision": PRECISIONS,
    "device": None,  # checked where it is resolved (auto, cpu, cuda, cuda:N)
}


def check_settings(config, where: str = "") -> None:
    """Raise one EmovaeError line if a field of a config dataclass has the wrong kind of value
    (a whole number where one is needed, true/false, a number, one of a few names) or a
    negative number; ``where`` prefixes the message (a file, a preset)."""
    prefix = f"{where}: " if where else ""
    for f in fields(config):
        value, default = getattr(config, f.name), f.default
        if isinstance(default, bool):
            ok, need = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok, need = isinstance(value, int) and not isinstance(value, bool) and value >= 0, "a whole number >= 0"
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and value >= 0
            need = "a number >= 0"
        elif isinstance(default, str):
            choices = _CHOICES.get(f.name)
            ok = isinstance(value, str) and (choices is None or value in choices)
            need = f"one of {', '.join(choices)}" if choices else "a name"
        else:
            continue
        if not ok:
            raise EmovaeError(f"{prefix}{f.name} = {value!r}: {need} is needed")


def _from_dict(cls, values: dict | None):
    """A dataclass from a dict, ignoring keys it does not know (older or newer checkpoints)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (values or {}).items() if k in known})


@dataclass
class CVAEConfig:
    """The network's architecture (the shapes of its weights)."""

    vocab_size: int = 31  # classes per step: pitches of the data set + rest + hold
    n_steps: int = 64  # time steps of a melody: 4 bars x 16 sixteenths
    n_emotions: int = 4  # condition classes e1..e4
    hidden: int = 512  # GRU units, encoder and decoder
    dense: int = 100  # units of the encoder's Dense(relu) between its GRU and the heads
    latent: int = 2  # latent dimensions; 2 = the valence-arousal plane
    cond_features: int = 4  # per-step condition features fed to the encoder
    encoder_condition: bool = True  # the encoder reads the emotion label (the paper); False: the melody alone

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> CVAEConfig:
        return _from_dict(cls, values)


@dataclass
class TrainConfig:
    """How a model is trained. The defaults are the paper's CVAE-EmoReg (``paper-emoreg``)."""

    epochs: int = 700  # passes over the training split
    batch_size: int = 16  # examples per optimizer step
    lr: float = 1e-3  # RMSprop learning rate
    rho: float = 0.9  # RMSprop decay of the mean squared gradient (Keras default)
    eps: float = 1e-7  # RMSprop epsilon, inside the square root as in Keras
    weight_arousal: float = 80.0  # weight of L_EmoA; both weights 0 = CVAE-Base
    weight_valence: float = 70.0  # weight of L_EmoV
    reduction: str = "sum"  # L_R over the batch: "sum" (the authors') or "mean" (per example)
    seed: int = 33  # initialisation, shuffling and sampling noise
    split_seed: int = 42  # the stratified train / held-out split
    heldout: float = 0.2  # share of each emotion held out
    checkpoint_every: int = 10  # epochs between checkpoints (and at the end)
    validate: bool = True  # held-out L_R + L_KLD after every epoch, as the authors do
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    precision: str = "fp32"  # GRU matrix products: "fp32", "bf16", or "bf16-grad" (fp32 forward, bf16 backward)
    # -- recipe settings beyond the paper (all off by default: the paper's recipe) --
    emotion_loss: str = "cosine"  # "cosine": -cos over the batch (the paper); "hinge": per-example margin
    margin: float = 1.0  # hinge: no push once a coordinate is this far inside its half-plane
    emotion_on_z: bool = False  # the emotion terms on the sampled z as well as on mu
    kl_weight: float = 1.0  # beta, the weight of L_KLD
    kl_warmup: int = 0  # epochs over which beta ramps linearly up from 0 (0 = constant)
    kl_cycle: int = 0  # cyclical beta (Fu et al., NAACL 2019): period in epochs, ramp over its first half
    emotion_warmup: int = 0  # epochs over which the emotion weights ramp linearly up from 0
    free_bits: float = 0.0  # KL floor per latent dimension in nats (Kingma et al., 2016); 0 = off
    weight_decay: float = 0.0  # decoupled weight decay (Loshchilov & Hutter, 2019): w -= lr * wd * w

    def kl_factor(self, epoch: int) -> float:
        """beta for the 0-based ``epoch``: kl_weight times the warm-up or cyclical ramp."""
        if self.kl_cycle > 0:
            ramp = min(1.0, (epoch % self.kl_cycle) / (0.5 * self.kl_cycle))
        elif self.kl_warmup > 0:
            ramp = min(1.0, (epoch + 1) / self.kl_warmup)
        else:
            ramp = 1.0
        return self.kl_weight * ramp

    def emotion_factor(self, epoch: int) -> float:
        """The ramp (0..1) on both emotion weights for the 0-based ``epoch``."""
        return min(1.0, (epoch + 1) / self.emotion_warmup) if self.emotion_warmup > 0 else 1.0

    @property
    def emotion_regularized(self) -> bool:
        """True when the emotion terms are on (CVAE-EmoReg): generation then samples around
        the quadrant centres."""
        return bool(self.weight_arousal or self.weight_valence)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> TrainConfig:
        return _from_dict(cls, values)


@dataclass(frozen=True)
class Preset:
    """A named configuration: an architecture and a way to train it."""

    name: str
    title: str  # how reports name it, e.g. "CVAE-EmoReg"
    description: str  # one line for --help
    model: CVAEConfig
    train: TrainConfig


PRESETS: dict[str, Preset] = {
    "paper-emoreg": Preset(
        "paper-emoreg",
        "CVAE-EmoReg",
        "the paper's CVAE-EmoReg: L_R + L_KLD + 80 L_EmoA + 70 L_EmoV, RMSprop 1e-3, batch 16, 700 epochs",
        CVAEConfig(),
        TrainConfig(),
    ),
    "paper-base": Preset(
        "paper-base",
        "CVAE-Base",
        "the paper's CVAE-Base (2021): L_R + L_KLD, RMSprop 1e-3, batch 16, 700 epochs",
        CVAEConfig(),
        TrainConfig(weight_arousal=0.0, weight_valence=0.0),
    ),
}
# Recipes beyond the paper (the emotion-plane sweep, docs/sweeps/recipes.toml). The hinge terms
# stop pushing a point once it is `margin` inside its quadrant; a label-free encoder lets the
# plane place (and classify) any melody; content dimensions beside the plane carry what the two
# emotion coordinates do not.
_HINGE = dict(emotion_loss="hinge", margin=1.0, weight_arousal=5.0, weight_valence=5.0)
PRESETS.update(
    {
        "hinge": Preset(
            "hinge",
            "CVAE-Hinge",
            "the paper's model, hinge emotion terms: L_R + L_KLD + 5 sum max(0, 1 - s mu) per axis",
            CVAEConfig(),
            TrainConfig(**_HINGE),
        ),
        "label-free": Preset(
            "label-free",
            "CVAE-LabelFree",
            "hinge emotion terms and an encoder without the emotion input: the plane places any melody",
            CVAEConfig(encoder_condition=False),
            TrainConfig(**_HINGE),
        ),
        "content": Preset(
            "content",
            "CVAE-Content",
            "label-free encoder, hinge terms on the plane, 2 content dimensions beside it (free bits 0.5)",
            CVAEConfig(encoder_condition=False, latent=4),
            TrainConfig(**_HINGE, free_bits=0.5),
        ),
    }
)
# The default (docs/RESULTS.md, "Order, emotion and novelty": chosen by the rule stated there on
# seeds 1-5, confirmed on seeds 6-10): the paper's label-conditioned encoder and decoder with two
# content dimensions beside the plane (free bits 0.5; Kingma et al., 2016) and hinge emotion
# terms of weight 5, trained 300 epochs. Its checkpoints carry the density fitted to their
# training codes, and generation samples from it (emovae.samplers).
PRESETS["plane"] = Preset(
    "plane",
    "CVAE-Plane",
    "the default: the paper's model with 2 content dimensions beside the plane (free bits 0.5), "
    "hinge terms of weight 5, 300 epochs; samples from the density fitted to its training codes",
    CVAEConfig(latent=4),
    TrainConfig(**_HINGE, free_bits=0.5, epochs=300),
)
DEFAULT_PRESET = "plane"
ALIASES = {"emoreg": "paper-emoreg", "base": "paper-base", "paper": "paper-emoreg", "default": DEFAULT_PRESET}

# what makes a recipe (how a preset is recognised in a checkpoint): the architecture and these
# training settings; seeds, epochs, device and precision are how one run of it went
_RECIPE_FIELDS = (
    "batch_size", "lr", "rho", "eps", "weight_arousal", "weight_valence", "reduction", "emotion_loss",
    "margin", "emotion_on_z", "kl_weight", "kl_warmup", "kl_cycle", "emotion_warmup", "free_bits", "weight_decay",
)  # fmt: skip


def preset_of(model: CVAEConfig, train: TrainConfig) -> Preset | None:
    """The preset a model was trained by: the one with its architecture and recipe settings
    (:data:`_RECIPE_FIELDS`), or None for a recipe of its own."""
    for p in PRESETS.values():
        if p.model == model and all(getattr(p.train, f) == getattr(train, f) for f in _RECIPE_FIELDS):
            return p
    return None


def title_of(model: CVAEConfig, train: TrainConfig) -> str:
    """How reports and pages name a model: its preset's title, else "CVAE-EmoReg" with emotion
    terms and "CVAE-Base" without, marked "(custom)"."""
    p = preset_of(model, train)
    if p is not None:
        return p.title
    return ("CVAE-EmoReg" if train.emotion_regularized else "CVAE-Base") + " (custom)"


def preset(name: str, **train_overrides) -> Preset:
    """The preset called ``name`` (or an alias: emoreg, base, paper), training settings overridden."""
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        names = ", ".join([*PRESETS, *ALIASES])
        raise EmovaeError(f"unknown preset {name!r}: use one of {names}")
    p = PRESETS[key]
    if not train_overrides:
        return dataclasses.replace(p, model=dataclasses.replace(p.model), train=dataclasses.replace(p.train))
    unknown = set(train_overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise EmovaeError(f"unknown training setting(s) {sorted(unknown)}")
    return dataclasses.replace(
        p, model=dataclasses.replace(p.model), train=dataclasses.replace(p.train, **train_overrides)
    )
