"""The grid over the plane: a ``grid x grid`` lattice over ``[-6, 6]^2``
(:func:`emovae.evaluate.plane_grid`) decoded by each model, each point conditioned on the emotion of
its own quadrant (:func:`emovae.evaluate.quadrant_of`).

- 2. **continuous**: the classifier's valence and arousal
  (:meth:`~emovae.classifier.EmotionClassifier.predict_va`, in [-1, 1]) against the point's
  coordinates (:func:`emovae.evaluate.va_agreement`), drawn over the plane;
- 3. **every point a melody**: the grid's validity (:func:`emovae.novelty.grid_stats`) and how note
  density, mode, mean pitch and pitch range change along each axis
  (:func:`emovae.novelty.grid_profiles`).
"""

from __future__ import annotations

import numpy as np

from ..context import Context
from ..fmt import first, num, pct, table


def steps(ctx: Context) -> int:
    return len(ctx.models)


def compute(ctx: Context) -> dict:
    from ... import plots
    from ...classifier import control_accuracy
    from ...evaluate import GRID_LIMIT, va_agreement
    from ...novelty import grid_profiles, grid_stats, invalid_reason

    g, clf = ctx.grid, ctx.classifier
    continuous, grids = {}, {}
    for name, (model, _) in ctx.models.items():
        slug = ctx.slugs[name]
        with ctx.step(f"{name}: grid over the plane"):
            decoded = model.decode(ctx.points.astype(np.float32), ctx.grid_emotions)
            va = clf.predict_va(decoded)
            profiles = grid_profiles(decoded, ctx.coords)
            valid = [invalid_reason(row) is None for row in decoded]
            continuous[name] = {
                **va_agreement(va, ctx.points),
                "points": len(ctx.points),
                "control_on_grid": control_accuracy(clf, decoded, ctx.grid_emotions),
            }
            grids[name] = {**grid_stats(decoded.reshape(g, g, -1)), "profiles": profiles}
            ctx.figures[f"plane_va_{slug}.png"] = (
                plots.plot_va_plane,
                {
                    "valence": va[:, 0].reshape(g, g),
                    "arousal": va[:, 1].reshape(g, g),
                    "valid": np.asarray(valid).reshape(g, g),
                    "limit": GRID_LIMIT,
                    "title": f"{name}: the classifier's valence and arousal of the decoded {g} x {g} grid",
                },
            )
            ctx.figures[f"grid_features_{slug}.png"] = (
                plots.plot_axis_profiles,
                {
                    "coords": ctx.coords,
                    "profiles": {f: (p["along_valence"], p["along_arousal"]) for f, p in profiles.items()},
                    "title": f"{name}: features along each axis (mean over the other axis)",
                },
            )
    return {"continuous": continuous, "grid": grids}


def markdown(r: dict, figures: dict) -> list:
    return _continuous(r) + _every_point(r)


def _continuous(r: dict) -> list:
    if not r["continuous"]:
        return []
    s, ctl = r["settings"], r["control"]
    lines = [
        "### Continuous valence and arousal over the plane",
        "",
        f"Each point of the {s['grid']} x {s['grid']} grid is decoded with the emotion of its own quadrant as "
        "condition; the classifier's valence = 2 (P(e1) + P(e4)) - 1 and arousal = 2 (P(e1) + P(e2)) - 1 (both "
        "in [-1, 1]) are compared with the point's coordinates, scaled two ways: to their **sign** (+1 for a "
        f"coordinate >= 0, else -1) and **linearly** (coordinate / {s['grid_limit']:g}, in [-1, 1]). L1 = mean "
        "absolute difference (0 best, 2 worst); r = Pearson correlation with the coordinate (scale-free).",
        "",
        table(
            [
                "model",
                "valence L1 (sign)",
                "valence L1 (linear)",
                "valence r",
                "arousal L1 (sign)",
                "arousal L1 (linear)",
                "arousal r",
                "grid control accuracy %",
            ],
            [
                [
                    name,
                    num(v["valence"]["l1_sign"]),
                    num(v["valence"]["l1_scaled"]),
                    num(v["valence"]["pearson"]),
                    num(v["arousal"]["l1_sign"]),
                    num(v["arousal"]["l1_scaled"]),
                    num(v["arousal"]["pearson"]),
                    pct(v["control_on_grid"]["accuracy"]),
                ]
                for name, v in r["continuous"].items()
            ],
        ),
    ]
    for name in r["continuous"]:
        lines += [f"![{name}: predicted valence and arousal over the plane](plane_va_{ctl[name]['slug']}.png)", ""]
    return lines


def _every_point(r: dict) -> list:
    if not r["grid"]:
        return []
    ctl = r["control"]
    lines = [
        "## 3. Every point a melody",
        "",
        f"The same grid. A melody is **valid** when it has (1) at least one note, (2) at least two different "
        f"pitches and (3) no run of more than {next(iter(r['grid'].values()))['max_rest_steps']} silent steps "
        "(the longest in the training set); an invalid one is counted under its first failing test.",
        "",
        table(
            ["model", "points", "valid %", "distinct melodies", "distinct valid", "no note", "one pitch", "long rest"],
            [
                [
                    name,
                    g["n"],
                    pct(g["valid_share"]),
                    g["distinct"],
                    g["distinct_valid"],
                    g["no_note"],
                    g["one_pitch"],
                    g["long_rest"],
                ]
                for name, g in r["grid"].items()
            ],
        ),
        "How features change along each axis: the feature's mean over the other axis at the grid's two ends "
        "(-6 and +6) and the correlation of that profile with the coordinate (mode = C-major rate minus C-minor "
        "rate; mean pitch, range and mode over the melodies with notes).",
        "",
    ]
    rows = []
    for name, g in r["grid"].items():
        for f, p in g["profiles"].items():
            rows.append(
                [
                    name,
                    f,
                    num(first(p["along_valence"])),
                    num(first(p["along_valence"][::-1])),
                    num(p["pearson_valence"]),
                    num(first(p["along_arousal"])),
                    num(first(p["along_arousal"][::-1])),
                    num(p["pearson_arousal"]),
                ]
            )
    header = ["model", "feature", "valence -6", "valence +6", "r (valence)", "arousal -6", "arousal +6", "r (arousal)"]
    lines += [table(header, rows)]
    for name in r["grid"]:
        lines += [f"![{name}: features along each axis](grid_features_{ctl[name]['slug']}.png)", ""]
    return lines
