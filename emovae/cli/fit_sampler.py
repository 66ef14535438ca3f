"""``emovae fit-sampler``: fit the sampler (a Gaussian per emotion) into an older checkpoint."""

from __future__ import annotations

from ..errors import EmovaeError


def add_parser(subparsers) -> None:
    fs = subparsers.add_parser(
        "fit-sampler",
        help="fit the sampler (a Gaussian per emotion over the training codes) into an older checkpoint",
        description="Encodes the checkpoint's training split, fits a Gaussian per emotion to the codes, stores it "
        "and the data set's melody hashes (the copy guard) in the checkpoint (atomically).",
    )
    fs.add_argument("checkpoint", help="checkpoint file or run folder")
    fs.add_argument("--data", help="the data set it was trained on (default: $EMOVAE_DATA or the rebuilt set)")


def run(args) -> str:
    from ..checkpoint import load_model, resolve_checkpoint
    from ..evaluate import model_split
    from ..training import fit_to_data
    from ..weights import is_bundled

    path = resolve_checkpoint(args.checkpoint)
    if is_bundled(path):
        raise EmovaeError(
            f"{path}: a bundled model; copy it first and fit the copy (the bundled ones sample as the paper)"
        )
    model = load_model(path)
    fit_to_data(model, model_split(model, args.data))
    if model.sampler is None:
        raise EmovaeError(f"{path}: its codes are not finite numbers; no sampler can be fitted")
    model.save(path, optimizer_state=model.state.optimizer is not None)
    means = "; ".join(
        f"{lab} ({v:+.2f}, {a:+.2f})" for lab, (v, a) in zip(("Q1", "Q2", "Q3", "Q4"), model.sampler.means)
    )
    return f"{path}: sampler fitted to {int(model.sampler.counts.sum())} training codes; centres {means}"
