"""Key finding (emostudio.tokens.features) against POP909's audio key annotations.

Usage: .venv/bin/python benchmarks/key_accuracy.py [DATA_DIR] [--window N] [--penalty X]

For every ``pop909/NNN.mid`` with its ``NNN.key.txt`` (segments ``start_sec end_sec key`` on the
MIDI timeline): the global key is compared with the annotated segment that lasts longest; each bar
(its centre converted to seconds with the song's tempo map) is compared with the segment holding
it, counting only bars with pitched notes inside the annotated span. Errors are split into
relative (same key signature, other mode), parallel (same tonic, other mode), fifth (same mode,
tonic a fifth away) and other.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from emostudio.midi import TICKS_PER_BAR, MidiReadError, read_midi
from emostudio.tokens.features import (
    KEY_SWITCH_PENALTY,
    KEY_WINDOW_BARS,
    bar_chroma,
    bar_keys,
    global_key,
    key_name,
    parse_key,
    relation,
)

KINDS = ("same", "relative", "parallel", "fifth", "other")


def read_segments(path: Path) -> list[tuple[float, float, int]]:
    segments = []
    for line in path.read_text().splitlines():
        if line.strip():
            start, end, key = line.split("\t")
            segments.append((float(start), float(end), parse_key(key)))
    return segments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="../shared/data", type=Path)
    parser.add_argument("--window", type=int, default=KEY_WINDOW_BARS)
    parser.add_argument("--penalty", type=float, default=KEY_SWITCH_PENALTY)
    args = parser.parse_args(argv)
    files = sorted((args.data / "pop909").glob("*.mid"))
    if not files:
        print(f"no POP909 files under {args.data / 'pop909'}", file=sys.stderr)
        return 1

    songs: Counter[str] = Counter()
    bars: Counter[str] = Counter()
    worst: list[tuple[float, str, str, str]] = []
    started = time.perf_counter()
    for path in files:
        key_file = path.with_suffix(".key.txt")
        if not key_file.exists():
            continue
        try:
            song = read_midi(path)
        except MidiReadError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        segments = read_segments(key_file)
        truth_global = max(segments, key=lambda s: s[1] - s[0])[2]
        estimate = global_key(song)
        songs[relation(estimate, truth_global)] += 1

        n_bars = max(1, song.n_bars)
        keys = bar_keys(song, n_bars, window=args.window, switch_penalty=args.penalty)
        sounding = bar_chroma(song, n_bars).sum(axis=1) > 0
        centres = np.array([song.tick_to_seconds((b + 0.5) * TICKS_PER_BAR) for b in range(n_bars)])
        truth = np.full(n_bars, -1)
        for start, end, key in segments:
            truth[(centres >= start) & (centres < end)] = key
        mask = sounding & (truth >= 0)
        right = 0
        for est, true in zip(keys[mask].tolist(), truth[mask].tolist()):
            kind = relation(est, true)
            bars[kind] += 1
            right += kind == "same"
        if mask.any():
            worst.append(
                (right / mask.sum(), path.name, key_name(estimate), key_name(truth_global))
            )

    n_songs, n_bars_total = sum(songs.values()), sum(bars.values())
    elapsed = time.perf_counter() - started
    print(
        f"POP909 songs: {n_songs}, bars scored: {n_bars_total}, window {args.window}, "
        f"penalty {args.penalty}, {elapsed:.1f} s"
    )
    print("| | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    print("| global key (songs) | " + " | ".join(f"{songs[k] / n_songs:.3f}" for k in KINDS) + " |")
    print(
        "| key per bar (bars) | "
        + " | ".join(f"{bars[k] / n_bars_total:.3f}" for k in KINDS)
        + " |"
    )
    worst.sort()
    print("worst songs (per-bar accuracy, estimated global key, annotated key):")
    for acc, name, est, true in worst[:5]:
        print(f"  {name}: {acc:.2f}  estimated {est}, annotated {true}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
