"""Tokenizer configuration: one frozen dataclass with named defaults and a versioned JSON round trip."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

TOKENIZER_FORMAT_VERSION = 1


class ConfigError(ValueError):
    """A configuration file that cannot be used (wrong version, unknown or bad fields)."""


@dataclass(frozen=True)
class TokenizerConfig:
    """Event vocabulary of MODEL.md section 1. The defaults give the paper's 923 tokens."""

    subbeats_per_bar: int = 16
    tempo_bins: int = 24
    tempo_min_bpm: float = 40.0
    tempo_max_bpm: float = 240.0
    velocity_bins: int = 32
    max_duration: int = 16  # sub-beats (one bar)
    pitch_count: int = 128
    format_version: int = TOKENIZER_FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.format_version != TOKENIZER_FORMAT_VERSION:
            raise ConfigError(
                f"tokenizer format version {self.format_version} is not supported "
                f"(this emostudio reads version {TOKENIZER_FORMAT_VERSION})"
            )
        for name in ("subbeats_per_bar", "tempo_bins", "velocity_bins", "max_duration", "pitch_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"tokenizer config: {name} must be >= 1")
        if not 0 < self.tempo_min_bpm < self.tempo_max_bpm:
            raise ConfigError("tokenizer config: need 0 < tempo_min_bpm < tempo_max_bpm")

    # ---- quantisers --------------------------------------------------------------------------
    def tempo_bin(self, bpm: float) -> int:
        """Geometric bins between tempo_min_bpm and tempo_max_bpm (clamped)."""
        lo, hi = math.log(self.tempo_min_bpm), math.log(self.tempo_max_bpm)
        x = (math.log(max(bpm, 1e-3)) - lo) / (hi - lo)
        return int(min(self.tempo_bins - 1, max(0, round(x * (self.tempo_bins - 1)))))

    def tempo_of_bin(self, b: int) -> float:
        lo, hi = math.log(self.tempo_min_bpm), math.log(self.tempo_max_bpm)
        return round(math.exp(lo + (hi - lo) * b / (self.tempo_bins - 1)), 2)

    def velocity_bin(self, velocity: int) -> int:
        return min(self.velocity_bins - 1, max(0, velocity * self.velocity_bins // 128))

    def velocity_of_bin(self, b: int) -> int:
        width = 128 / self.velocity_bins
        return int(min(127, max(1, round((b + 0.5) * width))))

    # ---- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TokenizerConfig":
        return config_from_dict(cls, data, "tokenizer")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "TokenizerConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read tokenizer config ({exc})") from exc
        return cls.from_dict(data)


def config_from_dict(cls, data: dict, what: str):
    """Build a frozen config dataclass from a dict, refusing unknown fields (shared by all configs)."""
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
