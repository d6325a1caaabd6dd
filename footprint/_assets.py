"""Where the map's Leaflet files come from: the installed XStatic-Leaflet package, never a CDN.

The planner's map must draw with no internet, so Leaflet (JS, CSS and the CSS
images) is taken from the ``XStatic-Leaflet`` wheel, the same Leaflet version
(1.9.3) folium 0.20 asks for. Two ways to hand it to a browser:

* :func:`leaflet_links` with a base URL: the app serves the package folder
  itself and the map only refers to it (small pages, cached by the browser);
* :func:`leaflet_links` without one: ``data:`` URLs, so a map saved as a
  single HTML file opens anywhere, offline, with no server (about 250 kB).

Nothing is copied into the repository and nothing is downloaded at run time.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

from .errors import DataError

__all__ = ["LEAFLET_VERSION", "leaflet_dir", "leaflet_links"]

#: The Leaflet version folium 0.20 is written against; XStatic-Leaflet 1.9.3.0 ships it.
LEAFLET_VERSION = "1.9.3"


def leaflet_dir() -> Path:
    """The folder of the installed Leaflet files (``leaflet.js``, ``leaflet.css``, ``images/``).

    Raises
    ------
    DataError
        When XStatic-Leaflet is not installed or does not hold Leaflet 1.9.3.
    """
    try:
        from xstatic.pkg import leaflet
    except ImportError:
        raise DataError(
            "the map needs the package XStatic-Leaflet (Leaflet served offline); it is not "
            "installed. Install it with: pip install XStatic-Leaflet==1.9.3.0"
        ) from None
    folder = Path(leaflet.BASE_DIR)
    if leaflet.VERSION != LEAFLET_VERSION or not (folder / "leaflet.js").is_file():
        raise DataError(
            f"XStatic-Leaflet in {folder} holds Leaflet {leaflet.VERSION}; the map expects "
            f"{LEAFLET_VERSION}. Install the pinned version: pip install XStatic-Leaflet==1.9.3.0"
        )
    return folder


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


@functools.cache
def _inline_links() -> tuple[str, str]:
    folder = leaflet_dir()
    js = (folder / "leaflet.js").read_bytes()
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    # The CSS refers to images/*.png relative to itself, which a data: URL has no
    # folder for: inline those images too so the layer and marker icons still show.
    def inline(match: re.Match[str]) -> str:
        image = folder / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url({_data_url('image/png', image.read_bytes())})"

    css = re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", inline, css)
    return _data_url("text/javascript", js), _data_url("text/css", css.encode("utf-8"))


def leaflet_links(base_url: str | None = None) -> tuple[str, str]:
    """The (JavaScript, CSS) URLs of Leaflet for a map.

    Parameters
    ----------
    base_url
        URL of a folder that serves :func:`leaflet_dir` (it may be relative, such
        as ``"../app.leaflet/"``). ``None`` gives self-contained ``data:`` URLs.
    """
    if base_url is None:
        return _inline_links()
    if not base_url.endswith("/"):
        base_url += "/"
    return base_url + "leaflet.js", base_url + "leaflet.css"
