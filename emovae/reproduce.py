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

import numpy as np
import torch

from . import data as data_mod
from .atomic import write_text
from .checkpoint import Checkpoint, as_checkpoint
from .evaluate import QuadrantAccuracy, quadrant_accuracy, table2_markdown
from .generate import generate_set
from .metrics import folder_metrics, table3_markdown
from .model import CVAEConfig
from .plots import plot_history, plot_latent
from .train import EncodedData, TrainConfig, encode_dataset, train

MODEL_TITLES = {"base": "CVAE-Base", "emoreg": "CVAE-EmoReg"}


@torch.no_grad()
def latent_points(ckpt: Checkpoint, indices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """mu of each example (vocabulary indices (N, 64), labels (N,)) -> (N, 2)."""
    model = ckpt.model.eval()
    device = next(model.parameters()).device
    mu, _ = model.encode(torch.as_tensor(indices, device=device), torch.as_tensor(labels, device=device))
    return mu.float().cpu().numpy()


def data_for(ckpt: Checkpoint, data_root=None) -> EncodedData:
    """The data set encoded with the model's vocabulary and split as the model's run split it."""
    tc = ckpt.train_config
    data = encode_dataset(data_mod.resolve_data_root(data_root), vocab=ckpt.vocab,
                          split_seed=tc.get("split_seed", 42), heldout=tc.get("heldout", 0.2))
    if ckpt.state.get("names") == data.names:      # the very split the model was trained with
        data.train_idx = np.asarray(ckpt.state["train_idx"])
        data.heldout_idx = np.asarray(ckpt.state["heldout_idx"])
    return data


def evaluate_checkpoint(model, data_root=None, data: EncodedData | None = None) -> dict:
    """{split: (points, labels, QuadrantAccuracy)} for the training and held-out splits."""
    ckpt = as_checkpoint(model)
    data = data or data_for(ckpt, data_root)
    out = {}
    for split, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
        if len(rows):
            pts = latent_points(ckpt, data.indices[rows], data.labels[rows])
            out[split] = (pts, data.labels[rows], quadrant_accuracy(pts, data.labels[rows]))
    return out


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


def reproduce(data_root=None, out_dir="reproduction", *, epochs: int = 700, seed: int = 33,
              device: str = "auto", precision: str = "fp32", n_per_emotion: int = 20,
              model_config: CVAEConfig | None = None, progress: bool = True, log=print) -> Path:
    """Train both models, evaluate, generate and write ``out_dir/report.md``; returns its path.

    ``model_config`` changes the network's sizes (the paper's by default)."""
    out = Path(out_dir)
    root = data_mod.resolve_data_root(data_root)
    data = encode_dataset(root)
    figures = out / "figures"
    results, tables2, seconds = {}, {"train": {}, "heldout": {}}, {}
    started = time.perf_counter()
    for key, title in MODEL_TITLES.items():
        cfg = TrainConfig.for_model(key, epochs=epochs, seed=seed, device=device, precision=precision)
        run = out / f"cvae_{key}"
        log(f"training {title} for {epochs} epochs in {run}")
        ckpt = train(out_dir=run, config=cfg, data=data, model_config=model_config,
                     resume=(run / "checkpoint.pt").exists(), progress=progress)
        ev = evaluate_checkpoint(ckpt, data=data)
        for split, (_, _, acc) in ev.items():
            tables2[split][f"emovae {title}"] = acc
            results.setdefault(key, {})[split] = acc.to_dict()
        secs = [row["seconds"] for row in ckpt.history if "seconds" in row]
        seconds[key] = statistics.median(secs) if secs else float("nan")
        pts, labels, acc = ev["train"]
        fig = "fig5_cvae_base_final.png" if key == "base" else "fig7_cvae_emoreg_final.png"
        plot_latent(pts, labels, figures / fig, title=f"emovae {title}, epoch {ckpt.epoch}, training split",
                    accuracy=acc)
        plot_history(ckpt.history, figures / f"history_cvae_{key}.png")
        if key == "emoreg" and (run / "latent" / "epoch_0050.png").exists():
            shutil.copyfile(run / "latent" / "epoch_0050.png", figures / "fig6_cvae_emoreg_epoch50.png")
        log(f"{title}: D_i train {_fmt_row(ev['train'][2])}")
        generate_set(ckpt, out / "generated" / f"cvae_{key}", n_per_emotion=n_per_emotion, seed=0)
    columns = {
        "emovae CVAE-Base": folder_metrics(out / "generated" / "cvae_base"),
        "emovae CVAE-EmoReg": folder_metrics(out / "generated" / "cvae_emoreg"),
        "training set (all files)": folder_metrics(root),
    }
    for name, folder in authors_sets(root).items():
        columns[name] = folder_metrics(folder)
    total = time.perf_counter() - started

    dev = str(torch.cuda.get_device_name(0)) if (device != "cpu" and torch.cuda.is_available()) else platform.processor() or platform.machine()
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
    write_text(out / "results.json", json.dumps(
        {"quadrant_accuracy": results, "seconds_per_epoch": seconds, "table3": {
            name: {str(e): {m: list(v) for m, v in col.items()} for e, col in column.items()}
            for name, column in columns.items()}}, indent=1))
    return report
