"""The one JSON round trip shared by every config tree (tokenizer, model, training, settings).

Configs are frozen dataclasses that mix in :class:`JsonConfig`; each names itself in
``config_name`` (used in error messages) and checks its own ``format_version`` with
:func:`check_format_version`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import ClassVar, TypeVar

from emostudio.atomic import atomic_write

C = TypeVar("C", bound="JsonConfig")


class ConfigError(ValueError):
    """A configuration file that cannot be used (wrong version, unknown or bad fields)."""


def check_format_version(
    what: str, found: object, supported: int, error: type[ConfigError] = ConfigError
) -> None:
    """Refuse a file of another format version than the one this emostudio reads (one-line error)."""
    if found != supported:
        raise error(
            f"{what} format version {found} is not supported "
            f"(this emostudio reads version {supported})"
        )


def config_from_dict(cls, data: dict, what: str):
    """Build a frozen config dataclass from a dict, refusing unknown fields."""
    if not isinstance(data, dict):
        raise ConfigError(f"{what} config must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{what} config: unknown fields {unknown}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{what} config: {exc}") from exc


class JsonConfig:
    """Mixin for frozen config dataclasses: dict and JSON file round trip, copies with changes."""

    config_name: ClassVar[str] = "config"

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: dict) -> C:
        return config_from_dict(cls, data, cls.config_name)

    def with_changes(self: C, **changes) -> C:
        return replace(self, **changes)  # type: ignore[type-var]

    def save(self, path: str | Path) -> None:
        atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read {cls.config_name} config ({exc})") from exc
        return cls.from_dict(data)
