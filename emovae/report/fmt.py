"""Markdown tables and numbers of the report (its JSON made safe: :func:`emovae.atomic.jsonable`)."""

from __future__ import annotations

import math

import numpy as np

from ..emotions import LABELS, NAMES


def pct(x) -> str:
    """A share as a percentage with one decimal; "n/a" for None or NaN."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.1f}"


def num(x, digits: int = 2) -> str:
    """A number with ``digits`` decimals; "n/a" for None or NaN."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.{digits}f}"


def first(values) -> float | None:
    """The first finite value, None if there is none."""
    for v in values:
        if v is not None and np.isfinite(v):
            return float(v)
    return None


def table(header: list, rows: list) -> str:
    """A Markdown table, ending with a newline."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def confusion_table(confusion, what: str = "asked") -> str:
    """A 4 x 4 confusion matrix (rows ``what``, columns assigned) with each row's count."""
    header = [f"{what} \\ assigned", *(f"{LABELS[e]} {NAMES[e]}" for e in range(4)), "n"]
    rows = [[f"{LABELS[e]} {NAMES[e]}", *map(int, confusion[e]), int(sum(confusion[e]))] for e in range(4)]
    return table(header, rows)
