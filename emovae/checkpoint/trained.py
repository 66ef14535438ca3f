"""The trained-model object every tool goes through.

:class:`TrainedModel` is the model as a user sees it (magenta's ``TrainedModel``):
``encode(tokens, emotion)`` -> latent points, ``decode(z, emotion)`` -> tokens,
``sample(emotion, n, seed)`` -> tokens. Tokens here are raw tokens (see :mod:`emovae.data`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..config import CVAEConfig, TrainConfig, title_of
from ..data import Vocabulary, token_hash
from ..emotions import emotion_index, quadrant_centre
from ..errors import EmovaeError
from ..gru import fused_decoding
from ..limits import check_count, check_seed, check_spread, check_temperature, shown
from ..model import CVAE
from ..samplers import FittedSampler, check_sampler
from .files import TrainingState, save_checkpoint

MAX_BATCH = 4096  # melodies decoded at once: memory stays bounded whatever n is asked for
GUARD_TRIES = 20  # unique=True: a copy of a training melody is drawn again this many times at most
GUARD_STEP = 0.5  # ... each time this far (standard deviation on the plane) from its last point


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
