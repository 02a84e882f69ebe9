"""Tokenizer configuration: one frozen dataclass with named defaults and a versioned JSON round trip."""

from __future__ import annotations

import math
from dataclasses import dataclass

# ConfigError and config_from_dict are re-exported here for the modules that import them from tokens
from emostudio.jsonconfig import (  # noqa: F401
    ConfigError,
    JsonConfig,
    check_format_version,
    config_from_dict,
)

TOKENIZER_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TokenizerConfig(JsonConfig):
    """Event vocabulary of MODEL.md section 1. The defaults give the paper's 923 tokens."""

    config_name = "tokenizer"

    subbeats_per_bar: int = 16
    tempo_bins: int = 24
    tempo_min_bpm: float = 40.0
    tempo_max_bpm: float = 240.0
    velocity_bins: int = 32
    max_duration: int = 16  # sub-beats (one bar)
    pitch_count: int = 128
    format_version: int = TOKENIZER_FORMAT_VERSION

    def __post_init__(self) -> None:
        check_format_version("tokenizer", self.format_version, TOKENIZER_FORMAT_VERSION)
        for name in (
            "subbeats_per_bar",
            "tempo_bins",
            "velocity_bins",
            "max_duration",
            "pitch_count",
        ):
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
