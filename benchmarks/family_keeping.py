"""Does continue keep a piece's voices? Notes per bar by family slot, before and after the join.

    PYTHONPATH=. .venv/bin/python benchmarks/family_keeping.py --data ../shared/data \\
        [--models models/default runs/gpu/s2best] [--pieces 10] [--bars 8] [--seed 1]

POP909 pieces have three voices in three family slots (melody: strings, bridge: guitar, piano
accompaniment: piano; ``midi/families.py``). For ``--pieces`` of them (a fixed random choice, bars
9-24 past the intro), each model continues the piece by ``--bars`` bars without a target; prints
the notes per bar of each slot in the last four bars of the piece and in the new bars, and the
families of 8 generated pieces (two per quadrant). A model that keeps the voices writes the
melody on in its slot.
"""

from __future__ import annotations

import argparse
import glob
import random
from pathlib import Path

import numpy as np
import torch

SLOTS = ("STRINGS", "GUITAR", "PIANO")  # POP909's melody, bridge and piano tracks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--models", nargs="+", default=[None], help="model folders (default: shipped)")
    p.add_argument("--pieces", type=int, default=10)
    p.add_argument("--bars", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    from emostudio.emotion import Emotion
    from emostudio.generation import Engine
    from emostudio.midi import read_midi
    from emostudio.midi.families import Family
    from emostudio.midi.song import TICKS_PER_BAR

    torch.set_num_threads(1)
    files = sorted(glob.glob(str(args.data / "pop909" / "*.mid")))
    chosen = random.Random(args.seed).sample(files, args.pieces)
    pieces = [read_midi(f).slice_bars(8, 16) for f in chosen]

    def per_bar(song, first: int, count: int) -> np.ndarray:
        lo, hi = first * TICKS_PER_BAR, (first + count) * TICKS_PER_BAR
        return (
            np.array(
                [
                    sum(
                        lo <= n.start < hi
                        for t in song.tracks
                        if t.family == Family[s]
                        for n in t.notes
                    )
                    for s in SLOTS
                ]
            )
            / count
        )

    print(
        f"{args.pieces} POP909 pieces (bars 9-24), continued by {args.bars} bars, seed {args.seed}"
    )
    print("notes per bar: melody (strings slot) / bridge (guitar) / piano\n")
    print("| model | the piece's last 4 bars | the new bars | generated pieces' families |")
    print("|---|---|---|---|")
    for model in args.models:
        engine = Engine.load(model, device="cpu")
        before, after = [], []
        for i, song in enumerate(pieces):
            n = song.n_bars
            (longer,) = engine.continue_piece(song, args.bars, seed=args.seed + i)
            before.append(per_bar(song, n - 4, 4))
            after.append(per_bar(longer, n, args.bars))
        targets = [Emotion.from_quadrant(q) for q in (1, 2, 3, 4)] * 2
        families: dict[str, int] = {}
        for song in engine.generate_many(targets, bars=8, seed=args.seed):
            for t in song.tracks:
                families[t.family.name.lower()] = families.get(t.family.name.lower(), 0) + len(
                    t.notes
                )
        fmt = lambda rows: " / ".join(f"{x:.2f}" for x in np.mean(rows, axis=0))  # noqa: E731
        name = model or "shipped (models/default)"
        print(f"| {name} | {fmt(before)} | {fmt(after)} | {families} |")


if __name__ == "__main__":
    main()
