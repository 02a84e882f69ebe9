"""What phrase-end cadences cost per token: generation with and without them, in one process.

    PYTHONPATH=. .venv/bin/python benchmarks/cadence_cost.py [--rounds 3]

A cadence changes the notes, so the pieces differ in length: the figure to compare is seconds per
token. One piece at a time (AABA, 16 bars, the four quadrants in turn, seeds 10-17), the two
settings alternating seed by seed after a warm-up that fills the grammar's caches with cadence
situations; the tokens are those of the finished songs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from emostudio.decoding import DEFAULT_FORM, DecodingSettings
from emostudio.emotion import Emotion
from emostudio.generation import Engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cadence", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    engine = Engine.load(args.model, device="cpu")
    q = [Emotion.from_quadrant(k) for k in (1, 2, 3, 4)]
    settings = {c: DecodingSettings(cadence=c) for c in (0.0, args.cadence)}
    engine.generate_many(q * 4, bars=16, seed=0, form=DEFAULT_FORM, settings=settings[args.cadence])
    total = {c: [0.0, 0] for c in settings}
    for r in range(args.rounds):
        for seed in range(10, 18):
            order = list(settings) if (seed + r) % 2 else list(reversed(settings))
            for c in order:
                t0 = time.perf_counter()
                songs = engine.generate_many(
                    [q[seed % 4]], bars=16, seed=seed, form=DEFAULT_FORM, settings=settings[c]
                )
                total[c][0] += time.perf_counter() - t0
                total[c][1] += sum(len(b) for s in songs for b in engine.tokenizer.encode_bars(s))
    print("| cadence | seconds | tokens | ms a token |\n|---|---|---|---|")
    for c, (seconds, tokens) in total.items():
        print(f"| {c:g} | {seconds:.3f} | {tokens} | {seconds / tokens * 1e3:.3f} |")
    (s0, n0), (s1, n1) = total.values()
    print(f"\nper token, cadence {args.cadence:g} / none: {(s1 / n1) / (s0 / n0):.3f}")


if __name__ == "__main__":
    main()
