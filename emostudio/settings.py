"""The app's settings: one typed, versioned, frozen object, loaded and saved only here.

Stored as JSON in ``<user config dir>/emostudio/settings.json`` (``platformdirs``; e.g.
``~/.config/emostudio/settings.json``), or in ``$EMOSTUDIO_CONFIG_DIR`` when that is set (tests).
Saving is atomic (temporary file + rename). Loading never fails: a missing file gives the
defaults, and a corrupt file or one from another settings version gives the defaults with a
logged warning, after keeping the old file as ``settings.json.bad`` so nothing is lost silently.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import platformdirs

from emostudio.atomic import atomic_write
from emostudio.jsonconfig import ConfigError, check_format_version, config_from_dict

log = logging.getLogger(__name__)

SETTINGS_FORMAT_VERSION = 1
CONFIG_DIR_ENV = "EMOSTUDIO_CONFIG_DIR"
FILE_NAME = "settings.json"
MAX_RECENT_FILES = 10
OUTPUT_KINDS = ("fluidsynth", "midi")
DEVICES = ("auto", "cpu", "cuda")


class SettingsError(ConfigError):
    """Settings that cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class Settings:
    """Everything the app remembers between sessions. Empty strings mean "not chosen"."""

    soundfont: str = ""  # a .sf2/.sf3 file; "" = the best one found on the system
    output: Literal["fluidsynth", "midi"] = "fluidsynth"  # live audio, or a MIDI output port
    midi_port: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"  # where the model runs
    model_dir: str = ""  # "" = the shipped default model
    last_open_dir: str = ""
    last_export_dir: str = ""
    recent_files: tuple[str, ...] = field(default_factory=tuple)  # newest first
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState()
    # the Transfer and Sampling choices as the panel last had them (the panel checks them when
    # it takes them back: gui.transform_panel.TransformPanel.restore), and the pad's target
    panel: dict = field(default_factory=dict)
    target: tuple[float, float] = (0.5, 0.5)  # (valence, arousal)
    generate_on_pick: bool = False  # a click on the pad generates there
    format_version: int = SETTINGS_FORMAT_VERSION

    def __post_init__(self) -> None:
        check_format_version(
            "settings", self.format_version, SETTINGS_FORMAT_VERSION, SettingsError
        )
        if self.output not in OUTPUT_KINDS:
            raise SettingsError(
                f"settings: output must be one of {OUTPUT_KINDS}, not {self.output!r}"
            )
        if self.device not in DEVICES:
            raise SettingsError(f"settings: device must be one of {DEVICES}, not {self.device!r}")
        for name in (
            "soundfont",
            "midi_port",
            "model_dir",
            "last_open_dir",
            "last_export_dir",
            "window_geometry",
            "window_state",
        ):
            if not isinstance(getattr(self, name), str):
                raise SettingsError(f"settings: {name} must be a string")
        if not isinstance(self.generate_on_pick, bool):
            raise SettingsError("settings: generate_on_pick must be true or false")
        if not isinstance(self.panel, dict):
            raise SettingsError("settings: panel must be a JSON object")
        target = self.target
        if (
            isinstance(target, (str, bytes))
            or len(target) != 2
            or not all(isinstance(x, (int, float)) and -1.0 <= x <= 1.0 for x in target)
        ):
            raise SettingsError("settings: target must be [valence, arousal], each in -1..1")
        object.__setattr__(self, "target", (float(target[0]), float(target[1])))
        recent = self.recent_files
        if isinstance(recent, (str, bytes)) or not all(isinstance(p, str) for p in recent):
            raise SettingsError("settings: recent_files must be a list of paths")
        # JSON gives a list; keep a tuple (frozen) of at most MAX_RECENT_FILES
        object.__setattr__(self, "recent_files", tuple(recent)[:MAX_RECENT_FILES])

    def with_recent_file(self, path: str | os.PathLike) -> Settings:
        """``path`` first in the recent files (moved there if already listed), at most 10 kept."""
        path = str(path)
        recent = (path, *(p for p in self.recent_files if p != path))
        return replace(self, recent_files=recent[:MAX_RECENT_FILES])

    def to_dict(self) -> dict:
        data = asdict(self)
        data["recent_files"] = list(self.recent_files)
        data["target"] = list(self.target)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        """Raises :class:`SettingsError` for unknown fields, wrong values or another version."""
        try:
            return config_from_dict(cls, data, "settings")
        except SettingsError:
            raise
        except ConfigError as exc:
            raise SettingsError(str(exc)) from exc


def settings_path() -> Path:
    """``$EMOSTUDIO_CONFIG_DIR/settings.json``, else the user's config folder."""
    folder = os.environ.get(CONFIG_DIR_ENV) or platformdirs.user_config_dir("emostudio")
    return Path(folder) / FILE_NAME


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """The saved settings, or the defaults (a warning is logged when the file was unusable)."""
    path = Path(path) if path is not None else settings_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        log.debug("no settings at %s: using the defaults", path)
        return Settings()
    except OSError as exc:
        log.warning("cannot read settings %s (%s): using the defaults", path, exc.strerror or exc)
        return Settings()
    try:
        return Settings.from_dict(json.loads(data.decode("utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, SettingsError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        backup = path.with_name(path.name + ".bad")
        try:
            os.replace(path, backup)
            kept = f"; the old file is kept as {backup}"
        except OSError:
            kept = ""
        log.warning("unusable settings %s (%s): using the defaults%s", path, reason, kept)
        return Settings()


def save_settings(settings: Settings, path: str | os.PathLike | None = None) -> Path:
    """Write atomically (a temporary file beside the target, then a rename); returns the path."""
    path = Path(path) if path is not None else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(settings.to_dict(), indent=2) + "\n")
