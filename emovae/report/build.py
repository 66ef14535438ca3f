"""``report()``: check and load the input, let each section compute its figures, write
``report.md`` (the header, each section's Markdown in order, the list of files), ``results.json``
and the pictures."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..atomic import jsonable
from ..evaluate import GRID_LIMIT
from ..novelty import NEAR_STEPS
from . import inputs
from .context import Context, Progress
from .sections import SECTIONS


def report(
    out_dir,
    *,
    models: dict | None = None,
    sets: dict | None = None,
    runs: dict | None = None,
    data_root=None,
    grid: int = 41,
    n_per_emotion: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``out_dir/report.md``, ``results.json`` and the PNGs; returns the path of report.md.

    ``models``: name -> model spec (bundled name, checkpoint file or run folder; default the
    bundled CVAE-EmoReg and CVAE-Base). ``sets``: name -> folder of MIDI files in e1..e4
    (default: the authors' sets found by :func:`emovae.reproduction.authors_sets`). ``runs``:
    group name -> run folders of one recipe over several seeds (default: none; the report says
    how to make them). ``grid`` points per axis over ``[-6, 6]^2`` (2..201), ``n_per_emotion``
    melodies sampled per emotion from each model (1..10,000), ``seed`` for the sampling and the
    classifier. All input is checked (and the sets read) before the long work; nothing is put in
    ``out_dir`` until every file is computed.
    """
    started = time.perf_counter()
    out, ctx = inputs.load(
        out_dir,
        models=models,
        sets=sets,
        runs=runs,
        data_root=data_root,
        grid=grid,
        n_per_emotion=n_per_emotion,
        seed=seed,
    )
    ctx.bar = Progress(sum(section.steps(ctx) for section in SECTIONS) + 1, progress)  # + writing
    try:
        results, figures = _compute(ctx)
        results["settings"] = _settings(ctx)
        with ctx.step("writing the report"):
            results["seconds"] = time.perf_counter() - started
            text = _markdown(results, figures)
            path = _write(out, text, results, figures)
    finally:
        ctx.bar.close()
    return path


def _compute(ctx: Context) -> tuple[dict, dict]:
    """All figures (a JSON-ready dict, each section's keys in turn) and the pictures to draw
    (name -> (function, kwargs))."""
    results: dict = {}
    for section in SECTIONS:
        results.update(section.compute(ctx))
    return results, ctx.figures


def _settings(ctx: Context) -> dict:
    return {
        "data_root": str(ctx.root),
        "melodies": len(ctx.ds.labels),
        "grid": ctx.grid,
        "grid_limit": GRID_LIMIT,
        "n_per_emotion": ctx.n_per_emotion,
        "seed": ctx.seed,
        "near_steps": NEAR_STEPS,
        "models": {
            name: {"spec": str(ctx.specs[name]), "path": str(m.path), "title": m.title, "epoch": m.epoch}
            for name, (m, _) in ctx.models.items()
        },
        "sets": {
            name: {"folder": str(s.folder), "read": len(s.labels), "silent": s.silent, "skipped": s.skipped}
            for name, s in ctx.sets.items()
        },
        "runs": {name: [f for f, _, _ in group] for name, group in ctx.runs.items()},
    }


def _markdown(r: dict, figures: dict) -> str:
    lines = _header(r)
    for section in SECTIONS:
        lines += section.markdown(r, figures)
    lines += [
        "## Files",
        "",
        "`report.md` (this), `results.json` (every figure), " + ", ".join(f"`{f}`" for f in figures) + ".",
        "",
    ]
    return "\n".join(lines)


def _header(r: dict) -> list:
    s = r["settings"]
    lines = [
        "# emovae report: does the melody carry the emotion, is it new, is every point a melody?",
        "",
        f"Data: `{s['data_root']}` ({s['melodies']} melodies, {r['classifier']['distinct_melodies']} distinct). "
        f"Grid {s['grid']} x {s['grid']} over [-{s['grid_limit']:g}, {s['grid_limit']:g}]^2; "
        f"{s['n_per_emotion']} melodies per emotion per model; seed {s['seed']}; "
        f"computed in {r['seconds']:.0f} s. All figures are in `results.json`.",
        "",
    ]
    if s["models"]:
        lines += [
            "Models: "
            + "; ".join(f"**{n}** = `{m['path']}` ({m['title']}, epoch {m['epoch']})" for n, m in s["models"].items())
            + "."
        ]
    if s["sets"]:
        lines += [
            "Sets: "
            + "; ".join(
                f"**{n}** = `{v['folder']}` ({v['read']} melodies"
                + (f", {v['silent']} of them silent files read as 64 rests" if v["silent"] else "")
                + (f", {len(v['skipped'])} unreadable files skipped" if v["skipped"] else "")
                + ")"
                for n, v in s["sets"].items()
            )
            + "."
        ]
    return [*lines, ""]


def _write(out: Path, text: str, results: dict, figures: dict) -> Path:
    """Draw the pictures and write the files into a temporary folder beside ``out``, then move
    them into ``out`` (report.md last); on any failure nothing reaches ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, (draw, kwargs) in figures.items():
            kwargs = dict(kwargs)
            draw(path=tmp / name, **kwargs)
        (tmp / "results.json").write_text(json.dumps(jsonable(results), indent=1, allow_nan=False), encoding="utf-8")
        (tmp / "report.md").write_text(text, encoding="utf-8")
        if not out.exists():
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder the usual permissions
            os.replace(tmp, out)
        else:
            for name in [*figures, "results.json", "report.md"]:
                os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "report.md"
