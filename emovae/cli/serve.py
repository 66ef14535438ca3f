"""``emovae serve``: the emotion plane in the browser (emovae.server)."""

from __future__ import annotations

from .args import MODEL_HELP, port


def add_parser(subparsers) -> None:
    s = subparsers.add_parser(
        "serve",
        help="the emotion plane in the browser: a local web page and JSON API",
        description="Starts a local web server (FastAPI + uvicorn; pip install 'emovae[web]'). "
        "Open the printed address: click the plane to hear and see the melody there.",
    )
    s.add_argument("checkpoint", nargs="?", help=MODEL_HELP)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=port, default=8000, help="port, 1 to 65535 (default: 8000)")
    s.add_argument("--data", help="data set folder for the training melodies' dots (default: $EMOVAE_DATA, if set)")


def run(args) -> str:
    from ..server import serve

    serve(args.checkpoint, host=args.host, port=args.port, data_root=args.data)
    return "server stopped"
