"""What every section of the report reads: the checked input, the settings, the grid over the
plane, the shared classifier and generated melodies, the pictures to draw, the progress bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class Progress:
    """The report's progress bar (tqdm): one :meth:`step` per long piece of work."""

    def __init__(self, total: int, enabled: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="report", unit="step", disable=not enabled, dynamic_ncols=True)

    def step(self, what: str):
        self.bar.set_description(what[:48])
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.bar.update(1)
        return False

    def close(self):
        self.bar.close()


@dataclass
class Context:
    """The input of :func:`emovae.report.report`, checked and loaded (:func:`.inputs.load`), and what
    the sections share while they compute.

    ``models``: name -> (TrainedModel, its encoded data split); ``sets``: name -> :class:`.inputs.MidiSet`;
    ``runs``: group -> [(folder, TrainedModel, data)]; ``specs``: model name -> its spec; ``slugs``: model name -> file-name slug,
    ``run_slugs``: group -> slug of its picture. ``classifier`` is set by the classifier section
    (trained on all real melodies) for the sections after it; ``figures`` collects the pictures
    (file name -> (draw function, keyword arguments)) in the order they are listed.
    """

    root: Path
    ds: object  # emovae.data.Dataset: every real melody (tokens, labels), e1..e4 by name
    models: dict
    sets: dict
    runs: dict
    grid: int
    n_per_emotion: int
    seed: int
    slugs: dict
    run_slugs: dict
    specs: dict = field(default_factory=dict)  # model name -> the spec it was given as
    bar: Progress | None = None
    classifier: object = None
    figures: dict = field(default_factory=dict)
    _generated: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from ..evaluate import plane_grid, quadrant_of

        self.coords, self.points = plane_grid(self.grid)
        self.grid_emotions = quadrant_of(self.points)  # each point conditioned on its own quadrant

    def step(self, what: str):
        """A step of the progress bar (a context manager)."""
        return self.bar.step(what)

    def draws(self) -> dict:
        """Column name -> ``(model name, sampler)``: every model by the paper's sampling under its
        own name, and a model that carries a density fitted to its training codes
        (:mod:`emovae.samplers`) by that too, as "NAME, fitted sampler"."""
        out = {}
        for name, (model, _) in self.models.items():
            out[name] = (name, "paper")
            if model.sampler is not None:
                out[f"{name}, fitted sampler"] = (name, "fitted")
        return out

    def generated(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens, asked)``: the ``n_per_emotion`` melodies per emotion of a :meth:`draws` column
        (:func:`emovae.evaluate.generated_set`, ``seed``), drawn once and shared by the sections
        (control, novelty, Table 3)."""
        if column not in self._generated:
            from ..evaluate import generated_set

            name, sampler = self.draws()[column]
            self._generated[column] = generated_set(
                self.models[name][0], self.n_per_emotion, seed=self.seed, sampler=sampler
            )
        return self._generated[column]
