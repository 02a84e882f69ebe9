"""How the corpus's players use the sustain pedal, how much longer their notes sound with it, and
how generated piano sounds with the engine's pedal (``--generated``).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/pedal_use.py --data ../shared/data
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/pedal_use.py \
        --data ../shared/data --generated models/default --pieces 25 --seed 6

Per source (EMOPIA, POP909, VGMIDI; every file read with ``read_midi``): the share of files with
sustain-pedal changes, and over their pedalled tracks the median share of the piece's length with
the pedal down, presses a bar, and the ratio of a note's sounding length (until its key is
released or, when the pedal is down then, until the pedal is lifted) to its key's length. The
model's tokens hold the key's length only; the sounding length is what a listener hears from a
piece that is played with its pedal.

``--generated MODEL``: instead, every 5th EMOPIA file (200, cut to 16 bars) against
``--pieces`` per quadrant of the model's 16-bar pieces (AABA, ``--seed``), with and without the
sustain pedal (``DecodingSettings.pedal``): per piece the mean sounding length of its notes (in
sub-beats) and its sounding polyphony (notes sounding at each sub-beat where any sounds), median
and interquartile range over pieces.

``--continued MODEL``: ``--pieces`` pedalled EMOPIA clips of 12 bars or more (every 5th file
from the third), their first 8 bars continued by 8 bars (``Engine.continue_piece``, seed
``--seed`` + i) with and without the pedal; the new bars (with the pedal state at the join)
against the clips' own 8 bars.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/pedal_use.py \
        --data ../shared/data --continued models/default --pieces 40 --seed 6
"""

from __future__ import annotations

import argparse
import bisect
from pathlib import Path

import numpy as np

from emostudio.midi import TICKS_PER_BAR, TICKS_PER_SUBBEAT, Song, read_midi
from emostudio.midi.pedal import sustain_spans, sustain_use
from emostudio.midi.song import SUSTAIN, Track


def sounding_lengths(track: Track) -> list[int]:
    """Each note's sounding length in ticks: until its key is released or, when the sustain pedal
    is down then, until the pedal is lifted (a pedal never lifted: until the last note's end)."""
    end = max((n.end for n in track.notes), default=0)
    spans = sustain_spans(track.controls, end)
    presses = [press for press, _ in spans]
    lengths = []
    for note in track.notes:
        i = bisect.bisect_right(presses, note.end) - 1
        held = i >= 0 and note.end < spans[i][1]
        lengths.append(max(note.end, spans[i][1] if held else note.end) - note.start)
    return lengths


def sounding(song: Song, pedal: bool) -> tuple[float, float]:
    """(mean sounding length in sub-beats, mean notes sounding where any sound) of the pitched
    tracks, with the pedal or by the keys alone."""
    n = song.n_bars * 16
    count = np.zeros(n)
    lengths: list[float] = []
    for track in song.tracks:
        if track.is_drum:
            continue
        ticks = sounding_lengths(track) if pedal else [x.end - x.start for x in track.notes]
        for note, length in zip(track.notes, ticks):
            a = note.start // TICKS_PER_SUBBEAT
            count[a : min(n, a + -(-length // TICKS_PER_SUBBEAT))] += 1
            lengths.append(length / TICKS_PER_SUBBEAT)
    on = count[count > 0]
    return float(np.mean(lengths)), float(on.mean()) if len(on) else 0.0


def generated_report(args) -> None:
    from emostudio.decoding import DecodingSettings
    from emostudio.emotion import Emotion
    from emostudio.generation import Engine

    real = []
    for path in sorted((args.data / "emopia").rglob("*.mid"))[::5][:200]:
        song = read_midi(path)
        real.append(song.slice_bars(0, min(16, song.n_bars)))
    engine = Engine.load(args.generated, device="cpu")
    targets = [Emotion.from_quadrant(q) for q in (1, 2, 3, 4) for _ in range(args.pieces)]
    plain = DecodingSettings(pedal=False)
    sets = {
        "EMOPIA, keys only": (real, False),
        "EMOPIA, with their pedalling": (real, True),
        "generated, no pedal": (
            engine.generate_many(targets, 16, args.seed, settings=plain, form="AABA"),
            False,
        ),
        "generated, the engine's pedal": (
            engine.generate_many(targets, 16, args.seed, form="AABA"),
            True,
        ),
    }
    print_table(sets)


def continued_report(args) -> None:
    """EMOPIA clips' first 8 bars continued by 8 bars with and without the pedal: the new bars
    against the clip's own 8 bars with its pedalling."""
    from emostudio.decoding import DecodingSettings
    from emostudio.generation import Engine

    engine = Engine.load(args.continued, device="cpu")
    clips = []
    for path in sorted((args.data / "emopia").rglob("*.mid"))[2::5]:
        song = read_midi(path)
        if song.n_bars >= 12 and any(c.control == SUSTAIN for t in song.tracks for c in t.controls):
            clips.append(song.slice_bars(0, 8))
        if len(clips) == args.pieces:
            break
    new: dict[bool, list[Song]] = {}
    for pedal in (True, False):
        settings = DecodingSettings(pedal=pedal)
        new[pedal] = [
            engine.continue_piece(clip, 8, seed=args.seed + i, settings=settings)[0].slice_bars(
                8, 8
            )
            for i, clip in enumerate(clips)
        ]
    print_table(
        {
            "the clips' 8 bars, with their pedalling": (clips, True),
            "8 continued bars, no pedal": (new[False], True),
            "8 continued bars, the engine's pedal": (new[True], True),
        }
    )


def print_table(sets: dict[str, tuple[list[Song], bool]]) -> None:
    print(
        "| set | pieces | sounding length, sub-beats (median, IQR) | sounding polyphony (median, IQR) |"
    )
    print("|---|---|---|---|")
    for name, (songs, pedal) in sets.items():
        rows = np.array([sounding(s, pedal) for s in songs if s.note_count])
        cells = [
            f"{np.median(c):.2f} ({np.percentile(c, 25):.2f}–{np.percentile(c, 75):.2f})"
            for c in rows.T
        ]
        print(f"| {name} | {len(rows)} | {cells[0]} | {cells[1]} |")


def sounding_ratio(track: Track) -> float | None:
    """Sum of the notes' sounding lengths (held on by the pedal) / sum of their keys' lengths."""
    if not track.notes or not any(c.control == SUSTAIN for c in track.controls):
        return None
    keys = sum(n.end - n.start for n in track.notes)
    return sum(sounding_lengths(track)) / max(keys, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="files per source (0: all)")
    parser.add_argument("--generated", type=Path, metavar="MODEL", help="see the docstring")
    parser.add_argument("--continued", type=Path, metavar="MODEL", help="see the docstring")
    parser.add_argument("--pieces", type=int, default=25, help="per quadrant, with --generated")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    if args.generated is not None:
        generated_report(args)
        return
    if args.continued is not None:
        continued_report(args)
        return
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
                share, per_bar = sustain_use(track.controls, end)
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
