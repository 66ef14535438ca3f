"""5. Order on unseen melodies and over seeds: D_i and the reconstruction accuracy on both splits
(:func:`emovae.evaluate.split_figures`) per model; per run of each ``runs`` group and as mean and sd
over the runs (:func:`emovae.evaluate.mean_sd`), with one picture of every run's D_i over the epochs."""

from __future__ import annotations

from pathlib import Path

from ...emotions import QUADRANTS
from ..context import Context
from ..fmt import num, pct, table

_SUMMARY = ("mean_recall", "mean_precision", "overall", "token_accuracy", "melody_accuracy")
_RUN_KEYS = (
    "train_mean_recall",
    "heldout_mean_recall",
    "train_mean_precision",
    "heldout_mean_precision",
    "train_token_accuracy",
    "heldout_token_accuracy",
)


def steps(ctx: Context) -> int:
    return len(ctx.models) + sum(len(members) for members in ctx.runs.values())


def compute(ctx: Context) -> dict:
    from ... import plots
    from ...evaluate import mean_sd

    order = {}
    for name, (model, data) in ctx.models.items():
        with ctx.step(f"{name}: D_i and reconstruction"):
            order[name] = _order(model, data)
    runs = {}
    for group, members in ctx.runs.items():
        per_run = []
        for folder, model, data in members:
            with ctx.step(f"{group}: {Path(folder).name}"):
                per_run.append(
                    {"folder": folder, "seed": model.train_config.seed, "epoch": model.epoch, **_order(model, data)}
                )
        summary = {}
        for split_name in ("train", "heldout"):
            for key in _SUMMARY:
                summary[f"{split_name}_{key}"] = mean_sd([r.get(split_name, {}).get(key) for r in per_run])
        slug = ctx.run_slugs[group]
        runs[group] = {"runs": per_run, "summary": summary, "picture": f"{slug}.png"}
        ctx.figures[f"{slug}.png"] = (
            plots.plot_seed_curves,
            {
                "histories": {f"{Path(f).name} (seed {m.train_config.seed})": m.history for f, m, _ in members},
                "title": f"{group}: mean D_i over the epochs, one curve per run",
            },
        )
    return {"order": order, "runs": runs}


def _order(model, data) -> dict:
    """D_i and reconstruction accuracy of one model on its training and held-out splits."""
    from ...evaluate import split_figures

    return {
        split_name: {**f["accuracy"].to_dict(), **{k: f[k] for k in ("n", "token_accuracy", "melody_accuracy")}}
        for split_name, f in split_figures(model, data).items()
    }


def markdown(r: dict, figures: dict) -> list:
    lines = [
        "## 5. Order on unseen melodies and over seeds",
        "",
        "D_i recall = of the melodies labelled i, the share whose latent mean lies in quadrant i (the paper's "
        "D_i); precision = of the points in quadrant i, the share labelled i (the authors' code). Reconstruction "
        "= argmax(decode(mu, label)) against the input tokens: token accuracy, and the share of melodies "
        "reconstructed at every step.",
        "",
    ]
    if r["order"]:
        lines += [_order_table(r["order"], "model")]
    if not r["runs"]:
        return [
            *lines,
            "No multi-seed runs were given. Make them with `emovae train --seed S --out runs/emoreg_sS` for "
            "S = 1..5 (`--preset paper-base` for CVAE-Base), then pass "
            "`--runs emoreg=runs/emoreg_s1,runs/emoreg_s2,...` (one `--runs` per recipe).",
            "",
        ]
    for group, g in r["runs"].items():
        rows_by = {f"{Path(x['folder']).name} (seed {x['seed']}, epoch {x['epoch']})": x for x in g["runs"]}
        count = len(g["runs"])
        lines += [f"### Runs: {group} ({count} run{'s' * (count != 1)})", "", _order_table(rows_by, "run")]
        sm = g["summary"]
        lines += [
            table(
                [
                    "over the runs",
                    "D mean recall % train",
                    "held-out",
                    "D mean precision % train",
                    "held-out",
                    "token accuracy % train",
                    "held-out",
                ],
                [
                    ["mean", *(_run_stat(sm, k, "mean") for k in _RUN_KEYS)],
                    ["sd (n - 1)", *(_run_stat(sm, k, "sd") for k in _RUN_KEYS)],
                ],
            ),
            f"![{group}: D_i over the epochs]({g['picture']})",
            "",
        ]
    return lines


def _run_stat(summary: dict, key: str, stat: str) -> str:
    """D (already in percent) with one decimal; accuracies (shares) as percent."""
    v = summary[key][stat]
    return num(v, 1) if key.endswith(("recall", "precision")) else pct(v)


def _order_table(items: dict, what: str) -> str:
    rows = []
    for name, o in items.items():
        for split_name in ("train", "heldout"):
            if split_name not in o:
                continue
            v = o[split_name]
            rows.append(
                [
                    name if split_name == "train" else "",
                    split_name,
                    v["n"],
                    *(num(x, 1) for x in v["recall"]),
                    num(v["mean_recall"], 1),
                    num(v["mean_precision"], 1),
                    num(v["overall"], 1),
                    pct(v["token_accuracy"]),
                    pct(v["melody_accuracy"]),
                ]
            )
    return table(
        [
            what,
            "split",
            "n",
            *(f"D {q} %" for q in QUADRANTS),
            "mean recall %",
            "mean precision %",
            "overall %",
            "token accuracy %",
            "melodies exact %",
        ],
        rows,
    )
