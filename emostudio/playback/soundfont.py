"""Finding a General MIDI soundfont (.sf2 / .sf3) for FluidSynth.

Searched, in this order: ``$EMOSTUDIO_SOUNDFONT`` (a file), the user's data folder
(``<user data dir>/emostudio/soundfonts``, e.g. ``~/.local/share/emostudio/soundfonts``),
``~/.local/share/soundfonts``, then the system folders ``/usr/share/sounds/sf2``,
``/usr/share/sounds/sf3``, ``/usr/share/soundfonts``. Within a folder, well-known complete GM
sets come first (FluidR3, MuseScore General, TimGM6mb), then the rest by name.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

ENV_VAR = "EMOSTUDIO_SOUNDFONT"
APT_PACKAGE = "fluid-soundfont-gm"
SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
)
EXTENSIONS = (".sf2", ".sf3")
# Lower rank first; names not listed come after, alphabetically.
_PREFERRED = ("fluidr3_gm", "musescore_general", "timgm6mb", "default-gm")


class SoundfontNotFound(FileNotFoundError):
    """No usable soundfont; ``str()`` says where we looked and which package to install."""


def search_dirs() -> list[Path]:
    """The folders searched for soundfonts, in order (the environment variable aside)."""
    return [
        Path(platformdirs.user_data_dir("emostudio")) / "soundfonts",
        Path.home() / ".local" / "share" / "soundfonts",
        *SYSTEM_DIRS,
    ]


def find_soundfonts() -> list[Path]:
    """Every soundfont found, best first, each file once (links resolved)."""
    found: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        real = path.resolve()
        if real not in seen and real.is_file():
            seen.add(real)
            found.append(path)

    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if path.is_file():
            add(path)
        else:
            log.warning("$%s=%s is not a file; searching the usual places", ENV_VAR, env)
    for folder in search_dirs():
        try:
            candidates = [p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS]
        except OSError:  # missing or unreadable folder
            continue
        for path in sorted(candidates, key=_rank):
            add(path)
    return found


def default_soundfont() -> Path:
    """The best soundfont found, or :class:`SoundfontNotFound` naming the package to install."""
    found = find_soundfonts()
    if found:
        return found[0]
    raise SoundfontNotFound(not_found_message())


def resolve_soundfont(soundfont: str | os.PathLike | None) -> Path:
    """``soundfont`` checked to be a file, or the default one when None/empty."""
    if not soundfont:
        return default_soundfont()
    path = Path(soundfont).expanduser()
    if not path.is_file():
        raise SoundfontNotFound(f"soundfont {path} not found")
    if path.suffix.lower() not in EXTENSIONS:
        raise SoundfontNotFound(f"{path} is not a soundfont (.sf2 or .sf3)")
    return path


def not_found_message() -> str:
    places = ", ".join(str(p) for p in search_dirs())
    return (
        f"no General MIDI soundfont found (looked in ${ENV_VAR}, {places}); install one with "
        f"'sudo apt install {APT_PACKAGE}' or choose a .sf2 file"
    )


def _rank(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    for rank, prefix in enumerate(_PREFERRED):
        if name.startswith(prefix):
            return rank, name
    return len(_PREFERRED), name
