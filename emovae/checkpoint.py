"""Checkpoints, and the trained-model object every tool goes through.

A checkpoint file carries everything needed to use it: the architecture (``CVAEConfig``), the
training settings (``TrainConfig``), the vocabulary, the weights, the epoch and the history. A
training checkpoint also holds a :class:`TrainingState` (optimizer, RNG states, the split), so
``emovae train --resume`` continues exactly where the run stopped. Files are written atomically.
A model-only file (:meth:`TrainedModel.export`) drops the optimizer and RNG states; the weights
bundled with the package are such files.

One rule finds a checkpoint (:func:`resolve_checkpoint`): ``None`` or a preset name (``emoreg``,
``base``, ``paper-emoreg``, ``paper-base``) means the bundled weights, a folder means its
``checkpoint.pt``, anything else is a file. A model whose weights hold NaN or infinity (a
diverged run) is neither written nor loaded.

:class:`TrainedModel` is the model as a user sees it (magenta's ``TrainedModel``):
``encode(tokens, emotion)`` -> latent points, ``decode(z, emotion)`` -> tokens,
``sample(emotion, n, seed)`` -> tokens. Tokens here are raw tokens (see :mod:`emovae.data`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_path
from .config import ALIASES, DEFAULT_PRESET, PRESETS, CVAEConfig, TrainConfig, title_of
from .data import N_STEPS, Vocabulary, token_hash
from .emotions import emotion_index, quadrant_centre
from .errors import EmovaeError
from .gru import fused_decoding
from .limits import check_count, check_seed, check_spread, check_temperature, shown
from .model import CVAE
from .samplers import FittedSampler, check_sampler

__all__ = [
    "FORMAT",
    "TrainingState",
    "TrainedModel",
    "load_model",
    "resolve_checkpoint",
    "save_checkpoint",
    "resolve_device",
    "MAX_BATCH",
]

FORMAT = "emovae-checkpoint-1"
MAX_BATCH = 4096  # melodies decoded at once: memory stays bounded whatever n is asked for
GUARD_TRIES = 20  # unique=True: a copy of a training melody is drawn again this many times at most
GUARD_STEP = 0.5  # ... each time this far (standard deviation on the plane) from its last point


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N' as a torch.device."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EmovaeError(f"device {name!r}: no CUDA GPU is available here (use --device auto or cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise EmovaeError(f"unknown device {name!r}: use auto, cpu or cuda") from None


@dataclass
class TrainingState:
    """What a training run needs beyond the weights to continue bit for bit, and its split."""

    names: list = field(default_factory=list)  # "e1/file.mid" per example of the data set
    train_idx: list = field(default_factory=list)  # rows of the training split
    heldout_idx: list = field(default_factory=list)  # rows of the held-out split
    optimizer: dict | None = None  # the optimizer's state_dict (None in a model-only file)
    shuffle_rng: torch.Tensor | None = None  # CPU generator state: the order of the examples
    noise_rng: torch.Tensor | None = None  # generator state of the sampling noise
    noise_device: str = "cpu"  # the device type the noise generator lived on

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> TrainingState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    def model_only(self) -> TrainingState:
        """The split without the optimizer and RNG states."""
        return TrainingState(names=list(self.names), train_idx=list(self.train_idx), heldout_idx=list(self.heldout_idx))


def _emotions(emotion, n: int, device) -> torch.Tensor:
    """(n,) emotion indices from one emotion (any form emotion_index takes) or a sequence of them."""
    if isinstance(emotion, (str, int, np.integer)):
        idx = [emotion_index(int(emotion) if isinstance(emotion, np.integer) else emotion)] * n
    else:
        idx = [emotion_index(int(e) if isinstance(e, (np.integer, int)) else e) for e in emotion]
        if len(idx) != n:
            raise EmovaeError(f"{len(idx)} emotions given for {n} melodies")
    return torch.as_tensor(idx, dtype=torch.long, device=device)


class TrainedModel:
    """A trained CVAE with its vocabulary and settings: ``encode``, ``decode``, ``sample``."""

    def __init__(
        self,
        net: CVAE,
        vocab: Vocabulary,
        train_config: TrainConfig | None = None,
        *,
        epoch: int = 0,
        history: list | None = None,
        state: TrainingState | None = None,
        path: Path | None = None,
        sampler: FittedSampler | None = None,
        training_hashes=(),
    ):
        self.net = net  # the torch module
        self.vocab = vocab  # raw token <-> index
        self.train_config = train_config or TrainConfig()
        self.epoch = epoch  # epochs trained
        self.history = list(history or [])  # one dict per epoch
        self.state = state or TrainingState()  # split (+ optimizer and RNGs in a training file)
        self.path = path  # the file it was loaded from, if any
        self.sampler = sampler  # the density fitted to the training codes (emovae.samplers), if any
        self.training_hashes = frozenset(training_hashes)  # token_hash of each data-set melody: the copy guard
        self.diverged: str | None = None  # set by emovae.batched.train_batched: why its training stopped early

    def __repr__(self) -> str:
        return f"TrainedModel({self.title}, epoch {self.epoch}, {self.path or 'in memory'})"

    @property
    def model_config(self) -> CVAEConfig:
        return self.net.config

    @property
    def emotion_regularized(self) -> bool:
        """True for CVAE-EmoReg: sampling then centres on the emotion's quadrant."""
        return self.train_config.emotion_regularized

    @property
    def title(self) -> str:
        """Its preset's title (``emovae.config.title_of``)."""
        return title_of(self.model_config, self.train_config)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    # -- the three verbs -------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, tokens, emotion=None) -> np.ndarray:
        """Points on the plane (N, 2): the first two coordinates of the latent mean ``mu`` of
        raw-token melodies (N, 64) (or one (64,)) under the given emotion label(s). The paper's
        encoder reads the label as well as the melody; a label-free encoder
        (``encoder_condition=False``) ignores it, and ``emotion`` may then be None. Extra latent
        dimensions (``latent`` > 2: content beside the plane) are left out."""
        if emotion is None:
            if self.model_config.encoder_condition:
                raise EmovaeError("this model's encoder reads the emotion label: name the melody's emotion")
            emotion = 0
        raw = np.asarray(tokens)
        if raw.ndim == 1:
            raw = raw[None]
        if raw.ndim != 2 or raw.shape[1] != self.model_config.n_steps:
            raise EmovaeError(f"melodies must have shape (N, {self.model_config.n_steps}), got {tuple(raw.shape)}")
        idx = torch.as_tensor(self.vocab.encode(raw), device=self.device)
        out = []
        self.net.eval()
        for start in range(0, len(idx), MAX_BATCH):
            rows = idx[start : start + MAX_BATCH]
            mu, _ = self.net.encode(rows, _emotions_slice(emotion, start, len(rows), len(idx), self.device))
            out.append(mu[:, :2].float().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 2), np.float32)

    @torch.no_grad()
    def latent(self, tokens, emotion=None) -> tuple[np.ndarray, np.ndarray]:
        """The whole latent Gaussian of each melody: ``mu`` and ``logvar`` (N, latent)."""
        raw = np.asarray(tokens)
        raw = raw[None] if raw.ndim == 1 else raw
        if raw.ndim != 2 or raw.shape[1] != self.model_config.n_steps:
            raise EmovaeError(f"melodies must have shape (N, {self.model_config.n_steps}), got {tuple(raw.shape)}")
        if emotion is None:
            emotion = 0  # a label-free encoder ignores it; encode() checks the labelled kind
        idx = torch.as_tensor(self.vocab.encode(raw), device=self.device)
        self.net.eval()
        mus, logvars = [], []
        for start in range(0, len(idx), MAX_BATCH):
            rows = idx[start : start + MAX_BATCH]
            mu, logvar = self.net.encode(rows, _emotions_slice(emotion, start, len(rows), len(idx), self.device))
            mus.append(mu.float().cpu())
            logvars.append(logvar.float().cpu())
        if not mus:
            return np.zeros((0, self.model_config.latent), np.float32), np.zeros(
                (0, self.model_config.latent), np.float32
            )
        return torch.cat(mus).numpy(), torch.cat(logvars).numpy()

    def reconstruct(self, tokens, emotion=None) -> np.ndarray:
        """Each melody encoded to its whole latent mean and decoded back (argmax): raw tokens."""
        mu, _ = self.latent(tokens, emotion)
        return self.decode(mu, emotion if emotion is not None else 0)

    @torch.no_grad()
    def decode(self, z, emotion, *, temperature: float = 0.0, seed: int = 0) -> np.ndarray:
        """Raw tokens (N, 64) decoded from latent points ``z`` (N, 2) with the emotion(s) as
        condition. ``temperature`` 0 reads each step's softmax by argmax (the paper's way);
        above 0 each step is drawn from softmax(logits / temperature), seeded by ``seed``.
        A model with extra latent dimensions (``latent`` > 2) takes (N, 2) points on the plane
        and draws the other dimensions from the prior N(0, 1), seeded by ``seed`` (or takes
        (N, latent) points whole)."""
        return self._decode(z, emotion, check_temperature(temperature), seed)

    @torch.no_grad()
    def _decode(self, z, emotion, temperature: float, seed: int) -> np.ndarray:
        """:meth:`decode` with a temperature already checked (:func:`emovae.limits.check_temperature`)."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        latent = self.model_config.latent
        if z.ndim != 2 or z.shape[1] not in (2, latent):
            raise EmovaeError(f"latent points must have shape (N, 2), got {tuple(z.shape)}")
        if z.shape[1] < latent:
            extra = torch.randn(len(z), latent - z.shape[1], generator=torch.Generator().manual_seed(int(seed) + 7919))
            z = torch.cat([z, extra], dim=1)
        gen = torch.Generator().manual_seed(int(seed)) if temperature > 0 else None
        self.net.eval()
        out = []
        for start in range(0, len(z), MAX_BATCH):
            rows = z[start : start + MAX_BATCH].to(self.device)
            with fused_decoding():  # the fused C++ decoder where it applies (emovae.gru._decode)
                logits = self.net.decode(rows, _emotions_slice(emotion, start, len(rows), len(z), self.device)).float()
            if temperature > 0:
                probs = torch.softmax(logits.cpu() / temperature, dim=-1)
                picks = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=gen)
                out.append(picks.reshape(probs.shape[:2]))
            else:
                out.append(logits.argmax(-1).cpu())
        if not out:
            return np.zeros((0, self.model_config.n_steps), np.int64)
        return self.vocab.decode(torch.cat(out).numpy())

    @property
    def default_sampler(self) -> str:
        """ "fitted" where the checkpoint carries a fitted density, else "paper"."""
        return "fitted" if self.sampler is not None else "paper"

    @torch.no_grad()
    def fit_sampler(self, tokens, labels, hashes=None) -> FittedSampler:
        """Fit the per-emotion density to the codes of raw-token melodies (the training split)
        with their labels, store it, and keep ``hashes`` (default: those of the same melodies)
        for the copy guard."""
        self.sampler = FittedSampler.fit(self.encode(tokens, labels), labels)
        self.training_hashes = frozenset(token_hash(t) for t in tokens) if hashes is None else frozenset(hashes)
        return self.sampler

    def sample_points(
        self,
        emotion,
        n: int = 20,
        *,
        seed: int = 0,
        shift: bool | None = None,
        std: float = 2.0,
        radius: float = 2.0,
        sampler: str | None = None,
        spread: float = 1.0,
    ) -> np.ndarray:
        """n latent points of one emotion (:mod:`emovae.samplers`). ``sampler`` "paper":
        z ~ N(0, std^2 I), for CVAE-EmoReg shifted to the emotion's quadrant centre (+-radius,
        +-radius) (``shift`` None = as the model calls for); "fitted": z ~ N(m_e, spread^2 S_e),
        the density fitted to the training codes; None = :attr:`default_sampler` ("paper" when
        ``shift`` is given). Seeded by
        ``seed`` and the emotion, so each emotion draws its own points."""
        n = check_count(n)
        e = emotion_index(emotion)
        seed = check_seed(seed)
        if sampler is None:  # a shift asked for is the paper's sampler
            sampler = "paper" if shift is not None else self.default_sampler
        sampler = check_sampler(sampler)
        if sampler == "fitted":
            if self.sampler is None:
                raise EmovaeError(
                    "this model carries no fitted sampler: use sampler 'paper', or fit one into a checkpoint "
                    "of your own (emovae fit-sampler)"
                )
            spread = check_spread(spread)
            return self.sampler.points(e, n, np.random.default_rng([seed, e]), spread=spread).astype(np.float32)
        if (
            isinstance(std, bool)
            or not isinstance(std, (int, float, np.integer, np.floating))
            or not (math.isfinite(float(std)) and std > 0)
        ):
            raise EmovaeError(f"std {shown(std)}: a finite number > 0 is needed")
        shift = self.emotion_regularized if shift is None else shift
        gen = torch.Generator().manual_seed(seed * 4 + e)
        z = torch.randn(n, 2, generator=gen) * std
        if shift:
            z[:, :2] += torch.tensor(quadrant_centre(e, radius))
        return z.numpy()

    def sample(
        self,
        emotion,
        n: int = 20,
        *,
        seed: int = 0,
        shift: bool | None = None,
        std: float = 2.0,
        temperature: float = 0.0,
        sampler: str | None = None,
        spread: float = 1.0,
        unique: bool = False,
    ) -> np.ndarray:
        """n melodies (raw tokens (n, 64)) of one emotion, at :meth:`sample_points`. With
        ``unique`` (the copy guard) a melody equal to one of the data set is drawn again near its
        point (``GUARD_STEP`` away, at most ``GUARD_TRIES`` times)."""
        z = self.sample_points(emotion, n, seed=seed, shift=shift, std=std, sampler=sampler, spread=spread)
        temperature = check_temperature(temperature)
        tokens = self._decode(z, emotion, temperature, seed)
        return self._redraw_copies(z, emotion, tokens, seed, temperature)[1] if unique else tokens

    def copies(self, tokens) -> np.ndarray:
        """(N,) bool: which raw-token melodies equal a melody of the data set (by hash)."""
        if not self.training_hashes:
            raise EmovaeError("this model holds no hashes of its training melodies: refit it (emovae fit-sampler)")
        return np.array([token_hash(t) in self.training_hashes for t in np.asarray(tokens)], dtype=bool)

    def redraw_copies(self, z, emotion, tokens, *, seed: int = 0, temperature: float = 0.0):
        """The copy guard: each melody equal to one of the data set is decoded again at a point
        ``GUARD_STEP`` (sd) from its last one, at most ``GUARD_TRIES`` times (seeded by ``seed``
        and the emotion). Returns the points and the melodies ``(z, tokens)``; a melody still a
        copy after the last try is kept."""
        return self._redraw_copies(z, emotion, tokens, check_seed(seed), check_temperature(temperature))

    def _redraw_copies(self, z, emotion, tokens, seed: int, temperature: float):
        """:meth:`redraw_copies` with the seed and temperature already checked."""
        gen = np.random.default_rng([seed, emotion_index(emotion), 1])
        z, tokens = np.array(z, dtype=np.float32), np.array(tokens)
        for attempt in range(GUARD_TRIES):
            rows = np.flatnonzero(self.copies(tokens))
            if len(rows) == 0:
                break
            z[rows] += (gen.standard_normal((len(rows), 2)) * GUARD_STEP).astype(np.float32)
            tokens[rows] = self._decode(z[rows], emotion, temperature, seed + 1 + attempt)
        return z, tokens

    # -- files -----------------------------------------------------------------------------
    def save(self, path, optimizer_state: bool = True) -> Path:
        """Write this model (with its training state unless ``optimizer_state`` is False), atomically."""
        state = self.state if optimizer_state else self.state.model_only()
        return save_checkpoint(
            path,
            net=self.net,
            vocab=self.vocab,
            train_config=self.train_config,
            epoch=self.epoch,
            history=self.history,
            state=state,
            sampler=self.sampler,
            training_hashes=self.training_hashes,
        )

    def export(self, path) -> Path:
        """Write a model-only copy (configs, vocabulary, weights, history, split)."""
        return self.save(path, optimizer_state=False)


def _emotions_slice(emotion, start: int, count: int, total: int, device) -> torch.Tensor:
    if isinstance(emotion, (str, int, np.integer)):
        return _emotions(emotion, count, device)
    return _emotions(list(emotion), total, device)[start : start + count]


def save_checkpoint(
    path,
    *,
    net: CVAE,
    vocab: Vocabulary,
    train_config: TrainConfig,
    epoch: int = 0,
    history: list | None = None,
    state: TrainingState | None = None,
    sampler: FittedSampler | None = None,
    training_hashes=(),
) -> Path:
    """Write a checkpoint atomically (a crash never leaves a half-written file). A model whose
    weights are not all finite numbers (a diverged run) is not written: EmovaeError."""
    bad = _non_finite_weight(net.state_dict())
    if bad is not None:
        raise EmovaeError(f"{path}: not written: weight {bad} holds NaN or infinite values (a diverged model)")
    payload = {
        "format": FORMAT,
        "model_config": net.config.to_dict(),
        "vocab": vocab.to_list(),
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "train_config": train_config.to_dict(),
        "epoch": int(epoch),
        "history": list(history or []),
        "state": (state or TrainingState()).to_dict(),
        "sampler": sampler.to_dict() if sampler is not None else None,
        "training_hashes": sorted(training_hashes),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def resolve_checkpoint(spec: str | os.PathLike | None = None) -> Path:
    """The checkpoint file meant by ``spec``: None or a preset name = the bundled weights, a
    folder = its checkpoint.pt, anything else = the file itself."""
    from .weights import NAMES as BUNDLED_NAMES
    from .weights import bundled

    if spec is None:
        return bundled(DEFAULT_PRESET)
    text = str(spec)
    name = ALIASES.get(text, text)
    if name in PRESETS and not Path(text).exists():
        if name not in BUNDLED_NAMES:
            raise EmovaeError(f"{text}: a preset without bundled weights; train it (emovae train --preset {text})")
        return bundled(name.removeprefix("paper-"))
    path = Path(spec)
    return path / "checkpoint.pt" if path.is_dir() else path


def load_model(
    spec: str | os.PathLike | TrainedModel | None = None,
    device: str | torch.device = "cpu",
    precision: str | None = None,
) -> TrainedModel:
    """Load a trained model: bundled by name, a checkpoint file or a run folder (see
    :func:`resolve_checkpoint`); a :class:`TrainedModel` is handed back as it is.
    Errors name the file and what is wrong with it."""
    if isinstance(spec, TrainedModel):
        return spec
    path = resolve_checkpoint(spec)
    if not path.is_file():
        wanted = "a checkpoint file, a run folder holding checkpoint.pt, or emoreg / base"
        if isinstance(spec, (str, os.PathLike)) and Path(spec).is_dir():
            raise EmovaeError(f"{spec}: no such checkpoint, a folder without checkpoint.pt (give {wanted})")
        raise EmovaeError(
            f"{path}: no such checkpoint file (give {wanted})"
            if not path.exists()
            else f"{path}: not a file (give {wanted})"
        )
    payload = _read_payload(path)
    try:
        config = CVAEConfig.from_dict(payload["model_config"])
        train_config = TrainConfig.from_dict(payload.get("train_config"))
        vocab = Vocabulary.from_list(payload["vocab"])
        weights = payload["model"]
        epoch = int(payload.get("epoch", 0))
        history = list(payload.get("history", []))
        state = TrainingState.from_dict(payload.get("state"))
        sampler = FittedSampler.from_dict(payload["sampler"]) if payload.get("sampler") else None
        hashes = [str(h) for h in payload.get("training_hashes") or []]
    except EmovaeError as exc:
        raise EmovaeError(f"{path}: a damaged emovae checkpoint ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else "an entry of the wrong kind"
        raise EmovaeError(f"{path}: a damaged emovae checkpoint ({what})") from None
    if vocab.size != config.vocab_size:
        raise EmovaeError(f"{path}: vocabulary of {vocab.size} tokens but the model expects {config.vocab_size}")
    if config.n_steps != N_STEPS:
        raise EmovaeError(f"{path}: a model of {config.n_steps} steps; emovae reads {N_STEPS}-step melodies")
    try:
        net = CVAE(config, precision=precision or train_config.precision, init=False)
        net.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, AttributeError):
        raise EmovaeError(
            f"{path}: its weights do not fit the model configuration stored with them (a damaged emovae checkpoint)"
        ) from None
    bad = _non_finite_weight(weights)
    if bad is not None:
        raise EmovaeError(
            f"{path}: weight {bad} holds NaN or infinite values (a diverged training run); "
            "no model can be used from this checkpoint"
        )
    net.to(resolve_device(device))
    return TrainedModel(
        net,
        vocab,
        train_config,
        epoch=epoch,
        history=history,
        state=state,
        path=path,
        sampler=sampler,
        training_hashes=hashes,
    )


def _non_finite_weight(weights: dict) -> str | None:
    """The name of the first floating-point tensor of a state dict holding NaN or infinity, or None."""
    for name, value in weights.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6: a zip archive
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # older torch.save: a pickled magic number


def _read_payload(path: Path) -> dict:
    """The dict stored in an emovae checkpoint file, or a one-line EmovaeError in plain words
    saying what the file is: empty, not a PyTorch checkpoint, truncated or damaged, a file of
    pickled Python objects that needs code to load (refused: loading runs code), or a PyTorch
    file of someone else's (no emovae marker). Library messages are never passed on."""
    import pickle
    import re
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(len(_LEGACY_MAGIC))
    except OSError as exc:
        raise EmovaeError(f"{path}: cannot be read ({' '.join((exc.strerror or str(exc)).split())})") from None
    if not head:
        raise EmovaeError(f"{path}: an empty file, not a checkpoint")
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise EmovaeError(
                f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read to its "
                "end; copy or download it again)"
            ) from None
        if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
            raise EmovaeError(
                f"{path}: not an emovae checkpoint (not a PyTorch checkpoint file: a zip archive of other files)"
            )
    elif not head.startswith(_LEGACY_MAGIC):
        raise EmovaeError(f"{path}: not an emovae checkpoint (not a PyTorch checkpoint file at all)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([A-Za-z_][\w.]*)", str(exc))
        if found or "Weights only load failed" in str(exc):  # code a checkpoint of plain data never holds
            what = f" ({found.group(1)})" if found else ""
            raise EmovaeError(
                f"{path}: holds pickled Python objects{what} that need code to load; emovae "
                "loads only its own checkpoints of plain data (not an emovae checkpoint)"
            ) from None
        raise EmovaeError(f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read)") from None
    except Exception:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ValueError... for a bad file
        raise EmovaeError(f"{path}: truncated or damaged (a PyTorch checkpoint that cannot be read)") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise EmovaeError(
            f"{path}: not an emovae checkpoint (a PyTorch file without the '{FORMAT}' marker: someone else's model?)"
        )
    return payload
