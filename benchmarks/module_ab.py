"""In-process A/B of one engine part against another checkout's: the grammar or the decoder step.

    git worktree add /tmp/base HEAD    # the tree to compare against
    PYTHONPATH=. .venv/bin/python benchmarks/module_ab.py --base /tmp/base --swap grammar [--rounds 2]

Both versions of the part live in one process on one engine (the other checkout's module is
loaded from its file), and each call alternates between them seed by seed, so the machine's drift
falls on both alike: on these shared machines separate processes differ by 10-30 % from one
minute to the next. Times one piece, four quadrants in one batch, one piece in the default form
and four variations of it (seeds 10-15), and prints each call's total under both and the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import torch

from emostudio.decoding import DEFAULT_FORM
from emostudio.emotion import Emotion
from emostudio.generation import Engine

PARTS = {  # --swap: (the engine's attribute, the module's file, how to build the base's)
    "grammar": (
        "grammar",
        "emostudio/generation/grammar.py",
        lambda module, engine: module.BarGrammar(
            engine.grammar.vocab, engine.grammar.bar_len, engine.grammar.device
        ),
    ),
    "steps": (
        "steps",
        "emostudio/model/fast_decode.py",
        lambda module, engine: module.FastDecoder(engine.model),
    ),
}


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--swap", choices=PARTS, required=True)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    engine = Engine.load(args.model, device="cpu")
    attribute, file, build = PARTS[args.swap]
    base = build(load_module(args.base / file, f"base_{args.swap}"), engine)
    versions = {"this tree": getattr(engine, attribute), "base": base}
    q = [Emotion.from_quadrant(k) for k in (1, 2, 3, 4)]
    calls = {
        "1 piece": lambda s: engine.generate_many(q[:1], bars=16, seed=s),
        "4 quadrants in one batch": lambda s: engine.generate_many(q, bars=16, seed=s),
        f"1 piece, {DEFAULT_FORM}": lambda s: engine.generate_many(
            q[:1], bars=16, seed=s, form=DEFAULT_FORM
        ),
        f"4 variations, {DEFAULT_FORM}": lambda s: engine.generate_many(
            q[:1] * 4, bars=16, seed=s, form=DEFAULT_FORM
        ),
    }
    total = {(v, c): 0.0 for v in versions for c in calls}
    for r in range(args.rounds):
        for seed in range(10, 16):
            for call, fn in calls.items():
                order = list(versions) if (seed + r) % 2 else list(reversed(versions))
                for v in order:
                    setattr(engine, attribute, versions[v])
                    t0 = time.perf_counter()
                    fn(seed)
                    total[v, call] += time.perf_counter() - t0
    print(f"{args.swap}: this tree against {args.base} ({args.rounds} rounds x 6 seeds)\n")
    print("| call | base, s | this tree, s | this tree / base |\n|---|---|---|---|")
    for call in calls:
        old, new = total["base", call], total["this tree", call]
        print(f"| {call} | {old:.3f} | {new:.3f} | {new / old:.3f} |")
    names = list(calls)
    for v in versions:
        print(
            f"\n{v}: 4 quadrants / 1 piece {total[v, names[1]] / total[v, names[0]]:.3f}x, "
            f"4 variations / 1 piece ({DEFAULT_FORM}) {total[v, names[3]] / total[v, names[2]]:.3f}x"
        )


if __name__ == "__main__":
    main()
