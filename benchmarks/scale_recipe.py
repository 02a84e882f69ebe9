"""Scale a training recipe's step counts so that it trains in a time budget on this machine.

    python benchmarks/scale_recipe.py RECIPE.json --throughput T.jsonl --seconds 360 --out R.json

``T.jsonl`` holds benchmarks/train_throughput.py's JSON lines (one per batch size); the line of
the recipe's batch size gives the seconds a step takes (the step plus the batch's sampling). Every
stage keeps its share of the recipe's steps, and each step count of a stage (``max_steps``,
``warmup_steps``, ``beta_anneal_steps``, ``epoch_steps``) is scaled by the same factor, so the
schedules keep their shapes. ``--overhead`` is the share of the budget left for validation,
checkpoints and each stage's start.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emostudio.training.config import TrainConfig
from emostudio.training.recipe import Recipe

STEP_FIELDS = ("max_steps", "warmup_steps", "beta_anneal_steps", "epoch_steps")


def step_seconds(throughput: Path, batch_size: int) -> float:
    for line in throughput.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("batch_size") == batch_size:
            return float(row["median_step_s"]) + float(row.get("median_sampling_s", 0.0))
    raise SystemExit(f"{throughput}: no throughput measured at batch {batch_size}")


def scaled(recipe: dict, factor: float) -> dict:
    out = json.loads(json.dumps(recipe))
    for stage in out["stages"]:
        train = stage["train"]
        for name in STEP_FIELDS:
            if train.get(name):
                train[name] = max(1, round(train[name] * factor))
    Recipe.from_dict(out)  # still a valid recipe
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe", type=Path)
    p.add_argument("--throughput", type=Path, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--overhead", type=float, default=0.15)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    recipe = json.loads(args.recipe.read_text())
    batches = {TrainConfig(**s["train"]).batch_size for s in recipe["stages"]}
    if len(batches) != 1:
        raise SystemExit("the recipe's stages must share one batch size")
    seconds = step_seconds(args.throughput, batches.pop())
    nominal = sum(TrainConfig(**s["train"]).max_steps for s in recipe["stages"])
    factor = args.seconds * (1 - args.overhead) / seconds / nominal
    out = scaled(recipe, factor)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    steps = [s["train"]["max_steps"] for s in out["stages"]]
    print(f"{seconds * 1000:.1f} ms a step: steps {steps} (x{factor:.3f} the nominal {nominal})")


if __name__ == "__main__":
    main()
