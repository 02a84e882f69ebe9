"""Round-trip fidelity of the tokenizer on a whole corpus.

Usage: .venv/bin/python benchmarks/roundtrip.py [DATA_DIR] [--jobs 2] [--worst 10]

For every file of the corpus (its manifest, or every .mid under it): the notes quantised to the
grid, as the set of (family, pitch, onset sub-beat, duration in sub-beats) - what
``Tokenizer.quantise`` gives - are compared with the same set after encode -> decode. Reports the
share of grid notes kept overall and per source, the share of raw notes that land on distinct grid
notes (notes merged by quantisation are not a round-trip loss but are shown), decoder skips, and
the files that keep the fewest notes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import defaultdict
from pathlib import Path

from emostudio.corpus import discover
from emostudio.midi import MidiReadError, read_midi
from emostudio.tokens import Tokenizer


def measure(path: str) -> tuple[str, int, int, int, int, str]:
    """(path, raw notes, grid notes, grid notes kept, decoder skips, error)."""
    tokenizer = Tokenizer()
    try:
        song = read_midi(path)
    except MidiReadError as exc:
        return path, 0, 0, 0, 0, exc.reason
    before = tokenizer.quantise(song).as_set()
    result = tokenizer.decode(tokenizer.encode(song))
    after = tokenizer.quantise(result.song).as_set()
    return path, song.note_count, len(before), len(before & after), result.n_skipped, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="../shared/data", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--worst", type=int, default=10)
    args = parser.parse_args(argv)
    files = discover(args.data)
    paths = [str(args.data / f.path) for f in files]
    source_of = {str(args.data / f.path): f.source for f in files}
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        rows = pool.map(measure, paths, chunksize=8)
    elapsed = time.perf_counter() - started

    errors = [(p, e) for p, *_, e in rows if e]
    ok = [r for r in rows if not r[5]]
    raw = sum(r[1] for r in ok)
    grid = sum(r[2] for r in ok)
    kept = sum(r[3] for r in ok)
    skipped = sum(r[4] for r in ok)
    print(
        f"files: {len(rows)} ({len(errors)} unreadable), {elapsed:.1f} s on {args.jobs} processes"
    )
    print(
        f"raw notes: {raw}, distinct grid notes: {grid} ({grid / raw:.4f} of raw; the rest merge "
        f"on the grid: same family, pitch and onset sub-beat)"
    )
    print(
        f"grid notes kept by encode -> decode: {kept} of {grid} = {kept / grid:.6f}; decoder skipped "
        f"{skipped} tokens"
    )
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for path, n_raw, n_grid, n_kept, _, _ in ok:
        acc = by_source[source_of[path]]
        acc[0] += n_raw
        acc[1] += n_grid
        acc[2] += n_kept
    for source, (n_raw, n_grid, n_kept) in sorted(by_source.items()):
        print(
            f"  {source or '(top)'}: kept {n_kept / n_grid:.6f} of grid notes; grid/raw {n_grid / n_raw:.4f}"
        )
    worst = sorted(ok, key=lambda r: (r[3] / r[2] if r[2] else 1.0, r[2] / r[1] if r[1] else 1.0))
    print(f"worst {args.worst} files (kept/grid, grid/raw):")
    for path, n_raw, n_grid, n_kept, _, _ in worst[: args.worst]:
        print(
            f"  {Path(path).relative_to(args.data)}: {n_kept / max(1, n_grid):.4f}, {n_grid / max(1, n_raw):.4f}"
            f" ({n_raw} notes)"
        )
    for path, error in errors:
        print(f"  unreadable: {path}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
