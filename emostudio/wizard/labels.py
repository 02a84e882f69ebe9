"""Where a folder's emotion labels come from, found by looking at the folder.

Four kinds of label source, tried in this order for each folder the user picks:

1. **CSV** at the folder's top level (``manifest.csv``, ``labels.csv`` or any ``*.csv`` whose
   header has a file column and a label column): ``file, quadrant`` (``Q1``..``Q4``, ``1``..``4``
   or ``happy``/``tense``/``sad``/``calm``) or ``file, valence, arousal`` (signed numbers in
   [-1, 1]). Paths are relative to the CSV; a bare file name also matches a unique file of that
   name anywhere in the folder. Rows with empty labels mark unlabelled files.
2. **Sub-folders per emotion**: ``happy/ tense/ sad/ calm/`` or ``Q1/``..``Q4/`` directly inside
   the folder; every MIDI file below one of them carries its quadrant.
3. **EMOPIA-style names**: ``Q1_<anything>.mid``.
4. **None**: the folder is unlabelled.

:func:`detect_labels` returns one :class:`FolderLabels` per folder; :class:`LabelSet` merges them
into the ``path -> quadrant`` mapping the corpus pipeline takes. Problems that make a label source
unusable (a CSV with no label column, rows naming files that are not there, values that are not
labels) are listed with the row they come from, so the user can fix the file.
"""

from __future__ import annotations

import csv
import enum
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emostudio.emotion import QUADRANT_NAMES, quadrant_of

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
FILE_COLUMNS = ("file", "path", "filename", "midi", "name")
QUADRANT_COLUMNS = ("quadrant", "emotion", "label", "mood")
#: How many problems are kept per folder (a broken 10,000-row CSV would otherwise flood the page).
MAX_PROBLEMS = 20

_NAME_PATTERN = re.compile(r"^q([1-4])_", re.IGNORECASE)
_QUADRANT_WORDS = {name: q for q, name in QUADRANT_NAMES.items()}


class LabelKind(enum.Enum):
    CSV = "csv"
    FOLDERS = "folders"
    NAMES = "names"
    NONE = "none"

    @property
    def title(self) -> str:
        return {
            LabelKind.CSV: "a CSV file",
            LabelKind.FOLDERS: "one sub-folder per emotion",
            LabelKind.NAMES: "EMOPIA-style file names (Q1_...)",
            LabelKind.NONE: "no labels",
        }[self]


class LabelError(ValueError):
    """A label file that cannot be used at all (unreadable, no file or label column)."""


@dataclass(frozen=True)
class FolderLabels:
    """The labels found in one folder: their kind, where from, and what was wrong."""

    folder: Path
    kind: LabelKind
    labels: Mapping[Path, int]  # absolute file path -> quadrant 1..4
    source: Path | None = None  # the CSV file, when kind is CSV
    problems: tuple[str, ...] = ()
    fatal: str | None = None  # set when the source exists but cannot be used

    @property
    def description(self) -> str:
        where = f" ({self.source.name})" if self.source is not None else ""
        if self.kind is LabelKind.NONE:
            return f"{self.folder.name}: no labels"
        return f"{self.folder.name}: {self.kind.title}{where}, {len(self.labels)} files labelled"


@dataclass(frozen=True)
class LabelSet:
    """The labels of all chosen folders together."""

    folders: tuple[FolderLabels, ...] = ()
    labels: Mapping[Path, int] = field(default_factory=dict)

    @classmethod
    def merge(cls, folders: Sequence[FolderLabels]) -> LabelSet:
        labels: dict[Path, int] = {}
        for folder in folders:
            labels.update(folder.labels)
        return cls(tuple(folders), labels)

    @property
    def kinds(self) -> tuple[LabelKind, ...]:
        return tuple(dict.fromkeys(f.kind for f in self.folders))

    @property
    def is_labelled(self) -> bool:
        return bool(self.labels)

    @property
    def fatal(self) -> str | None:
        """The first reason a label source cannot be used, if any."""
        return next((f.fatal for f in self.folders if f.fatal), None)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(p for f in self.folders for p in f.problems)

    def counts(self) -> dict[int, int]:
        """Labelled files per quadrant 1..4 (every quadrant present, zeros included)."""
        counted = Counter(self.labels.values())
        return {q: counted.get(q, 0) for q in QUADRANT_NAMES}


def detect_labels(folders: Iterable[str | Path], csv_file: str | Path | None = None) -> LabelSet:
    """Find the label source of each folder; ``csv_file`` (chosen by the user) overrides for the
    folder that contains it, or for the first folder when it lies outside all of them."""
    folders = [Path(f).resolve() for f in folders]
    chosen = Path(csv_file).resolve() if csv_file is not None else None
    owner = None
    if chosen is not None and folders:
        owner = next((f for f in folders if chosen.is_relative_to(f)), folders[0])
    return LabelSet.merge(
        [detect_folder_labels(f, chosen if f == owner else None) for f in folders]
    )


def detect_folder_labels(folder: Path, csv_file: Path | None = None) -> FolderLabels:
    folder = Path(folder).resolve()
    midi_files = list_midi_files(folder)
    if csv_file is not None:
        return _csv_labels(folder, csv_file, midi_files)
    for candidate in _csv_candidates(folder):
        try:
            header = _read_header(candidate)
        except LabelError:
            continue
        if _column(header, FILE_COLUMNS) and _has_label_columns(header):
            return _csv_labels(folder, candidate, midi_files)
    by_folder = _folder_labels(folder, midi_files)
    if by_folder:
        return FolderLabels(folder, LabelKind.FOLDERS, by_folder)
    by_name = {p: int(m.group(1)) for p in midi_files if (m := _NAME_PATTERN.match(p.name))}
    if by_name:
        return FolderLabels(folder, LabelKind.NAMES, by_name)
    return FolderLabels(folder, LabelKind.NONE, {})


def list_midi_files(folder: Path) -> list[Path]:
    """Every MIDI file below ``folder`` (absolute, sorted; hidden files and folders skipped)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in MIDI_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def parse_quadrant(text: str) -> int | None:
    """``Q3``, ``3``, ``sad`` -> 3; empty -> None (unlabelled). Raises ValueError otherwise."""
    key = text.strip().lower()
    if not key:
        return None
    if key in _QUADRANT_WORDS:
        return _QUADRANT_WORDS[key]
    if key.startswith("q"):
        key = key[1:]
    if key in ("1", "2", "3", "4"):
        return int(key)
    raise ValueError(f"{text!r} is not a quadrant (use Q1..Q4, 1..4 or happy/tense/sad/calm)")


def quadrant_from_valence_arousal(valence: str, arousal: str) -> int | None:
    """Signed numbers in [-1, 1] -> quadrant; both empty -> None. Raises ValueError otherwise."""
    if not valence.strip() and not arousal.strip():
        return None
    values = []
    for axis, text in (("valence", valence), ("arousal", arousal)):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{axis} {text!r} is not a number") from None
        if math.isnan(value) or not -1.0 <= value <= 1.0:
            raise ValueError(f"{axis} {text!r} is outside [-1, 1]")
        if value == 0:
            raise ValueError(f"{axis} 0 is neither high nor low")
        values.append(value)
    return quadrant_of(valence_high=values[0] > 0, arousal_high=values[1] > 0)


# ---- CSV -----------------------------------------------------------------------------------------


def _csv_candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.glob("*.csv") if p.is_file())
    preferred = [folder / "manifest.csv", folder / "labels.csv"]
    return [p for p in preferred if p in found] + [p for p in found if p not in preferred]


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabelError(f"{path.name}: cannot read ({exc})") from exc
    return [h.strip().lower() for h in header]


def _column(header: Sequence[str], names: Sequence[str]) -> str | None:
    return next((n for n in names if n in header), None)


def _has_label_columns(header: Sequence[str]) -> bool:
    return bool(_column(header, QUADRANT_COLUMNS)) or {"valence", "arousal"} <= set(header)


def _csv_labels(folder: Path, csv_path: Path, midi_files: list[Path]) -> FolderLabels:
    def unusable(reason: str) -> FolderLabels:
        return FolderLabels(folder, LabelKind.CSV, {}, csv_path, fatal=f"{csv_path.name}: {reason}")

    try:
        header = _read_header(csv_path)
    except LabelError as exc:
        return FolderLabels(folder, LabelKind.CSV, {}, csv_path, fatal=str(exc))
    file_column = _column(header, FILE_COLUMNS)
    quadrant_column = _column(header, QUADRANT_COLUMNS)
    if file_column is None:
        return unusable(f"no file column (expected one of: {', '.join(FILE_COLUMNS)})")
    if quadrant_column is None and not {"valence", "arousal"} <= set(header):
        return unusable("no label columns (expected 'quadrant', or 'valence' and 'arousal')")

    by_name: dict[str, list[Path]] = {}
    for path in midi_files:
        by_name.setdefault(path.name.lower(), []).append(path)
    labels: dict[Path, int] = {}
    problems: list[str] = []
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row_number, row in enumerate(reader, start=2):
                cells = dict(zip(header, (c.strip() for c in row)))
                name = cells.get(file_column, "")
                if not name:
                    continue
                where = f"{csv_path.name} line {row_number}"
                try:
                    if quadrant_column is not None and cells.get(quadrant_column, ""):
                        quadrant = parse_quadrant(cells[quadrant_column])
                    else:
                        quadrant = quadrant_from_valence_arousal(
                            cells.get("valence", ""), cells.get("arousal", "")
                        )
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                if quadrant is None:
                    continue  # an unlabelled file listed for completeness
                path = _resolve_row_file(csv_path.parent, name, by_name)
                if path is None:
                    problems.append(f"{where}: no MIDI file {name!r} in {folder.name}")
                    continue
                labels[path] = quadrant
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return unusable(f"cannot read ({exc})")
    if problems and not labels:
        return FolderLabels(
            folder,
            LabelKind.CSV,
            {},
            csv_path,
            tuple(problems[:MAX_PROBLEMS]),
            fatal=f"{csv_path.name}: no usable label rows ({problems[0]})",
        )
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more"]
    return FolderLabels(folder, LabelKind.CSV, labels, csv_path, tuple(problems))


def _resolve_row_file(base: Path, name: str, by_name: Mapping[str, list[Path]]) -> Path | None:
    candidate = Path(os.path.normpath(base / name))
    if candidate.suffix.lower() in MIDI_SUFFIXES and candidate.is_file():
        return candidate
    matches = by_name.get(Path(name).name.lower(), [])
    return matches[0] if len(matches) == 1 else None


# ---- sub-folders ---------------------------------------------------------------------------------


def _folder_quadrant(name: str) -> int | None:
    try:
        return parse_quadrant(name)
    except ValueError:
        return None


def _folder_labels(folder: Path, midi_files: list[Path]) -> dict[Path, int]:
    labels: dict[Path, int] = {}
    for path in midi_files:
        top = path.relative_to(folder).parts[0]
        if top == path.name:
            continue  # a file directly in the folder: no emotion sub-folder
        quadrant = _folder_quadrant(top)
        if quadrant is not None:
            labels[path] = quadrant
    return labels
