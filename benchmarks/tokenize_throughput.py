"""Tokenising throughput on a whole corpus: emostudio's tokenizer against MidiTok's REMI, same run.

Usage: .venv/bin/python benchmarks/tokenize_throughput.py [DATA_DIR] [--jobs 2] [--repeats 3]
(needs the benchmark extra: ``.venv/bin/pip install miditok==3.1.0``)

Each pass tokenises every file of the corpus from its path on ``--jobs`` worker processes:
emostudio = ``read_midi`` (mido) + ``Tokenizer.encode``; MidiTok = ``symusic.Score(path)`` +
``REMI.encode(score)`` (what ``REMI.encode(path)`` does), configured as close to ours as it allows: 16th-note positions, 32 velocities, tempos,
programs in one sequence. Passes alternate between the two; the medians of wall time give
files/s and tokens/s, and the ratio emostudio / MidiTok. Worker CPU seconds are shown too (the
machine is shared, so wall time is noisy), split into reading the file and tokenising the parsed
music, with a tokenising-only ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path

from emostudio.corpus import discover

_tokenizer = None  # one per worker process, built by _init


def _init(kind: str) -> None:
    global _tokenizer
    if kind == "emostudio":
        from emostudio.tokens import Tokenizer

        _tokenizer = Tokenizer()
    else:
        import miditok

        config = miditok.TokenizerConfig(
            use_tempos=True,
            use_programs=True,
            num_velocities=32,
            beat_res={(0, 4): 4, (4, 12): 4},
        )
        _tokenizer = miditok.REMI(config)


def _emostudio(path: str) -> tuple[int, float, float]:
    """(tokens or -1, CPU seconds in all, CPU seconds reading the file)."""
    from emostudio.midi import MidiReadError, read_midi

    started = time.process_time()
    try:
        song = read_midi(path)
        read = time.process_time() - started
        n = len(_tokenizer.encode(song))
    except MidiReadError:
        n, read = -1, time.process_time() - started
    return n, time.process_time() - started, read


def _miditok(path: str) -> tuple[int, float, float]:
    """As :func:`_emostudio`; ``REMI.encode(path)`` is ``Score(path)`` then ``encode(score)``."""
    import symusic

    started = time.process_time()
    read = 0.0
    try:
        score = symusic.Score(path)
        read = time.process_time() - started
        seq = _tokenizer.encode(score)
        n = sum(len(s) for s in seq) if isinstance(seq, list) else len(seq)
    except Exception:  # MidiTok's failures are counted, not fatal
        n = -1
    return n, time.process_time() - started, read


def one_pass(kind: str, paths: list[str], jobs: int) -> tuple[float, int, int, float, float]:
    """(wall seconds, tokens, failed files, worker CPU seconds, of which reading files) of
    tokenising every path once."""
    func = _emostudio if kind == "emostudio" else _miditok
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_init, initargs=(kind,)) as pool:
        pool.map(abs, range(jobs))  # workers started and initialised before the clock starts
        started = time.perf_counter()
        rows = pool.map(func, paths, chunksize=8)
        wall = time.perf_counter() - started
    tokens = sum(r[0] for r in rows if r[0] >= 0)
    return (
        wall,
        tokens,
        sum(r[0] < 0 for r in rows),
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="../shared/data", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    paths = [str(args.data / f.path) for f in discover(args.data)]

    results: dict[str, list[tuple[float, int, int, float, float]]] = {
        "emostudio": [],
        "miditok": [],
    }
    for r in range(args.repeats):
        for kind in ("emostudio", "miditok") if r % 2 == 0 else ("miditok", "emostudio"):
            results[kind].append(one_pass(kind, paths, args.jobs))
            wall, tokens, failed, cpu, read = results[kind][-1]
            print(
                f"pass {r + 1} {kind}: {wall:.1f} s wall, {cpu:.1f} s worker CPU (reading files: "
                f"{read:.1f} s), {tokens} tokens, {failed} failed",
                flush=True,
            )

    print(f"\n{len(paths)} files, {args.jobs} processes, median of {args.repeats} passes")
    print(
        "| tokenizer | wall s | files/s | tokens/s | worker CPU s | of which reading files | tokens | failed files |"
    )
    print("|---|---|---|---|---|---|---|---|")
    medians = {}
    for kind, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[3] for r in rows)
        read = statistics.median(r[4] for r in rows)
        tokens, failed = rows[0][1], rows[0][2]
        medians[kind] = (wall, cpu, cpu - read)
        read_text = f"{read:.1f}"
        print(
            f"| {kind} | {wall:.1f} | {len(paths) / wall:.1f} | {tokens / wall:,.0f} | {cpu:.1f} | "
            f"{read_text} | {tokens:,} | {failed} |"
        )
    (ours_wall, ours_cpu, ours_tok), (theirs_wall, theirs_cpu, theirs_tok) = (
        medians["emostudio"],
        medians["miditok"],
    )
    print(
        f"\nfiles/s ratio emostudio / MidiTok REMI: {theirs_wall / ours_wall:.2f} (wall), "
        f"{theirs_cpu / ours_cpu:.2f} (worker CPU); tokenising the parsed music only (worker CPU): "
        f"{theirs_tok / ours_tok:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
