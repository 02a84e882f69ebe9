"""The encoders' CPU threads (``Engine.encode_threads``): 1 against 2, in one process, alternating.

    PYTHONPATH=. .venv/bin/python benchmarks/encode_threads.py [--model DIR] [--rounds 3]

Four 16-bar pieces in the default form (one per quadrant, seed 3) are each recognised, continued
by 8 bars and transferred to sad (the shipped edit) with the encoders on one thread and on two,
taking turns call by call; the decoder stays on the engine's one thread. Prints the medians and
their ratio. The calls' outputs do not depend on it beyond float rounding.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from emostudio.decoding import DEFAULT_FORM
from emostudio.emotion import Emotion
from emostudio.generation import Engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = Engine.load(args.model, device="cpu", threads=1)
    targets = [Emotion.from_quadrant(q) for q in (1, 2, 3, 4)]
    songs = engine.generate_many(targets, bars=16, seed=3, form=DEFAULT_FORM)
    sad = Emotion.from_quadrant(3)
    calls = {
        "recognise 16 bars": lambda s: engine.recognise(s),
        "continue 8 bars": lambda s: engine.continue_piece(s, 8, seed=1),
        "transfer 16 bars (edit, the shipped method)": lambda s: list(
            engine.transfer(s, sad, seed=1)
        ),
    }
    times: dict[str, dict[int, list[float]]] = {name: {1: [], 2: []} for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            for song in songs:
                for n in (1, 2):
                    engine.encode_threads = n
                    t0 = time.perf_counter()
                    call(song)
                    times[name][n].append(time.perf_counter() - t0)
    print(f"| call (median of {args.rounds * len(songs)}) | encoders on 1 thread | on 2 | ratio |")
    print("|---|---|---|---|")
    for name, by_threads in times.items():
        one, two = (statistics.median(by_threads[n]) for n in (1, 2))
        print(f"| {name} | {one * 1e3:.1f} ms | {two * 1e3:.1f} ms | {one / two:.2f}x |")


if __name__ == "__main__":
    main()
