"""The samplers and the copy guard on trained models: what each does to emotion, novelty and Table 3.

    .venv/bin/python benchmarks/samplers.py [RUN_OR_CHECKPOINT ...] [--data DIR] [--seed 3]

For each model (default: the bundled CVAE-EmoReg and CVAE-Base) and each sampler (paper, fitted;
a checkpoint without a fitted density gets one fitted here, as ``emovae fit-sampler`` would),
without and with the copy guard: 400 melodies (100 per emotion) measured by
``emovae.sweep.generation_figures`` (the sweep's own figures): the emotion classifier's control
accuracy, exact copies of a training-split melody, distinct share, degenerate share, Table 3
cells within 0.5 sigma. Prints the CPU with the figures (the figures do not depend on it).
"""

from __future__ import annotations

import argparse
import time
import warnings

from train_speed import cpu_name  # benchmarks/ is on the path when run as a script


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=["emoreg", "base"], help="checkpoints, run folders or emoreg/base")
    p.add_argument("--data", help="data set folder (default: $EMOVAE_DATA or the rebuilt set)")
    p.add_argument("--seed", type=int, default=3, help="sampling seed (default 3)")
    p.add_argument("--spread", type=float, nargs="+", default=[1.0], help="fitted sampler spreads (default 1)")
    args = p.parse_args()

    from emovae.errors import EmovaeWarning

    warnings.simplefilter("ignore", EmovaeWarning)
    import emovae.sweep as sweep
    from emovae.api import load
    from emovae.evaluate import model_split
    from emovae.training import fit_to_data

    print(f"CPU: {cpu_name()}")
    print(
        "| model | sampler | guard | control | exact copies | distinct | degenerate | Table 3 cells | seconds |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    for spec in args.models:
        model = load(spec).trained
        data = model_split(model, args.data)
        hashes = model.training_hashes
        if model.sampler is None:
            fit_to_data(model, data)
            model.training_hashes = hashes or model.training_hashes
        classifier = sweep._classifier(data)
        variants = [("paper", 1.0)] + [("fitted", s) for s in args.spread]
        for sampler, spread in variants:
            for guard in (False, True):
                t0 = time.perf_counter()
                fig, _ = sweep.generation_figures(
                    model, data, sampler, classifier=classifier, seed=args.seed, unique=guard, spread=spread
                )
                name = sampler if spread == 1.0 else f"{sampler} x{spread:g}"
                print(
                    f"| {spec} | {name} | {'on' if guard else 'off'} | {100 * fig['control_accuracy']:.1f}% "
                    f"| {100 * fig['exact_copies']:.1f}% | {100 * fig['distinct_share']:.1f}% "
                    f"| {100 * fig['degenerate']:.1f}% | {fig['table3_within']:.0f} | {time.perf_counter() - t0:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
