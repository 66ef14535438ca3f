"""Evaluation of a trained model, and the one command that reproduces the paper.

``reproduce()`` trains CVAE-Base and CVAE-EmoReg with the paper's configuration (resuming
either run if its folder holds a checkpoint), measures Table 2 on the training and held-out
splits, draws Figs. 5-7, generates 20 melodies per emotion from each model, computes Table 3
beside the training set and the authors' own generated sets, and writes ``report.md``.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

from .atomic import jsonable, write_text
from .config import CVAEConfig, preset
from .corpus import resolve_data_root
from .evaluate import QuadrantAccuracy, QuadrantLog, evaluate_model, table2_markdown
from .generation import generate_set
from .metrics import folder_metrics, table3_markdown
from .plots import plot_history, plot_latent
from .training import encode_dataset, train

__all__ = ["authors_sets", "reproduce"]

PAPER_PRESETS = ("paper-base", "paper-emoreg")


def authors_sets(data_root: Path) -> dict[str, Path]:
    """The authors' generated sets shipped beside the data set (grekowj/musgenvae(_lsreg)), if present."""
    candidates = {
        "authors' CVAE-Base (files)": data_root.parent.parent / "grekow2025" / "generated_cvae_base",
        "authors' CVAE-EmoReg (files)": data_root.parent.parent / "grekow2025" / "generated_cvae_emoreg",
        "authors' 2021 CVAE-GRU (files)": data_root.parent / "generated_cvae_gru",
        "authors' 2021 CVAE-Dense (files)": data_root.parent / "generated_cvae_dense",
    }
    return {k: v for k, v in candidates.items() if v.is_dir()}


def _fmt_row(acc: QuadrantAccuracy) -> str:
    return " / ".join(f"{v:.1f}" for v in acc.recall) + f"; mean {acc.mean_recall:.1f}%"


def reproduce(
    data_root=None,
    out_dir="reproduction",
    *,
    epochs: int = 700,
    seed: int = 33,
    device: str = "auto",
    precision: str = "fp32",
    n_per_emotion: int = 20,
    model_config: CVAEConfig | None = None,
    progress: bool = True,
    log=print,
) -> Path:
    """Train both models, evaluate, generate and write ``out_dir/report.md``; returns its path.

    ``model_config`` changes the network's sizes (the paper's by default)."""
    out = Path(out_dir)
    root = resolve_data_root(data_root)
    data = encode_dataset(root)
    figures = out / "figures"
    results, tables2, seconds = {}, {"train": {}, "heldout": {}}, {}
    started = time.perf_counter()
    for name in PAPER_PRESETS:
        p = preset(name, epochs=epochs, seed=seed, device=device, precision=precision)
        key, title = name.removeprefix("paper-"), p.title
        run = out / f"cvae_{key}"
        log(f"training {title} for {epochs} epochs in {run}")
        ckpt = train(
            out_dir=run,
            config=p.train,
            data=data,
            model_config=model_config or p.model,
            resume=(run / "checkpoint.pt").exists(),
            progress=progress,
            callbacks=[QuadrantLog(every=50, out_dir=run)],
        )
        ev = evaluate_model(ckpt, data=data)
        for split, split_ev in ev.items():
            tables2[split][f"emovae {title}"] = split_ev.accuracy
            results.setdefault(key, {})[split] = split_ev.accuracy.to_dict()
        secs = [row["seconds"] for row in ckpt.history if "seconds" in row]
        seconds[key] = statistics.median(secs) if secs else float("nan")
        pts, labels, acc = ev["train"].points, ev["train"].labels, ev["train"].accuracy
        fig = "fig5_cvae_base_final.png" if key == "base" else "fig7_cvae_emoreg_final.png"
        plot_latent(
            pts, labels, figures / fig, title=f"emovae {title}, epoch {ckpt.epoch}, training split", accuracy=acc
        )
        plot_history(ckpt.history, figures / f"history_cvae_{key}.png")
        if key == "emoreg" and (run / "latent" / "epoch_0050.png").exists():
            shutil.copyfile(run / "latent" / "epoch_0050.png", figures / "fig6_cvae_emoreg_epoch50.png")
        log(f"{title}: D_i train {_fmt_row(ev['train'].accuracy)}")
        generate_set(ckpt, out / "generated" / f"cvae_{key}", n_per_emotion=n_per_emotion, seed=0)
    columns = {
        "emovae CVAE-Base": folder_metrics(out / "generated" / "cvae_base"),
        "emovae CVAE-EmoReg": folder_metrics(out / "generated" / "cvae_emoreg"),
        "training set (all files)": folder_metrics(root),
    }
    for name, folder in authors_sets(root).items():
        columns[name] = folder_metrics(folder)
    total = time.perf_counter() - started

    dev = (
        str(torch.cuda.get_device_name(0))
        if (device != "cpu" and torch.cuda.is_available())
        else platform.processor() or platform.machine()
    )
    lines = [
        "# emovae: reproduction of Grekow (2025)",
        "",
        f"Command: `emovae reproduce --epochs {epochs} --seed {seed} --device {device} --precision {precision}`",
        f"on {dev}; data: `{root}` ({len(data.labels)} files, vocabulary {data.vocab.size} tokens,"
        f" split {len(data.train_idx)} train / {len(data.heldout_idx)} held-out, split seed 42).",
        f"Median training epoch (with the held-out pass): CVAE-Base {seconds['base']:.3f} s,"
        f" CVAE-EmoReg {seconds['emoreg']:.3f} s; whole reproduction {total / 60:.1f} min.",
        "",
        "## Table 2: quadrant accuracy D_i (%), training split",
        "recall = the paper's D_i (of the examples labelled i, the share in quadrant i);"
        " precision = the authors' code's figure (of the points in quadrant i, the share labelled i).",
        "",
        table2_markdown(tables2["train"]),
        "## Table 2 on the held-out split (the paper reports none)",
        "",
        table2_markdown(tables2["heldout"], paper=False),
        "## Table 3: MusPy metrics of 20 generated melodies per emotion, mean (std)",
        "The paper's training-set column read only the first 79 files of each folder; ours reads all"
        " files, so e1, e3 and e4 differ slightly (e2 has 79 files and matches).",
        "",
        table3_markdown(columns),
        "## Figures",
        "",
        "| | |",
        "|---|---|",
        "| Fig. 5: CVAE-Base after training | ![](figures/fig5_cvae_base_final.png) |",
        "| Fig. 6: CVAE-EmoReg at epoch 50 | ![](figures/fig6_cvae_emoreg_epoch50.png) |",
        "| Fig. 7: CVAE-EmoReg after training | ![](figures/fig7_cvae_emoreg_final.png) |",
        "| Losses, CVAE-Base | ![](figures/history_cvae_base.png) |",
        "| Losses, CVAE-EmoReg | ![](figures/history_cvae_emoreg.png) |",
        "",
        "Generated MIDI files: `generated/cvae_base/e1..e4`, `generated/cvae_emoreg/e1..e4`.",
        f"Runs (checkpoints, histories, latent pictures every 50 epochs): `cvae_base/`, `cvae_emoreg/`."
        f" Python {sys.version.split()[0]}, torch {torch.__version__}.",
        "",
    ]
    report = out / "report.md"
    write_text(report, "\n".join(lines))
    write_text(
        out / "results.json",
        json.dumps(
            jsonable(
                {
                    "quadrant_accuracy": results,
                    "seconds_per_epoch": seconds,
                    "table3": {
                        name: {str(e): {m: list(v) for m, v in col.items()} for e, col in column.items()}
                        for name, column in columns.items()
                    },
                }
            ),
            indent=1,
            allow_nan=False,
        ),
    )
    return report
