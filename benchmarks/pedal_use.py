"""How the corpus's players use the sustain pedal, and how much longer their notes sound with it.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/pedal_use.py --data ../shared/data

Per source (EMOPIA, POP909, VGMIDI; every file read with ``read_midi``): the share of files with
sustain-pedal changes, and over their pedalled tracks the median share of the piece's length with
the pedal down, presses a bar, and the ratio of a note's sounding length (until its key is
released or, when the pedal is down then, until the pedal is lifted) to its key's length. The
model's tokens hold the key's length only; the sounding length is what a listener hears from a
piece that is played with its pedal.
"""

from __future__ import annotations

import argparse
import bisect
from pathlib import Path

import numpy as np

from emostudio.generation.splice import _sustain_use
from emostudio.midi import TICKS_PER_BAR, read_midi
from emostudio.midi.song import SUSTAIN, Track


def sounding_ratio(track: Track) -> float | None:
    """Sum of the notes' sounding lengths (held on by the pedal) / sum of their keys' lengths."""
    pedal = [c for c in track.controls if c.control == SUSTAIN]
    if not pedal or not track.notes:
        return None
    ticks = [c.tick for c in pedal]
    keys = sounding = 0
    for note in track.notes:
        keys += note.end - note.start
        i = bisect.bisect_right(ticks, note.end) - 1
        end = note.end
        if i >= 0 and pedal[i].value >= 64:  # down when the key is released: held to the lift
            lift = next((c.tick for c in pedal[i + 1 :] if c.value < 64), None)
            end = max(end, lift if lift is not None else note.end)
        sounding += end - note.start
    return sounding / max(keys, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="files per source (0: all)")
    args = parser.parse_args()
    print(
        "| source | files | with pedal | pedal down (median) | presses a bar | sounding / key length |"
    )
    print("|---|---|---|---|---|---|")
    for source in ("emopia", "pop909", "vgmidi"):
        files = sorted((args.data / source).rglob("*.mid"))
        files = files[: args.limit] if args.limit else files
        down, presses, ratios, pedalled = [], [], [], 0
        for path in files:
            song = read_midi(path)
            end = max(song.n_bars, 1) * TICKS_PER_BAR
            has = False
            for track in song.tracks:
                if not any(c.control == SUSTAIN for c in track.controls):
                    continue
                has = True
                share, per_bar = _sustain_use(list(track.controls), end)
                down.append(share)
                presses.append(per_bar)
                ratio = sounding_ratio(track)
                if ratio is not None:
                    ratios.append(ratio)
            pedalled += has
        if not files:
            continue
        print(
            f"| {source} | {len(files)} | {pedalled / len(files):.0%} "
            f"| {np.median(down) if down else 0:.2f} | {np.median(presses) if presses else 0:.2f} "
            f"| {np.median(ratios) if ratios else 1:.2f}× |"
        )


if __name__ == "__main__":
    main()
