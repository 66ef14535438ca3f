"""4. Novelty and diversity (:mod:`emovae.novelty`): per source and emotion, exact and near copies of
training melodies, distinct melodies per 100, the degenerate (invalid) share
(:func:`emovae.novelty.novelty_by_emotion`)."""

from __future__ import annotations

from ..context import Context
from ..fmt import num, pct, table


def steps(ctx: Context) -> int:
    return 0


def compute(ctx: Context) -> dict:
    from ...data import split
    from ...novelty import NEAR_STEPS, novelty_by_emotion

    ds, out = ctx.ds, {}
    for column, (name, _) in ctx.draws().items():
        model, data = ctx.models[name]
        tokens, asked = ctx.generated(column)
        train_raw = model.vocab.decode(data.indices[data.train_idx])
        out[column] = {
            "reference": f"its training split ({len(train_raw)} melodies)",
            "emotions": novelty_by_emotion(tokens, asked, train_raw, real=ds.tokens, near=NEAR_STEPS),
        }
    authors_train = ds.tokens[split(ds.labels)[0]]
    for name, s in ctx.sets.items():
        out[name] = {
            "reference": f"the authors' training split ({len(authors_train)} melodies, split seed 42, 20% held out)",
            "emotions": novelty_by_emotion(s.tokens, s.labels, authors_train, real=ds.tokens, near=NEAR_STEPS),
        }
    return {"novelty": out}


def markdown(r: dict, figures: dict) -> list:
    near = r["settings"]["near_steps"]
    rows = []
    for name, nv in r["novelty"].items():
        for emo, v in nv["emotions"].items():
            rows.append(
                [
                    name if emo == "all" else "",
                    emo,
                    v["n"],
                    num(v["distinct_per_100"], 1),
                    pct(v["exact_share"]),
                    pct(v["near_share"]),
                    pct(v["distinct_exact_share"]),
                    f"{v['training_copied']} / {v['training_distinct']}",
                    pct(v["exact_share_any_real"]),
                    num(v["mean_distance"], 1),
                    pct(v["degenerate_share"]),
                ]
            )
    header = [
        "source",
        "emotion",
        "n",
        "distinct per 100",
        "exact copies %",
        f"near (<= {near}) %",
        "exact among distinct %",
        "training reproduced",
        "exact, any real %",
        "mean distance",
        "degenerate %",
    ]
    return [
        "## 4. Novelty and diversity",
        "",
        f"Distance = token Hamming distance over the 64 steps (0 = an exact copy); a near copy is within "
        f"{near} steps. Copies are counted against the training melodies (a model: its own training split; "
        "a set: the authors' training split) over all melodies and over the distinct ones; "
        "'training reproduced' = distinct training melodies generated exactly; 'any real' = exact copies of any of "
        "the data set's melodies (held-out included). Distinct per 100 = 100 x distinct / n (compare equal n only). "
        "Degenerate = breaks the validity rule of section 3.",
        "",
        table(header, _all_first(rows)),
    ]


def _all_first(rows: list) -> list:
    """Put each source's 'all' row first (the novelty dict holds e1..e4 then all)."""
    out, block = [], []
    for row in rows:
        block.append(row)
        if row[1] == "all":
            out += [block[-1], *block[:-1]]
            block = []
    return out + block
