"""Which MIDI files a corpus folder holds, with their song ids and emotion labels.

With a ``manifest.csv`` (the layout of ../shared/data: columns ``path, source, song_id, quadrant,
valence, arousal``) its rows are the files, in its order. Without one, every ``.mid``/``.midi``
under the folder is a file (sorted by path), unlabelled, with the file stem as its song id and the
first folder below the root (or ``""``) as its source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.csv"
MIDI_SUFFIXES = (".mid", ".midi")


class CorpusError(ValueError):
    """A corpus folder or manifest that cannot be used (one line, names the file)."""


@dataclass(frozen=True)
class SourceFile:
    """One MIDI file of a corpus and what is known about it before reading it."""

    path: str  # relative to the corpus folder, with forward slashes
    song_id: str
    source: str
    quadrant: int | None = None  # 1-4
    valence: int | None = None  # +1 / -1
    arousal: int | None = None  # +1 / -1

    @property
    def labelled(self) -> bool:
        return self.quadrant is not None


def emopia_song_id(file_name: str) -> str:
    """``Q1__8v0MFBZoco_0.mid`` -> ``_8v0MFBZoco`` (the YouTube id may itself start with _ or -)."""
    stem = Path(file_name).name
    for suffix in MIDI_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem[3:].rsplit("_", 1)[0]


def quadrant_labels(quadrant: int) -> tuple[int, int]:
    """(valence, arousal) of a quadrant 1-4: Q1 (+,+), Q2 (-,+), Q3 (-,-), Q4 (+,-)."""
    return {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}[quadrant]


def discover(data_dir: str | Path) -> list[SourceFile]:
    """The files of a corpus folder (see the module docstring); ``CorpusError`` if there are none."""
    root = Path(data_dir)
    if not root.is_dir():
        raise CorpusError(f"{root}: not a folder")
    manifest = root / MANIFEST
    files = _from_manifest(manifest) if manifest.is_file() else _from_folder(root)
    if not files:
        raise CorpusError(f"{root}: no MIDI files found")
    return files


def _from_folder(root: Path) -> list[SourceFile]:
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    files = []
    for p in paths:
        rel = p.relative_to(root)
        source = rel.parts[0] if len(rel.parts) > 1 else ""
        files.append(SourceFile(path=rel.as_posix(), song_id=p.stem, source=source))
    return files


def _from_manifest(manifest: Path) -> list[SourceFile]:
    try:
        with manifest.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{manifest}: cannot read manifest ({exc})") from exc
    if rows and "path" not in rows[0]:
        raise CorpusError(f"{manifest}: manifest has no 'path' column")
    files = []
    for line, row in enumerate(rows, start=2):
        path = (row.get("path") or "").strip()
        if not path:
            raise CorpusError(f"{manifest}:{line}: empty path")
        source = (row.get("source") or "").strip()
        song_id = (row.get("song_id") or "").strip()
        if not song_id:
            song_id = emopia_song_id(path) if source == "emopia" else Path(path).stem
        quadrant = _parse_quadrant(row.get("quadrant"), manifest, line)
        valence = _parse_sign(row.get("valence"), manifest, line)
        arousal = _parse_sign(row.get("arousal"), manifest, line)
        if quadrant is not None and (valence is None or arousal is None):
            valence, arousal = quadrant_labels(quadrant)
        files.append(SourceFile(path, song_id, source, quadrant, valence, arousal))
    return files


def _parse_quadrant(text: str | None, manifest: Path, line: int) -> int | None:
    text = (text or "").strip().upper().removeprefix("Q")
    if not text:
        return None
    if text not in ("1", "2", "3", "4"):
        raise CorpusError(f"{manifest}:{line}: bad quadrant {text!r}")
    return int(text)


def _parse_sign(text: str | None, manifest: Path, line: int) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = int(float(text))
    except ValueError:
        raise CorpusError(f"{manifest}:{line}: bad label {text!r} (expected 1 or -1)") from None
    if value not in (1, -1):
        raise CorpusError(f"{manifest}:{line}: bad label {text!r} (expected 1 or -1)")
    return value
