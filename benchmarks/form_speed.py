"""Speed of the form, continue, fill and variations calls on the shipped model (2 shared cores).

    .venv/bin/python benchmarks/form_speed.py [--model DIR] [--repeats 5] [--out FILE.json]

One run measures, with the same seeds: 16 bars through-composed and in the default form (AABA),
continue 8 bars of a 16-bar piece (one generated first), fill 4 bars in its middle, and 4
variations against one (generate 16 bars with form; continue 8 bars). The machine is shared, so
read the ratios (taken within one run) before the absolute times. Prints a markdown table.

One seed's variations ratio says more about that seed's four pieces than about the batch (a batch
runs as long as its longest row), so ``--seeds N`` also times both variations calls against one
piece for seeds 10 .. 10 + N - 1, alternating, and reports the ratio of the sums and the
tokens of the longest of the four rows against the one piece's, and continue with its first-bar
candidates (``CONTINUE_CANDIDATES``, the default) against one candidate, alternating per seed,
and the cost of the bass bias (``DecodingSettings.bass`` 1 against 0): seconds per
token of one 16-bar piece in the default form, alternating per seed (the pieces differ, so per
token).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from emostudio.decoding import DEFAULT_FORM
from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.generation.pieces import CONTINUE_CANDIDATES


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=0, help="variations over this many seeds too")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    engine = Engine.load(args.model, device="cpu")
    happy, sad = Emotion.from_quadrant(1), Emotion.from_quadrant(3)
    (piece,) = engine.generate_many([happy], bars=16, seed=0, form=DEFAULT_FORM)
    r = args.repeats
    rows = {
        "generate 16 bars, through-composed": median_seconds(
            lambda: engine.generate_many([happy], bars=16, seed=1), r
        ),
        f"generate 16 bars, form {DEFAULT_FORM}": median_seconds(
            lambda: engine.generate_many([happy], bars=16, seed=1, form=DEFAULT_FORM), r
        ),
        f"generate 16 bars, form {DEFAULT_FORM}, 4 variations": median_seconds(
            lambda: engine.generate_many([happy] * 4, bars=16, seed=1, form=DEFAULT_FORM), r
        ),
        "continue 8 bars (16-bar piece)": median_seconds(
            lambda: engine.continue_piece(piece, 8, seed=2), r
        ),
        "continue 8 bars towards sad": median_seconds(
            lambda: engine.continue_piece(piece, 8, sad, seed=2), r
        ),
        "continue 8 bars, 4 variations": median_seconds(
            lambda: engine.continue_piece(piece, 8, variations=4, seed=2), r
        ),
        "fill bars 7-10 (3 candidates)": median_seconds(
            lambda: engine.fill(piece, 6, 9, seed=3), r
        ),
        "fill bars 7-10, 4 variations (12 rows)": median_seconds(
            lambda: engine.fill(piece, 6, 9, variations=4, seed=3), r
        ),
    }
    print(f"| call (median of {r}, seconds) | s |\n|---|---|")
    for name, s in rows.items():
        print(f"| {name} | {s:.3f} |")
    gen1 = rows[f"generate 16 bars, form {DEFAULT_FORM}"]
    gen4 = rows[f"generate 16 bars, form {DEFAULT_FORM}, 4 variations"]
    con1 = rows["continue 8 bars (16-bar piece)"]
    con4 = rows["continue 8 bars, 4 variations"]
    ratios = {
        "form / through-composed": gen1 / rows["generate 16 bars, through-composed"],
        "generate: 4 variations / 1": gen4 / gen1,
        "continue: 4 variations / 1": con4 / con1,
    }
    seeds = range(10, 10 + args.seeds)
    calls = {  # name: (call, tokens not written by it)
        "generate": (
            lambda seed, k: engine.generate_many(
                [happy] * k, bars=16, seed=seed, form=DEFAULT_FORM
            ),
            0,
        ),
        "continue": (
            lambda seed, k: engine.continue_piece(piece, 8, variations=k, seed=seed),
            len(engine.tokenizer.encode(piece)),
        ),
    }
    for name, (call, given) in calls.items() if args.seeds else ():
        sums, tokens = [0.0, 0.0], [0, 0]
        for seed in seeds:
            for i, k in enumerate((1, 4)):
                t0 = time.perf_counter()
                songs = call(seed, k)
                sums[i] += time.perf_counter() - t0
                tokens[i] += max(len(engine.tokenizer.encode(song)) for song in songs) - given
        ratios[f"{name}: 4 variations / 1 over {args.seeds} seeds"] = sums[1] / sums[0]
        ratios[f"{name}: longest of 4 / 1 piece, tokens"] = tokens[1] / tokens[0]
    if args.seeds:  # continue's first-bar candidates (the default) against one, alternating
        sums = {1: [0.0, 0.0], CONTINUE_CANDIDATES: [0.0, 0.0]}
        for seed in seeds:
            for c, sum_k in sums.items():
                for i, k in enumerate((1, 4)):
                    t0 = time.perf_counter()
                    engine.continue_piece(piece, 8, variations=k, seed=seed, candidates=c)
                    sum_k[i] += time.perf_counter() - t0
        one, best = sums[1], sums[CONTINUE_CANDIDATES]
        ratios[f"continue, {CONTINUE_CANDIDATES} first-bar candidates / 1, one result"] = (
            best[0] / one[0]
        )
        ratios[f"continue, {CONTINUE_CANDIDATES} first-bar candidates / 1, 4 variations"] = (
            best[1] / one[1]
        )
        ratios["continue with 1 candidate: 4 variations / 1"] = one[1] / one[0]
        print(
            f"continue 8 bars over {args.seeds} seeds, mean seconds: 1 candidate {one[0] / len(seeds):.3f}"
            f" (4 variations {one[1] / len(seeds):.3f}), {CONTINUE_CANDIDATES} candidates"
            f" {best[0] / len(seeds):.3f} (4 variations {best[1] / len(seeds):.3f})"
        )
    if args.seeds:
        per_token = {}
        off, on = engine.settings.replace(bass=0.0), engine.settings.replace(bass=1.0)
        sums, tokens = [0.0, 0.0], [0, 0]
        for seed in seeds:
            for i, s in enumerate((off, on)):
                t0 = time.perf_counter()
                (song,) = engine.generate_many(
                    [happy], 16, seed=seed, settings=s, form=DEFAULT_FORM
                )
                sums[i] += time.perf_counter() - t0
                tokens[i] += len(engine.tokenizer.encode(song))
        for i, name in enumerate(("off", "bass 1")):
            per_token[name] = 1000 * sums[i] / tokens[i]
        print(
            f"generate 16 bars ({DEFAULT_FORM}), ms per token over {args.seeds} seeds: "
            + ", ".join(f"{k} {v:.3f}" for k, v in per_token.items())
        )
        ratios["bass 1 / off, per token"] = sums[1] / tokens[1] / (sums[0] / tokens[0])
    for name, x in ratios.items():
        print(f"{name}: {x:.2f}x")
    if args.out:
        args.out.write_text(json.dumps({"seconds": rows, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
