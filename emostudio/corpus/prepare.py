"""Folder of MIDI files -> corpus cache, as a generator of progress events (STYLE.md rule 8).

:func:`prepare` scans the folder (:mod:`emostudio.corpus.sources`), hashes every file, and has
worker processes turn each new or changed file into ``files/<sha256>.npz`` (tokens per bar,
polyphony, keys, or the reason it was rejected). Files whose result is already there with the
same tokenizer and feature settings are not read again. It then assigns the splits
(:mod:`emostudio.corpus.split`) and writes the consolidated ``arrays.npz`` and ``cache.json``.

It yields :class:`Progress` events and, when done, one :class:`Finished` with the
:class:`PrepareReport`. When ``cancel.is_set()`` becomes true it stops the workers and ends
without :class:`Finished`; per-file results written so far are kept for the next run. A bad file
never stops the run: it is rejected with a reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from emostudio.atomic import atomic_path, atomic_write
from emostudio.corpus.cache import (
    ARRAYS_NPZ,
    CACHE_FORMAT_VERSION,
    CACHE_JSON,
    FILES_DIR,
    PieceInfo,
)
from emostudio.corpus.sources import SourceFile, discover
from emostudio.corpus.split import SPLIT_SEED, SPLITS, assign_splits
from emostudio.midi import MidiReadError, read_midi
from emostudio.progress import Progress
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.features import KEY_SWITCH_PENALTY, KEY_WINDOW_BARS, bar_keys, polyphony
from emostudio.tokens.tokenizer import Tokenizer

log = logging.getLogger(__name__)

#: bump when what a per-file result holds or how it is computed changes (invalidates files/*.npz)
FILE_RESULT_VERSION = 1
#: the paper's cap on tokens per bar; longer bars are kept but counted in the report
MAX_TOKENS_PER_BAR = 128


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class PrepareReport:
    files: int = 0
    accepted: int = 0
    processed: int = 0  # files read and tokenised in this run
    reused: int = 0  # files whose earlier result was reused
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    hours: float = 0.0
    bars: int = 0
    tokens: int = 0
    bars_over_cap: int = 0  # bars with more than MAX_TOKENS_PER_BAR tokens
    labelled_per_quadrant: dict[int, int] = field(default_factory=dict)
    pieces_per_split: dict[str, int] = field(default_factory=dict)
    labelled_per_split_quadrant: dict[str, dict[int, int]] = field(default_factory=dict)
    seconds_elapsed: float = 0.0

    @property
    def rejected_reasons(self) -> Counter:
        """Reasons in short form ("corrupt MIDI data", "no notes", ...) and how often."""
        return Counter(reason.split(" (")[0] for _, reason in self.rejected)

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "accepted": self.accepted,
            "processed": self.processed,
            "reused": self.reused,
            "rejected": len(self.rejected),
            "rejected_reasons": dict(self.rejected_reasons),
            "hours": round(self.hours, 3),
            "bars": self.bars,
            "tokens": self.tokens,
            "bars_over_cap": self.bars_over_cap,
            "labelled_per_quadrant": {
                f"Q{q}": n for q, n in sorted(self.labelled_per_quadrant.items())
            },
            "pieces_per_split": dict(self.pieces_per_split),
            "labelled_per_split_quadrant": {
                s: {f"Q{q}": n for q, n in sorted(c.items())}
                for s, c in self.labelled_per_split_quadrant.items()
            },
            "seconds_elapsed": round(self.seconds_elapsed, 1),
        }

    def lines(self) -> list[str]:
        """The report as text, for people."""
        out = [
            f"files: {self.files}  accepted: {self.accepted}  rejected: {len(self.rejected)}  "
            f"(processed now: {self.processed}, reused: {self.reused})",
        ]
        for reason, n in self.rejected_reasons.most_common():
            out.append(f"  rejected, {reason}: {n}")
        for path, reason in self.rejected[:10]:
            out.append(f"    {path}: {reason}")
        if len(self.rejected) > 10:
            out.append(f"    ... and {len(self.rejected) - 10} more (see cache.json)")
        out.append(
            f"hours: {self.hours:.2f}  bars: {self.bars}  tokens: {self.tokens}  "
            f"bars over {MAX_TOKENS_PER_BAR} tokens: {self.bars_over_cap}"
        )
        quads = "  ".join(f"Q{q}: {self.labelled_per_quadrant.get(q, 0)}" for q in (1, 2, 3, 4))
        out.append(f"labelled pieces: {sum(self.labelled_per_quadrant.values())}  ({quads})")
        for s in SPLITS:
            per_q = self.labelled_per_split_quadrant.get(s, {})
            quads = " ".join(f"Q{q}:{per_q.get(q, 0)}" for q in (1, 2, 3, 4))
            out.append(f"  {s}: {self.pieces_per_split.get(s, 0)} pieces, labelled {quads}")
        out.append(f"took {self.seconds_elapsed:.1f} s")
        return out


@dataclass(frozen=True)
class Finished:
    report: PrepareReport


def settings_fingerprint(config: TokenizerConfig) -> str:
    """What a per-file result depends on besides the file itself."""
    settings = {
        "result_version": FILE_RESULT_VERSION,
        "tokenizer": config.to_dict(),
        "key_window": KEY_WINDOW_BARS,
        "key_switch_penalty": KEY_SWITCH_PENALTY,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def prepare(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    jobs: int = 2,
    config: TokenizerConfig | None = None,
    cancel: CancelFlag | None = None,
    split_seed: int = SPLIT_SEED,
    sources: Sequence[SourceFile] | None = None,
) -> Iterator[Progress | Finished]:
    """Build or update the cache in ``out_dir`` from the MIDI files of ``data_dir`` (see module doc).

    ``sources`` (paths relative to ``data_dir``) replaces discovering the folder: the training
    wizard passes the files of several folders with the labels it found."""
    started = time.perf_counter()
    config = config or TokenizerConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    sources = list(sources) if sources is not None else discover(data_dir)
    files_dir = out_dir / FILES_DIR
    files_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = settings_fingerprint(config)

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    # 1. hash every file; a result is reused when files/<sha>.npz exists with this fingerprint
    hashes: list[str | None] = []
    tasks: list[tuple[str, str]] = []
    queued: set[str] = set()  # identical files are processed once
    reused = 0
    for n, src in enumerate(sources, start=1):
        if cancelled():
            return
        digest = _sha256(data_dir / src.path)
        hashes.append(digest)
        if digest is not None:
            if _result_fingerprint(files_dir / f"{digest}.npz") == fingerprint:
                reused += 1
            elif digest not in queued:
                queued.add(digest)
                tasks.append((str(data_dir / src.path), digest))
        if n % 200 == 0 or n == len(sources):
            yield Progress("hash", done=n, total=len(sources), item=src.path)

    # 2. process new or changed files in worker processes
    work = [(path, digest, str(files_dir), config.to_dict(), fingerprint) for path, digest in tasks]
    for done, path in enumerate(_run_tasks(work, jobs, cancel), start=1):
        if path is None:  # cancelled
            return
        yield Progress("process", done=done, total=len(work), item=path)
    if cancelled():
        return

    # 3. consolidate in the sources' order
    yield Progress("write", done=0, total=1)
    report = PrepareReport(files=len(sources), processed=len(work), reused=reused)
    meta = _consolidate(sources, hashes, files_dir, out_dir, config, split_seed, report)
    report.seconds_elapsed = time.perf_counter() - started
    meta["report"] = report.to_dict()
    atomic_write(out_dir / CACHE_JSON, json.dumps(meta, indent=1) + "\n")
    yield Progress("write", done=1, total=1)
    yield Finished(report)


# ---- hashing and per-file results ----------------------------------------------------------------
def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _result_fingerprint(path: Path) -> str | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return str(npz["fingerprint"])
    except (OSError, KeyError, ValueError, EOFError):
        return None


def _run_tasks(work: list[tuple], jobs: int, cancel: CancelFlag | None) -> Iterator[str | None]:
    """Run :func:`process_file` over ``work``; yields each finished path, ``None`` once if cancelled."""
    if not work:
        return
    if jobs <= 1 or len(work) == 1:
        for task in work:
            if cancel is not None and cancel.is_set():
                yield None
                return
            yield process_file(*task)
        return
    # fork is quick and safe in a single-threaded process (the CLI); with other threads alive (a
    # GUI) it is not, so spawn, which needs the caller's script to guard ``if __name__ == "__main__"``
    method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
    context = multiprocessing.get_context(method)
    pool = context.Pool(processes=jobs)
    try:
        for path in pool.imap_unordered(_process_task, work, chunksize=4):
            if cancel is not None and cancel.is_set():
                pool.terminate()
                yield None
                return
            yield path
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _process_task(task: tuple) -> str:
    return process_file(*task)


def process_file(
    path: str, digest: str, files_dir: str, config_dict: dict, fingerprint: str
) -> str:
    """Read, tokenise and measure one file; write ``files_dir/<digest>.npz``; return ``path``.

    Never raises for a bad file: the result then holds the reason it was rejected."""
    config = TokenizerConfig.from_dict(config_dict)
    result: dict[str, np.ndarray] = {"fingerprint": np.array(fingerprint)}
    try:
        result.update(_measure(path, config))
        result["reason"] = np.array("")
    except MidiReadError as exc:
        result["reason"] = np.array(exc.reason)
    except Exception as exc:  # a bug or a pathological file must not stop a corpus run
        log.exception("failed to process %s", path)
        result["reason"] = np.array(f"failed to tokenise ({type(exc).__name__}: {exc})")
    target = Path(files_dir) / f"{digest}.npz"
    with atomic_path(target) as tmp:
        np.savez(tmp, **result)
    return path


def _measure(path: str, config: TokenizerConfig) -> dict[str, np.ndarray]:
    song = read_midi(path)
    if song.note_count == 0:
        raise MidiReadError(path, "no notes")
    bars = Tokenizer(config).encode_bars(song)
    n_bars = len(bars)
    return {
        "tokens": np.concatenate(bars).astype(np.int16),
        "bar_lengths": np.array([len(b) for b in bars], dtype=np.int32),
        "polyphony": polyphony(song, n_bars, config),
        "key": bar_keys(song, n_bars),
        "seconds": np.array(song.duration_seconds, dtype=np.float64),
    }


# ---- consolidation -----------------------------------------------------------------------------
def _consolidate(
    sources: list[SourceFile],
    hashes: list[str | None],
    files_dir: Path,
    out_dir: Path,
    config: TokenizerConfig,
    split_seed: int,
    report: PrepareReport,
) -> dict:
    """Write ``arrays.npz``, fill ``report``; return the content of ``cache.json`` (less the report)."""
    accepted: list[tuple[SourceFile, str, dict[str, np.ndarray]]] = []
    for src, digest in zip(sources, hashes):
        if digest is None:
            report.rejected.append((src.path, "cannot read file"))
            continue
        try:
            with np.load(files_dir / f"{digest}.npz", allow_pickle=False) as npz:
                result = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError) as exc:
            report.rejected.append((src.path, f"result missing ({exc})"))
            continue
        reason = str(result["reason"])
        if reason:
            report.rejected.append((src.path, reason))
            continue
        accepted.append((src, digest, result))
    for path, reason in report.rejected:
        log.info("rejected %s: %s", path, reason)

    splits = assign_splits(
        [s.source for s, _, _ in accepted],
        [s.song_id for s, _, _ in accepted],
        [s.quadrant for s, _, _ in accepted],
        seed=split_seed,
    )
    pieces: list[PieceInfo] = []
    bar_lengths, piece_bars = [], [0]
    for (src, digest, result), split in zip(accepted, splits):
        lengths = result["bar_lengths"]
        pieces.append(
            PieceInfo(
                path=src.path,
                song_id=src.song_id,
                source=src.source,
                split=split,
                quadrant=src.quadrant,
                valence=src.valence,
                arousal=src.arousal,
                n_bars=len(lengths),
                n_tokens=int(lengths.sum()),
                seconds=round(float(result["seconds"]), 3),
                sha256=digest,
            )
        )
        bar_lengths.append(lengths)
        piece_bars.append(piece_bars[-1] + len(lengths))
    lengths_all = np.concatenate(bar_lengths) if bar_lengths else np.zeros(0, dtype=np.int32)
    arrays = {
        "tokens": _concat([r["tokens"] for _, _, r in accepted], np.int16),
        "bar_offsets": np.concatenate([[0], np.cumsum(lengths_all, dtype=np.int64)]).astype(
            np.int64
        ),
        "piece_bar_offsets": np.asarray(piece_bars, dtype=np.int64),
        "polyphony": _concat(
            [r["polyphony"] for _, _, r in accepted], np.uint8, (0, config.subbeats_per_bar)
        ),
        "key": _concat([r["key"] for _, _, r in accepted], np.int8),
    }
    out_dir.joinpath(CACHE_JSON).unlink(missing_ok=True)  # a half-updated cache must not load
    with atomic_path(out_dir / ARRAYS_NPZ) as tmp:
        np.savez(tmp, **arrays)

    report.accepted = len(pieces)
    report.hours = sum(p.seconds for p in pieces) / 3600
    report.bars = len(lengths_all)
    report.tokens = int(lengths_all.sum())
    report.bars_over_cap = int(np.sum(lengths_all > MAX_TOKENS_PER_BAR))
    report.labelled_per_quadrant = dict(
        sorted(Counter(p.quadrant for p in pieces if p.labelled).items())
    )
    report.pieces_per_split = {s: sum(p.split == s for p in pieces) for s in SPLITS}
    report.labelled_per_split_quadrant = {
        s: dict(sorted(Counter(p.quadrant for p in pieces if p.labelled and p.split == s).items()))
        for s in SPLITS
    }
    return {
        "format_version": CACHE_FORMAT_VERSION,
        "tokenizer": config.to_dict(),
        "features": {"key_window_bars": KEY_WINDOW_BARS, "key_switch_penalty": KEY_SWITCH_PENALTY},
        "split_seed": split_seed,
        "pieces": [p.to_dict() for p in pieces],
        "rejected": [{"path": path, "reason": reason} for path, reason in report.rejected],
    }


def _concat(parts: list[np.ndarray], dtype, empty_shape: tuple = (0,)) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(empty_shape, dtype=dtype)
