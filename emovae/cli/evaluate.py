"""``emovae evaluate``: quadrant accuracy (Table 2) and latent pictures of a model."""

from __future__ import annotations

from .args import MODEL_HELP
from .output import OutFolder, add_force

_EVALUATION = ("latent_train.png", "latent_heldout.png", "accuracy.json")  # what --force may replace


def add_parser(subparsers) -> None:
    e = subparsers.add_parser("evaluate", help="quadrant accuracy (Table 2) and latent pictures of a model")
    e.add_argument("checkpoint", nargs="?", help=MODEL_HELP)
    e.add_argument("--data", help="data set folder (default: $EMOVAE_DATA)")
    e.add_argument("--out", help="folder for latent pictures and accuracy.json")
    add_force(e, "replace an earlier evaluation in --out")


def run(args) -> str:
    from ..checkpoint import load_model
    from ..evaluate import evaluate_model, evaluation_markdown, write_evaluation

    out = OutFolder(args.out, _EVALUATION, args.force) if args.out else None
    model = load_model(args.checkpoint)
    ev = evaluate_model(model, args.data)
    if out:
        write_evaluation(ev, out.path, name=model.path.name)
        out.finish()
    return f"{model.path} (epoch {model.epoch})\n\n" + evaluation_markdown(ev)
