"""The goal table of the emotion-plane issue (:func:`goal_markdown`) and per-configuration
summaries over seeds (:func:`summarize`)."""

from __future__ import annotations

import math

import numpy as np

from .figures import GENERATION_KEYS, SAMPLER_SUFFIX

GOAL = {  # the emotion-plane issue's goal, per seed
    "d_train": 97.0,  # D (recall and precision) on the training split, at least
    "d_heldout": 95.0,  # and on the held-out split
    "acc_train_gap": 0.01,  # training token accuracy at most this below CVAE-Base's mean
    "copies": 0.05,  # exact copies of a training melody among 400 generated, at most
    "distinct": 0.95,  # distinct melodies among 400, at least
    "degenerate": 0.005,  # degenerate (novelty.invalid_reason: no note, one pitch, a long rest) among 400, at most
    "table3": 14,  # Table 3 cells (of 16) within 0.5 sigma of the data set's, at least
    # control: the classifier's accuracy at least CVAE-Base's mean (paper sampler)
}


def _has(row, sampler: str) -> bool:
    """Whether a row holds the figures of ``sampler`` (older rows: the paper's only)."""
    return f"control_accuracy{SAMPLER_SUFFIX[sampler]}" in row


def _f(row, key) -> float:
    v = row.get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def goal_markdown(rows: list[dict], base: str = "paper-base") -> str:
    """The goal table: per configuration, the worst seed on each criterion of :data:`GOAL`
    (CVAE-Base's means as the references) and the criteria it misses."""
    by: dict = {}
    for r in rows:
        by.setdefault(r["config"], []).append(r)

    def mean(name, key):
        vals = [_f(r, key) for r in by.get(name, [])]
        vals = [v for v in vals if not math.isnan(v)]
        return sum(vals) / len(vals) if vals else math.nan

    base_train, base_held = mean(base, "acc_train"), mean(base, "acc_heldout")
    base_control = mean(base, "control_accuracy")  # CVAE-Base with the paper's sampler
    head = (
        "| config | sampler | seeds | D train min (rec/prec) | D held-out min | acc train mean (min) "
        "| acc held-out mean (min) | collapsed | Table 3 min | copies max | distinct min | degenerate max "
        "| control mean | misses |"
    )
    lines = [head, "|" + "---|" * 14]
    for (name, sampler), group in (
        ((n, s), g)
        for n, g in by.items()
        for s in SAMPLER_SUFFIX
        if all(_has(r, s) for r in g if not r.get("diverged"))
    ):
        suffix = SAMPLER_SUFFIX[sampler]
        failed = [r for r in group if r.get("diverged")]  # seeds without figures: counted as misses
        group = [r for r in group if not r.get("diverged")]
        if not group:
            lines.append(f"| {name} | {sampler} | 0 (+{len(failed)} diverged) |" + " - |" * 10 + " diverged |")
            continue

        def low(key, group=group, suffix=suffix):
            return min(_f(r, key + suffix if key in GENERATION_KEYS else key) for r in group)

        def high(key, group=group, suffix=suffix):
            return max(_f(r, key + suffix if key in GENERATION_KEYS else key) for r in group)

        misses = [f"diverged ({len(failed)})"] if failed else []
        if min(low("d_recall_train"), low("d_precision_train")) < GOAL["d_train"]:
            misses.append("D train")
        if min(low("d_recall_heldout"), low("d_precision_heldout")) < GOAL["d_heldout"]:
            misses.append("D held-out")
        if not low("acc_train") >= base_train - GOAL["acc_train_gap"]:
            misses.append("acc train")
        if not low("acc_heldout") >= base_held:
            misses.append("acc held-out")
        if any(str(r["collapsed"]) == "True" for r in group):
            misses.append("collapse")
        if not low("table3_within") >= GOAL["table3"]:
            misses.append("Table 3")
        if not high("exact_copies") <= GOAL["copies"]:
            misses.append("copies")
        if not low("distinct_share") >= GOAL["distinct"]:
            misses.append("distinct")
        if not high("degenerate") <= GOAL["degenerate"]:
            misses.append("degenerate")
        control = sum(_f(r, "control_accuracy" + suffix) for r in group) / len(group)
        if not control >= base_control:
            misses.append("control")
        cells = [
            name,
            sampler,
            str(len(group)) + (f" (+{len(failed)} diverged)" if failed else ""),
            f"{low('d_recall_train'):.1f} / {low('d_precision_train'):.1f}",
            f"{low('d_recall_heldout'):.1f} / {low('d_precision_heldout'):.1f}",
            f"{100 * mean(name, 'acc_train'):.1f} ({100 * low('acc_train'):.1f})",
            f"{100 * mean(name, 'acc_heldout'):.1f} ({100 * low('acc_heldout'):.1f})",
            str(sum(str(r["collapsed"]) == "True" for r in group)),
            f"{low('table3_within'):.0f}",
            f"{100 * high('exact_copies'):.1f}%",
            f"{100 * low('distinct_share'):.1f}%",
            f"{100 * high('degenerate'):.1f}%",
            f"{100 * control:.1f}%",
            ", ".join(misses) or "none",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summarize(rows: list[dict], keys=("d_recall_train", "d_recall_heldout", "acc_train", "acc_heldout")) -> dict:
    """Per configuration: mean and sd (n - 1) over its seeds of each key, and the seed count."""
    out: dict = {}
    for row in rows:
        out.setdefault(row["config"], []).append(row)
    summary = {}
    for name, group in out.items():
        s = {"n": len(group), "collapsed": sum(str(r["collapsed"]) == "True" for r in group)}
        for k in keys:
            v = np.array([float(r[k]) for r in group], dtype=float)
            s[k] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)
        summary[name] = s
    return summary
