"""The page: ``GET /`` (``emovae/web/index.html`` with its style sheet inlined: one request fewer
before the first paint) and ``/static/*`` (its script and style sheet). Nothing is loaded from the
internet."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .state import WEB_DIR

router = APIRouter()
STYLE_LINK = '<link rel="stylesheet" href="/static/style.css">'


@lru_cache(maxsize=1)
def page_html() -> str:
    """index.html with style.css in a ``<style>`` element (read once per process)."""
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    style = (WEB_DIR / "style.css").read_text(encoding="utf-8")
    return html.replace(STYLE_LINK, f"<style>\n{style}</style>", 1)


@router.get("/", include_in_schema=False)
def page():
    return HTMLResponse(page_html())


def static_files() -> StaticFiles:
    """The page's assets, for ``app.mount("/static", ...)`` (a router cannot carry a mount)."""
    return StaticFiles(directory=WEB_DIR)
