"""The page: ``GET /`` (``emovae/web/index.html``) and ``/static/*`` (its script and style
sheet). Nothing is loaded from the internet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .state import WEB_DIR

router = APIRouter()


@router.get("/", include_in_schema=False)
def page():
    return FileResponse(WEB_DIR / "index.html", media_type="text/html")


def static_files() -> StaticFiles:
    """The page's assets, for ``app.mount("/static", ...)`` (a router cannot carry a mount)."""
    return StaticFiles(directory=WEB_DIR)
