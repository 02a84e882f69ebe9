"""What a batch-4 step of the decode loop costs against a batch-1 step, and where the difference
goes (issue 14: 4 pieces in one batch <= 1.5x one piece).

    PYTHONPATH=. .venv/bin/python benchmarks/batch_step.py [--model DIR] [--rounds 3]

Four identical rows (one happy piece's latents, 16 bars) at a near-zero temperature decode the
same tokens as the row alone, so the batch's rows stay the same length and only the step's cost
differs: batch 1 takes the lock-step path, batch 4 the ragged one, as the engine does. Each round
decodes batch 1 then batch 4 and times, per step: the decoder step, the grammar's allowed columns
and state, sampling, the rows' bar ends, and the rest of the loop. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.generation import decode as decode_module
from emostudio.generation.batches import draw

PARTS = {  # part: (object name, method names)
    "decoder step": ("steps", ("step", "step_ragged")),
    "bar ends": ("steps", ("next_bar", "next_bar_row")),
    "grammar's allowed columns": ("grammar", ("choices",)),
    "grammar state": ("grammar", ("advance",)),
    "sampling": ("decode", ("sample_next",)),
}


def timed_parts(engine: Engine) -> dict[str, float]:
    """Wrap the parts' methods so that each adds its seconds to the returned dict."""
    spent: dict[str, float] = {}
    owners = {"steps": engine.steps, "grammar": engine.grammar, "decode": decode_module}
    for part, (owner, names) in PARTS.items():
        for name in names:
            obj = owners[owner]
            fn = getattr(obj, name)

            def wrapped(*args, _fn=fn, _part=part, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _fn(*args, **kwargs)
                finally:
                    spent[_part] = spent.get(_part, 0.0) + time.perf_counter() - t0

            setattr(obj, name, wrapped)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    engine = Engine.load(args.model, device="cpu")
    with engine._decoding():
        z = draw(
            engine,
            [[Emotion.from_quadrant(1)] * 16],
            torch.Generator().manual_seed(1),
            engine.settings,
        )
    spent = timed_parts(engine)

    def run(batch: int) -> tuple[float, int]:
        rows = z.expand(batch, -1, -1).contiguous()
        plan = decode_module.DecodePlan.free([16] * batch)
        generator = torch.Generator().manual_seed(0)
        steps, t0 = 0, time.perf_counter()
        for _, bars in decode_module.decode_bars(
            engine.steps, engine.grammar, rows, plan, 1e-4, 0.95, generator, engine._decoding
        ):
            assert all(len(bar) == len(bars[0]) for bar in bars)  # the rows stay alike
            steps += len(bars[0])
        return time.perf_counter() - t0, steps

    for batch in (1, 4):  # warm-up
        run(batch)
    per_step: dict[int, list[dict[str, float]]] = {1: [], 4: []}
    for _ in range(args.rounds):
        for batch in (1, 4):
            spent.clear()
            total, steps = run(batch)
            parts = {k: v / steps * 1e6 for k, v in spent.items()}
            parts["rest of the loop"] = (total - sum(spent.values())) / steps * 1e6
            parts["whole step"] = total / steps * 1e6
            per_step[batch].append(parts)
    names = [*PARTS, "rest of the loop", "whole step"]
    print(f"per step, µs (median of {args.rounds} rounds; {steps} steps a piece)\n")
    print("| part | batch 1 | batch 4 | difference |\n|---|---|---|---|")
    for name in names:
        one = statistics.median(p.get(name, 0.0) for p in per_step[1])
        four = statistics.median(p.get(name, 0.0) for p in per_step[4])
        print(f"| {name} | {one:.0f} | {four:.0f} | {four - one:+.0f} |")
    ratios = [b["whole step"] / a["whole step"] for a, b in zip(per_step[1], per_step[4])]
    print(f"\nbatch-4 step / batch-1 step, per round: {', '.join(f'{r:.2f}x' for r in ratios)}")


if __name__ == "__main__":
    main()
