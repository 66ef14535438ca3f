"""The goal table of the "order, emotion and novelty" issue from finished sweeps, and the
per-seed spread of each configuration (mean, sd, worst seed).

    .venv/bin/python benchmarks/goal_table.py SWEEP_CSV_OR_FOLDER ... [--configs a,b] [--seeds 1-5]

Reads the rows of every ``sweep.csv`` given (a sweep folder means its ``sweep.csv``; the same
run in two files counts once, the later file winning), keeps the configurations and seeds asked
for, and prints (1) ``emovae.sweep.goal_markdown``'s table (CVAE-Base's means from the rows of
``paper-base`` as references) and (2) per configuration and sampler the mean, sd (n - 1) and
worst seed of each criterion. The figures were measured when the runs were; the CPU printed is
this machine's, which computes nothing here.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from train_speed import cpu_name  # benchmarks/ is on the path when run as a script

# (column, label, scale, worst = min or max)
CRITERIA = (
    ("d_recall_train", "D train", 1, min),
    ("d_recall_heldout", "D held-out", 1, min),
    ("acc_train", "acc train %", 100, min),
    ("acc_heldout", "acc held-out %", 100, min),
    ("control_accuracy", "control %", 100, min),
    ("table3_within", "Table 3 cells", 1, min),
    ("exact_copies", "copies %", 100, max),
    ("distinct_share", "distinct %", 100, min),
    ("degenerate", "degenerate %", 100, max),
)


def seeds_of(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def read_rows(paths: list[str]) -> list[dict]:
    rows: dict[str, dict] = {}
    for p in paths:
        path = Path(p) / "sweep.csv" if Path(p).is_dir() else Path(p)
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                rows[row["run"]] = row
    return list(rows.values())


def spread_table(rows: list[dict]) -> str:
    from emovae.sweep import GENERATION_KEYS, SAMPLER_SUFFIX

    lines = [
        "| config | sampler | seeds | " + " | ".join(c[1] for c in CRITERIA) + " |",
        "|" + "---|" * (3 + len(CRITERIA)),
    ]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["config"], []).append(r)
    for name, group in by.items():
        for sampler, suffix in SAMPLER_SUFFIX.items():
            if not all(r.get("control_accuracy" + suffix) not in (None, "") for r in group):
                continue
            cells = []
            for key, _, scale, worst in CRITERIA:
                col = key + suffix if key in GENERATION_KEYS else key
                v = [scale * float(r[col]) for r in group]
                mean = sum(v) / len(v)
                sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
                cells.append(f"{mean:.1f} +- {sd:.1f} ({worst(v):.1f})")
            lines.append(f"| {name} | {sampler} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweeps", nargs="+", help="sweep.csv files or sweep folders")
    p.add_argument("--configs", help="comma-separated configurations (default: all)")
    p.add_argument("--seeds", help="seeds, e.g. 1-5 or 6-10 or 1,3 (default: all)")
    args = p.parse_args()

    from emovae.sweep import goal_markdown

    rows = read_rows(args.sweeps)
    if args.configs:
        keep = set(args.configs.split(","))
        rows = [r for r in rows if r["config"] in keep or r["config"] == "paper-base"]
    if args.seeds:
        wanted = seeds_of(args.seeds)
        rows = [r for r in rows if r["config"].startswith("paper-") or int(r["seed"]) in wanted]
    print(f"CPU (this machine, which only reads the tables): {cpu_name()}")
    print(f"{len(rows)} runs\n")
    print(goal_markdown(rows))
    print("Mean +- sd (worst seed) per criterion:\n")
    print(spread_table(rows))


if __name__ == "__main__":
    main()
