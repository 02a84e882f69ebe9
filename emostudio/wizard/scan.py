"""The Data page's scan: the chosen folders, with the labels found, through the corpus pipeline.

:func:`scan` is a job for the GUI's worker (a generator honouring a cancel flag). It finds the
label source of each folder (:mod:`emostudio.wizard.labels`), lists each folder's files with the
corpus pipeline's own discovery, gives each file the label found for it, and runs
:func:`emostudio.corpus.prepare` over all of them into one cache, so the scan *is* the data
preparation: the run trains on exactly what the page showed. The cache is per set of folders and
incremental, so scanning again only reads new or changed files.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from emostudio.corpus import (
    CorpusError,
    Finished,
    Progress,
    SourceFile,
    discover,
    emopia_song_id,
    prepare,
)
from emostudio.corpus.sources import quadrant_labels
from emostudio.tokens.config import TokenizerConfig
from emostudio.wizard.flow import DataSummary, Rejection
from emostudio.wizard.labels import LabelKind, LabelSet, detect_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanResult:
    labels: LabelSet
    summary: DataSummary


def cache_dir_for(cache_root: Path, folders: Sequence[Path], csv_file: Path | None) -> Path:
    """One cache per choice of folders (and label file), so a new scan of them is incremental."""
    key = "\n".join(sorted(str(Path(f).resolve()) for f in folders))
    key += f"\ncsv:{Path(csv_file).resolve() if csv_file else ''}"
    return Path(cache_root) / f"scan-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def labelled_sources(folders: Sequence[Path], labels: LabelSet) -> tuple[Path, list[SourceFile]]:
    """The files of all folders as corpus sources relative to their common root, labelled."""
    folders = [Path(f).resolve() for f in folders]
    root = Path(os.path.commonpath(folders)) if folders else Path("/")
    by_kind = {f.folder: f.kind for f in labels.folders}
    sources: list[SourceFile] = []
    for folder in folders:
        try:
            found = discover(folder)
        except CorpusError as exc:
            log.info("%s", exc)
            continue
        for src in found:
            path = Path(os.path.normpath(folder / src.path))
            quadrant = labels.labels.get(path)
            valence, arousal = quadrant_labels(quadrant) if quadrant else (None, None)
            song_id = src.song_id
            if by_kind.get(folder) is LabelKind.NAMES and quadrant is not None:
                song_id = emopia_song_id(path.name)  # clips of one song stay in one split
            sources.append(
                replace(
                    src,
                    path=path.relative_to(root).as_posix(),
                    song_id=song_id,
                    source=src.source or folder.name,
                    quadrant=quadrant,
                    valence=valence,
                    arousal=arousal,
                )
            )
    return root, sources


def scan(
    folders: Sequence[str | Path],
    cache_root: str | Path,
    csv_file: str | Path | None = None,
    cancel=None,
    jobs: int = 1,
    tokenizer_config: TokenizerConfig | None = None,
) -> Iterator[LabelSet | Progress]:
    """Yields the :class:`LabelSet` first, then the pipeline's :class:`Progress` events; returns a
    :class:`ScanResult`, or None when cancelled."""
    folders = [Path(f) for f in folders]
    labels = detect_labels(folders, csv_file)
    yield labels
    root, sources = labelled_sources(folders, labels)
    cache_dir = cache_dir_for(Path(cache_root), folders, Path(csv_file) if csv_file else None)
    if not sources:
        return ScanResult(
            labels, DataSummary(cache_dir, 0, 0, (), 0.0, 0, 0, {1: 0, 2: 0, 3: 0, 4: 0})
        )
    report = None
    for event in prepare(
        root, cache_dir, jobs=jobs, config=tokenizer_config, cancel=cancel, sources=sources
    ):
        if isinstance(event, Finished):
            report = event.report
        elif isinstance(event, Progress):
            yield event
    if report is None:
        return None
    summary = DataSummary(
        cache_dir=cache_dir,
        files=report.files,
        accepted=report.accepted,
        rejected=tuple(Rejection(root / path, reason) for path, reason in report.rejected),
        hours=report.hours,
        bars=report.bars,
        tokens=report.tokens,
        labelled={q: report.labelled_per_quadrant.get(q, 0) for q in (1, 2, 3, 4)},
    )
    return ScanResult(labels, summary)
