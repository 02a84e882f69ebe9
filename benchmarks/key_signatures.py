"""Key signatures: what the corpus's files state, and how often the signature emostudio states for
music it writes (``tokens.signatures.stated_keys``: the key heard, spelled) has the accidentals of
the key annotated by ear.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/key_signatures.py --data ../shared/data

Per source (EMOPIA, POP909, VGMIDI; every file read with ``read_midi``): files stating a key
signature, those whose only statement is C major at the start (a default many sequencers write),
and, over files stating another key, the share whose first signature has the accidentals of the
key heard in their first bar by ``stated_keys``.

POP909 (``NNN.key.txt``: the keys annotated from the audio, segments on the MIDI timeline): each
whole song given its signatures by ``stated_keys``; per bar with pitched notes inside an annotated
segment, whether the signature in force there has the annotated key's accidentals (same key or its
relative), against the same share for one signature of the song's global key (``global_key``)
held throughout; and the signatures stated per song against the annotated key changes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np

from emostudio.midi import TICKS_PER_BAR, MidiReadError, read_midi
from emostudio.midi.song import KeySignature, signature_at
from emostudio.tokens.features import bar_chroma, bar_keys, global_key, parse_key
from emostudio.tokens.signatures import stated_keys

SOURCES = ("emopia", "pop909", "vgmidi")


def corpus_statements(data: Path) -> None:
    print(
        "| source | files | stating a key | only C major at the start | other keys: first bar's heard key has the stated accidentals |"
    )
    print("|---|---|---|---|---|")
    for source in SOURCES:
        files = sorted((data / source).glob("*.mid"))
        stating = default = agree = other = 0
        for path in files:
            try:
                song = read_midi(path)
            except MidiReadError:
                continue
            if not song.key_signatures:
                continue
            stating += 1
            first = song.key_signatures[0]
            if (
                len(song.key_signatures) == 1
                and first.tick == 0
                and first.sharps == 0
                and not first.minor
            ):
                default += 1
                continue
            other += 1
            heard = KeySignature.of_key(
                0, int(bar_keys(song, max(1, song.n_bars))[first.tick // TICKS_PER_BAR])
            )
            agree += heard.sharps == first.sharps
        print(
            f"| {source} | {len(files)} | {stating} ({stating / max(1, len(files)):.1%}) | {default} "
            f"| {agree} / {other} ({agree / max(1, other):.1%}) |"
        )


def pop909_annotations(data: Path) -> None:
    stated_right = global_right = scored = 0
    statements, annotated = [], []
    started = time.perf_counter()
    for path in sorted((data / "pop909").glob("*.mid")):
        key_file = path.with_suffix(".key.txt")
        if not key_file.exists():
            continue
        try:
            song = read_midi(path)
        except MidiReadError:
            continue
        segments = []
        for line in key_file.read_text().splitlines():
            if line.strip():
                start, end, key = line.split("\t")
                segments.append((float(start), float(end), parse_key(key)))
        mine = stated_keys(replace(song, key_signatures=()))
        one = KeySignature.of_key(0, global_key(song))
        n_bars = max(1, song.n_bars)
        sounding = bar_chroma(song, n_bars).sum(axis=1) > 0
        for b in range(n_bars):
            centre = song.tick_to_seconds((b + 0.5) * TICKS_PER_BAR)
            truth = next((k for s, e, k in segments if s <= centre < e), None)
            if truth is None or not sounding[b]:
                continue
            right = KeySignature.of_key(0, truth).sharps
            in_force = signature_at(mine.key_signatures, b * TICKS_PER_BAR)
            scored += 1
            stated_right += in_force is not None and in_force.sharps == right
            global_right += one.sharps == right
        statements.append(len(mine.key_signatures))
        changes = [
            1
            for a, b in pairwise(segments)
            if KeySignature.of_key(0, a[2]).sharps != KeySignature.of_key(0, b[2]).sharps
        ]
        annotated.append(1 + len(changes))
    print(
        f"\nPOP909: {len(statements)} songs, {scored} bars scored, {time.perf_counter() - started:.0f} s"
    )
    print("| signature in force at a bar | has the annotated key's accidentals |")
    print("|---|---|")
    print(
        f"| stated by `stated_keys` (the key heard, changes stated) | {stated_right / scored:.3f} |"
    )
    print(f"| one signature of the song's global key | {global_right / scored:.3f} |")
    print(
        f"signatures a song: stated median {np.median(statements):.0f} (mean {np.mean(statements):.2f}, "
        f"max {max(statements)}); annotated keys with other accidentals, median "
        f"{np.median(annotated):.0f} (mean {np.mean(annotated):.2f}, max {max(annotated)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", type=Path)
    args = parser.parse_args(argv)
    if not (args.data / "pop909").is_dir():
        print(f"no corpus under {args.data}", file=sys.stderr)
        return 1
    corpus_statements(args.data)
    pop909_annotations(args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
