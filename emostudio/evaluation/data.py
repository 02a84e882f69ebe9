"""The pieces an evaluation reads: a corpus folder's files, their splits and labels, as Songs.

Splits come from a prepared corpus cache when one is given (so they are exactly the ones the
model was trained with); otherwise they are assigned the same way ``emostudio prepare`` does
(:func:`emostudio.corpus.split.assign_splits` over the folder's files).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from emostudio.corpus.sources import SourceFile, discover
from emostudio.corpus.split import assign_splits
from emostudio.midi.io import MidiReadError, read_midi
from emostudio.midi.song import Song

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Piece:
    file: SourceFile
    split: str
    song: Song


class EvaluationCorpus:
    """A corpus folder with a split for each file; songs are read on demand and kept."""

    def __init__(self, data_dir: str | Path, cache_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.files = discover(self.data_dir)
        self.splits = self._splits(cache_dir)
        self._songs: dict[str, Song | None] = {}

    def _splits(self, cache_dir: str | Path | None) -> dict[str, str]:
        if cache_dir is not None:
            from emostudio.corpus.cache import load_cache

            cache = load_cache(cache_dir)
            log.info("splits from the corpus cache %s", cache_dir)
            return {p.path: p.split for p in cache.pieces}
        names = assign_splits(
            [f.source for f in self.files],
            [f.song_id for f in self.files],
            [f.quadrant for f in self.files],
        )
        return {f.path: s for f, s in zip(self.files, names)}

    def song(self, file: SourceFile) -> Song | None:
        """The file's song, or ``None`` (logged) when it cannot be read."""
        if file.path not in self._songs:
            try:
                self._songs[file.path] = read_midi(self.data_dir / file.path)
            except MidiReadError as exc:
                log.warning("skipping %s", exc)
                self._songs[file.path] = None
        return self._songs[file.path]

    def pieces(
        self, split: str, labelled_only: bool = False, sources: tuple[str, ...] | None = None
    ) -> list[Piece]:
        """Readable pieces of one split (files the cache rejected have no split and are left out)."""
        out = []
        for f in self.files:
            if self.splits.get(f.path) != split:
                continue
            if labelled_only and not f.labelled:
                continue
            if sources is not None and f.source not in sources:
                continue
            song = self.song(f)
            if song is not None and song.note_count > 0:
                out.append(Piece(f, split, song))
        return out
