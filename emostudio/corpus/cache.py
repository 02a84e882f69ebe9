"""The corpus cache on disk and its one reader, :func:`load_cache` (layout: see the package docstring)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emostudio.tokens.config import ConfigError, TokenizerConfig

CACHE_FORMAT_VERSION = 1
CACHE_JSON = "cache.json"
ARRAYS_NPZ = "arrays.npz"
FILES_DIR = "files"
ARRAY_NAMES = ("tokens", "bar_offsets", "piece_bar_offsets", "polyphony", "key")


class CacheError(ValueError):
    """A cache folder that cannot be read (one line, names the folder and the reason)."""


@dataclass(frozen=True)
class PieceInfo:
    """One accepted piece of the cache (a row of ``cache.json``'s piece table)."""

    path: str  # relative to the corpus folder
    song_id: str
    source: str
    split: str  # "train", "val" or "test"
    quadrant: int | None  # 1-4, None when unlabelled
    valence: int | None  # +1 / -1 / None
    arousal: int | None  # +1 / -1 / None
    n_bars: int
    n_tokens: int
    seconds: float
    sha256: str

    @property
    def labelled(self) -> bool:
        return self.quadrant is not None

    def to_dict(self) -> dict:
        return asdict(self)


class CorpusCache:
    """A prepared corpus in memory: the piece table and the token and feature arrays.

    ``tokens`` (int16) holds every bar of every piece; bar ``b`` (global index) is
    ``tokens[bar_offsets[b]:bar_offsets[b + 1]]``; piece ``i`` owns global bars
    ``piece_bar_offsets[i]:piece_bar_offsets[i + 1]``; ``polyphony`` is uint8[n_bars_total, 16]
    and ``key`` int8[n_bars_total]."""

    def __init__(self, directory: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.directory = directory
        self.meta = meta
        self.tokenizer_config = TokenizerConfig.from_dict(meta["tokenizer"])
        self.pieces: list[PieceInfo] = [PieceInfo(**row) for row in meta["pieces"]]
        self.rejected: list[dict] = list(meta.get("rejected", []))
        self.report: dict = dict(meta.get("report", {}))
        self.tokens: np.ndarray = arrays["tokens"]
        self.bar_offsets: np.ndarray = arrays["bar_offsets"]
        self.piece_bar_offsets: np.ndarray = arrays["piece_bar_offsets"]
        self.polyphony_all: np.ndarray = arrays["polyphony"]
        self.key_all: np.ndarray = arrays["key"]

    def __len__(self) -> int:
        return len(self.pieces)

    def bar_range(self, i: int) -> tuple[int, int]:
        """Global bar indices [first, end) of piece ``i``."""
        return int(self.piece_bar_offsets[i]), int(self.piece_bar_offsets[i + 1])

    def bars(self, i: int) -> list[np.ndarray]:
        """The token ids of each bar of piece ``i`` (int16 views, each starting with ``Bar``)."""
        first, end = self.bar_range(i)
        offsets = self.bar_offsets[first : end + 1]
        return [self.tokens[offsets[j] : offsets[j + 1]] for j in range(end - first)]

    def polyphony(self, i: int) -> np.ndarray:
        """uint8[n_bars, 16]: notes sounding per sub-beat of piece ``i``."""
        first, end = self.bar_range(i)
        return self.polyphony_all[first:end]

    def keys(self, i: int) -> np.ndarray:
        """int8[n_bars]: key per bar of piece ``i`` (0-11 major C..B, 12-23 minor C..B)."""
        first, end = self.bar_range(i)
        return self.key_all[first:end]

    def split_indices(self, name: str) -> np.ndarray:
        """Indices of the pieces in split ``name`` ("train", "val", "test")."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r} (train, val or test)")
        return np.array([i for i, p in enumerate(self.pieces) if p.split == name], dtype=np.int64)


def load_cache(directory: str | Path) -> CorpusCache:
    """Read a cache written by ``emostudio prepare``; ``CacheError`` if missing, stale or damaged."""
    directory = Path(directory)
    meta_path, arrays_path = directory / CACHE_JSON, directory / ARRAYS_NPZ
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CacheError(
            f"{directory}: not a corpus cache (no {CACHE_JSON}; run 'emostudio prepare')"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CacheError(f"{meta_path}: cannot read ({exc})") from exc
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != CACHE_FORMAT_VERSION:
        raise CacheError(
            f"{meta_path}: cache format version {version} is not supported "
            f"(this emostudio reads version {CACHE_FORMAT_VERSION}; run 'emostudio prepare' again)"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAY_NAMES}
    except (OSError, KeyError, ValueError) as exc:
        raise CacheError(f"{arrays_path}: cannot read ({exc})") from exc
    try:
        cache = CorpusCache(directory, meta, arrays)
    except (ConfigError, KeyError, TypeError) as exc:
        raise CacheError(f"{meta_path}: damaged cache ({exc})") from exc
    n_pieces = len(cache.pieces)
    if (
        len(cache.piece_bar_offsets) != n_pieces + 1
        or len(cache.bar_offsets) != len(cache.key_all) + 1
    ):
        raise CacheError(f"{directory}: arrays do not match the piece table")
    return cache
