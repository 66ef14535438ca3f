"""6. Closeness to the training set: Table 3 (:mod:`emovae.metrics`) per model (its generated melodies
of section 2, :func:`emovae.metrics.token_metrics`) and set (its readable files), the cells within
half a training-set sigma marked (:func:`emovae.metrics.within_sigma`) and counted
(:func:`emovae.metrics.count_within`)."""

from __future__ import annotations

import math

from ...emotions import LABELS
from ..context import Context
from ..fmt import table
from ..inputs import REFERENCE


def steps(ctx: Context) -> int:
    return 1


def compute(ctx: Context) -> dict:
    import muspy

    from ...metrics import SIGMA_SHARE, count_within, folder_metrics, set_metrics, token_metrics, within_sigma

    with ctx.step("Table 3"):
        columns = {column: token_metrics(*ctx.generated(column)) for column in ctx.draws()}
        for name, s in ctx.sets.items():
            columns[name] = set_metrics(
                {e: [muspy.read_midi(p) for p, lab in zip(s.paths, s.labels) if lab == e] for e in range(4)}
            )
        reference = folder_metrics(ctx.root)
        marks = {name: within_sigma(col, reference) for name, col in columns.items()}
        return {
            "table3": {
                "reference": REFERENCE,
                "sigma_share": SIGMA_SHARE,
                "columns": {REFERENCE: _json(reference), **{name: _json(col) for name, col in columns.items()}},
                "within": {name: {LABELS[e]: m for e, m in mk.items()} for name, mk in marks.items()},
                "within_count": {name: count_within(mk) for name, mk in marks.items()},
                "cells": sum(len(m) for m in reference.values()),
            }
        }


def _json(column: dict) -> dict:
    return {LABELS[e]: {m: list(v) for m, v in metrics.items()} for e, metrics in column.items()}


def _cell(cell) -> str:
    if cell is None or math.isnan(float(cell[0])):
        return "n/a"
    return f"{float(cell[0]):.2f} ({float(cell[1]):.2f})"


def markdown(r: dict, figures: dict) -> list:
    from ...metrics import METRIC_TITLES, METRICS, SIGMA_SHARE

    t3 = r["table3"]
    reference = t3["columns"][t3["reference"]]
    names = [n for n in t3["columns"] if n != t3["reference"]]
    header = ["metric", "emotion", t3["reference"], *names]
    rows = []
    for metric in METRICS:
        for e in LABELS:
            row = [METRIC_TITLES[metric] if e == LABELS[0] else "", e, _cell(reference.get(e, {}).get(metric))]
            for name in names:
                cell = t3["columns"][name].get(e, {}).get(metric)
                ok = t3["within"][name].get(e, {}).get(metric)
                row.append(f"**{_cell(cell)}** ✓" if ok else _cell(cell))
            rows.append(row)
    rows.append([f"within {SIGMA_SHARE:g} sigma", "", "", *(f"{t3['within_count'][n]} / {t3['cells']}" for n in names)])
    return [
        "## 6. Closeness to the training set (Table 3)",
        "",
        f"MusPy metrics, mean (population sd) per emotion. A cell is marked (**bold** ✓) when its mean lies within "
        f"{SIGMA_SHARE:g} sigma of the training set's mean (sigma = the training set's sd); the last row counts them. "
        "Models: their generated melodies of section 2; sets: their readable files.",
        "",
        table(header, rows),
    ]
