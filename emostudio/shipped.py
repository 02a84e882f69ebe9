"""Files that ship with emostudio: the default model and the icon.

In a source checkout (or an editable install) they are the repository's ``models/`` and
``resources/`` folders. A wheel (``setup.py``'s build step) and the desktop bundle
(``packaging/emostudio.spec``) copy them into the package as ``emostudio/_shipped/``, found with
:mod:`importlib.resources`. The installed copy wins when it exists; else the checkout's.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: the package folder a wheel or bundle holds the shipped files in
SHIPPED = "_shipped"


def shipped_path(*parts: str) -> Path:
    """``parts`` under the installed ``emostudio/_shipped/``, else under the repository root."""
    installed = Path(str(resources.files("emostudio").joinpath(SHIPPED, *parts)))
    if installed.exists():
        return installed
    return Path(__file__).resolve().parents[1].joinpath(*parts)


def default_model_path() -> Path:
    """The shipped model folder (``models/default``)."""
    return shipped_path("models", "default")


def icon_path() -> Path:
    """The application icon (``resources/icons/emostudio.svg``)."""
    return shipped_path("resources", "icons", "emostudio.svg")
