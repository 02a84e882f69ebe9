"""The token vocabulary, derived from a :class:`TokenizerConfig` (never typed in).

Layout (ids in this order): ``PAD``, ``EOS``, ``Bar``, ``Beat_0..S-1``, ``Tempo_0..B-1``, then for
each family (drums, piano, guitar, bass, strings): ``Pitch-<family>_0..127``,
``Velocity-<family>_0..V-1``, ``Duration-<family>_1..D``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from emostudio.midi.families import Family
from emostudio.tokens.config import TokenizerConfig

PAD, EOS, BAR = 0, 1, 2


@dataclass(frozen=True)
class FamilyRange:
    pitch: int  # id of Pitch-<family>_0
    velocity: int  # id of Velocity-<family>_0
    duration: int  # id of Duration-<family>_1


class Vocabulary:
    def __init__(self, config: TokenizerConfig) -> None:
        self.config = config
        self.pad, self.eos, self.bar = PAD, EOS, BAR
        self.beat = 3
        self.tempo = self.beat + config.subbeats_per_bar
        start = self.tempo + config.tempo_bins
        per_family = config.pitch_count + config.velocity_bins + config.max_duration
        self.families: dict[Family, FamilyRange] = {}
        for f in Family:
            base = start + int(f) * per_family
            self.families[f] = FamilyRange(
                base, base + config.pitch_count, base + config.pitch_count + config.velocity_bins
            )
        self.size = start + len(Family) * per_family
        self.family_start = start
        self.per_family = per_family

    def __len__(self) -> int:
        return self.size

    @cached_property
    def names(self) -> list[str]:
        c = self.config
        out = ["PAD", "EOS", "Bar"]
        out += [f"Beat_{i}" for i in range(c.subbeats_per_bar)]
        out += [f"Tempo_{i}" for i in range(c.tempo_bins)]
        for f in Family:
            out += [f"Pitch-{f.label}_{p}" for p in range(c.pitch_count)]
            out += [f"Velocity-{f.label}_{v}" for v in range(c.velocity_bins)]
            out += [f"Duration-{f.label}_{d}" for d in range(1, c.max_duration + 1)]
        assert len(out) == self.size
        return out

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def id_of(self, name: str) -> int:
        return self._index[name]

    def to_names(self, ids) -> list[str]:
        return [
            self.names[int(i)] if 0 <= int(i) < self.size else f"<invalid {int(i)}>" for i in ids
        ]

    @cached_property
    def kinds(self) -> np.ndarray:
        """Kind of each id: 0 PAD, 1 EOS, 2 Bar, 3 Beat, 4 Tempo, 5 Pitch, 6 Velocity, 7 Duration."""
        k = np.zeros(self.size, dtype=np.int8)
        k[EOS], k[BAR] = 1, 2
        k[self.beat : self.tempo] = 3
        k[self.tempo : self.family_start] = 4
        c = self.config
        for r in self.families.values():
            k[r.pitch : r.pitch + c.pitch_count] = 5
            k[r.velocity : r.velocity + c.velocity_bins] = 6
            k[r.duration : r.duration + c.max_duration] = 7
        return k

    @cached_property
    def family_of_id(self) -> np.ndarray:
        """Family of each id (-1 for the shared tokens)."""
        out = np.full(self.size, -1, dtype=np.int8)
        out[self.family_start :] = (
            np.arange(self.size - self.family_start) // self.per_family
        ).astype(np.int8)
        return out

    @cached_property
    def value_of_id(self) -> np.ndarray:
        """The number in each token's name (position, tempo bin, pitch, velocity bin, duration)."""
        v = np.zeros(self.size, dtype=np.int16)
        c = self.config
        v[self.beat : self.tempo] = np.arange(c.subbeats_per_bar)
        v[self.tempo : self.family_start] = np.arange(c.tempo_bins)
        for r in self.families.values():
            v[r.pitch : r.pitch + c.pitch_count] = np.arange(c.pitch_count)
            v[r.velocity : r.velocity + c.velocity_bins] = np.arange(c.velocity_bins)
            v[r.duration : r.duration + c.max_duration] = np.arange(1, c.max_duration + 1)
        return v
