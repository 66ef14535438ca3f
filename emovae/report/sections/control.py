"""2. Emotion control accuracy: ``n_per_emotion`` melodies per emotion from each model (the paper's
sampling, and the fitted density's where the model carries one; ``seed``;
:meth:`.context.Context.draws`) and every melody of each set, judged by the
classifier trained on ALL real melodies (:func:`emovae.classifier.control_accuracy`), beside the
classifier's own accuracy on real held-out melodies (section 1)."""

from __future__ import annotations

from ...emotions import LABELS
from ..context import Context
from ..fmt import confusion_table, pct, table


def steps(ctx: Context) -> int:
    return len(ctx.draws()) + len(ctx.sets)


def compute(ctx: Context) -> dict:
    from ...classifier import control_accuracy

    out = {}
    for column, (name, sampler) in ctx.draws().items():
        with ctx.step(f"{column}: sampling"):
            tokens, asked = ctx.generated(column)
            out[column] = {
                "kind": "model",
                "sampler": sampler,
                **control_accuracy(ctx.classifier, tokens, asked),
                "slug": ctx.slugs[name] + ("_fitted" if sampler == "fitted" else ""),
            }
    for name, s in ctx.sets.items():
        with ctx.step(f"{name}: judging"):
            out[name] = {
                "kind": "set",
                **control_accuracy(ctx.classifier, s.tokens, s.labels),
                "skipped": len(s.skipped),
            }
    return {"control": out}


def _row(label: str, c: dict, extra: str = "") -> list:
    return [
        label,
        f"{c['n']}{extra}",
        pct(c["accuracy"]),
        pct(c["arousal_accuracy"]),
        pct(c["valence_accuracy"]),
        *(pct(v) for v in c.get("per_emotion", [None] * 4)),
    ]


def markdown(r: dict, figures: dict) -> list:
    s, ctl = r["settings"], r["control"]
    cv, held = r["classifier"]["cross_validation"], r["classifier"]["heldout"]
    header = ["melodies", "n", "4 quadrants %", "arousal %", "valence %", *(f"{LABELS[e]} %" for e in range(4))]
    rows = []
    for name, c in ctl.items():
        extra = f" ({c['skipped']} skipped)" if c.get("skipped") else ""
        rows.append(_row(f"**{name}**" if c["kind"] == "model" else name, c, extra))
    rows.append(_row("real held-out melodies (classifier trained on the training split)", held))
    rows.append(
        [
            "real melodies, cross-validated (grouped by tune)",
            cv["n"],
            pct(cv["accuracy"]),
            pct(cv["arousal_accuracy"]),
            pct(cv["valence_accuracy"]),
            *(pct(cv["confusion"][e][e] / max(1, sum(cv["confusion"][e]))) for e in range(4)),
        ]
    )
    lines = [
        "## 2. Emotion control accuracy",
        "",
        "The share of melodies the classifier (trained on ALL real melodies) assigns to the emotion they were asked "
        f"for (models: {s['n_per_emotion']} per emotion by the paper's sampling, and by the density fitted to the "
        f"model's training codes in the rows so marked, seed {s['seed']}; sets: the e1..e4 "
        "folder of each file), to the asked arousal and to the asked valence; e1..e4 = the accuracy among the "
        "melodies asked for that emotion. The last two rows are the classifier's own accuracy on real melodies: "
        "a generated set cannot be judged more sharply than that.",
        "",
        table(header, rows),
    ]
    for name, c in ctl.items():
        lines += [f"Confusion, {name} (rows: asked, columns: assigned):", "", confusion_table(c["confusion"])]
    return lines
