"""A small synthetic corpus whose emotions are known by construction, for tests and smoke runs.

Arousal is note density (high: eighth-note runs at a fast tempo; low: half notes at a slow
tempo); valence is the mode (high: major, low: minor), heard in the scale and in a held triad per
bar. Tonics are random. The result is a real :class:`~emostudio.corpus.cache.CorpusCache` (built in
memory with the tokenizer and the feature functions), so training code cannot tell it from a
prepared corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emostudio.corpus.cache import CACHE_FORMAT_VERSION, CorpusCache
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT, Note, Song, TempoChange, Track
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.features import bar_keys, polyphony
from emostudio.tokens.tokenizer import Tokenizer

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def synthetic_song(
    rng: np.random.Generator,
    arousal_high: bool,
    valence_high: bool,
    n_bars: int,
    random_tonic: bool = True,
) -> Song:
    tonic = int(rng.integers(0, 12)) if random_tonic else 0
    scale = MAJOR if valence_high else MINOR
    third = 4 if valence_high else 3
    step = 2 if arousal_high else 8  # sub-beats between melody notes
    # velocities vary per note: no piece has its own token
    lo, hi = (90, 120) if arousal_high else (40, 70)
    melody, chords = [], []
    degree = int(rng.integers(0, 7))
    for bar in range(n_bars):
        base = bar * TICKS_PER_BAR
        for pos in range(0, 16, step):
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
            pitch = 60 + tonic + scale[degree % 7] + 12 * (degree // 7)
            start = base + pos * TICKS_PER_SUBBEAT
            melody.append(
                Note(pitch, start, start + step * TICKS_PER_SUBBEAT, int(rng.integers(lo, hi)))
            )
        for interval in (0, third, 7):
            chords.append(
                Note(
                    48 + tonic + interval,
                    base,
                    base + TICKS_PER_BAR,
                    int(rng.integers(lo, hi)) - 20,
                )
            )
    bpm = float(rng.uniform(130, 160)) if arousal_high else float(rng.uniform(60, 80))
    return Song(
        tracks=(
            Track(program=0, name="melody").with_notes(melody),
            Track(program=0, name="chords").with_notes(chords),
        ),
        tempos=(TempoChange(0, bpm),),
    )


def synthetic_cache(
    n_pieces: int = 48,
    n_bars: tuple[int, int] = (8, 16),
    labelled_share: float = 0.5,
    val_share: float = 0.25,
    seed: int = 0,
    random_tonic: bool = True,
    tokenizer_config: TokenizerConfig | None = None,
) -> CorpusCache:
    """An in-memory corpus cache of synthetic pieces, balanced over the four quadrants
    (every tonic is C when ``random_tonic`` is false: then the mode is a matter of pitch identity)."""
    rng = np.random.default_rng(seed)
    config = tokenizer_config or TokenizerConfig()
    tokenizer = Tokenizer(config)
    tokens, bar_offsets, piece_offsets, polys, keys, pieces = [], [0], [0], [], [], []
    for i in range(n_pieces):
        quadrant = i % 4 + 1
        valence_high, arousal_high = quadrant in (1, 4), quadrant in (1, 2)
        bars_n = int(rng.integers(n_bars[0], n_bars[1] + 1))
        song = synthetic_song(rng, arousal_high, valence_high, bars_n, random_tonic)
        bars = tokenizer.encode_bars(song, bars_n)
        for b in bars:
            tokens.append(b.astype(np.int16))
            bar_offsets.append(bar_offsets[-1] + len(b))
        piece_offsets.append(piece_offsets[-1] + bars_n)
        polys.append(polyphony(song, bars_n, config))
        keys.append(bar_keys(song, bars_n))
        labelled = rng.random() < labelled_share
        split = "val" if (i // 4) % round(1 / val_share) == 0 else "train"
        pieces.append(
            {
                "path": f"synthetic/{i:04d}.mid",
                "song_id": f"synthetic-{i}",
                "source": "synthetic",
                "split": split,
                "quadrant": quadrant if labelled or split == "val" else None,
                "valence": (1 if valence_high else -1) if labelled or split == "val" else None,
                "arousal": (1 if arousal_high else -1) if labelled or split == "val" else None,
                "n_bars": bars_n,
                "n_tokens": int(sum(len(b) for b in bars)),
                "seconds": 0.0,
                "sha256": f"{i:064x}",
            }
        )
    arrays = {
        "tokens": np.concatenate(tokens),
        "bar_offsets": np.asarray(bar_offsets, dtype=np.int64),
        "piece_bar_offsets": np.asarray(piece_offsets, dtype=np.int64),
        "polyphony": np.concatenate(polys),
        "key": np.concatenate(keys).astype(np.int8),
    }
    meta = {"format_version": CACHE_FORMAT_VERSION, "tokenizer": config.to_dict(), "pieces": pieces}
    return CorpusCache(Path("<synthetic>"), meta, arrays)


def write_cache(cache: CorpusCache, folder: str | Path) -> Path:
    """Store a cache in the on-disk layout of :mod:`emostudio.corpus` (``cache.json`` +
    ``arrays.npz``), so that ``emostudio train --cache`` can read a synthetic corpus."""
    from emostudio.corpus.cache import ARRAYS_NPZ, CACHE_JSON

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / ARRAYS_NPZ,
        tokens=cache.tokens,
        bar_offsets=cache.bar_offsets,
        piece_bar_offsets=cache.piece_bar_offsets,
        polyphony=cache.polyphony_all,
        key=cache.key_all,
    )
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "tokenizer": cache.tokenizer_config.to_dict(),
        "pieces": [p.to_dict() for p in cache.pieces],
    }
    (folder / CACHE_JSON).write_text(json.dumps(meta))
    return folder
