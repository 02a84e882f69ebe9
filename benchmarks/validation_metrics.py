"""Validation metrics of several model folders on the same windows (models from different runs
validate on different window counts, so their own metrics.json do not compare).

    .venv/bin/python benchmarks/validation_metrics.py models/default runs/gpu/s2best \\
        --cache cache/corpus --max-windows 256

The windows are those `emostudio train` validates on (every window of each labelled validation
clip and the first windows of the unlabelled pieces, at most ``--max-windows`` of those), encoded
to their posterior means; the metrics are training's own (emostudio.training.validation).
"""

from __future__ import annotations

import argparse
import json

import torch

from emostudio.corpus import load_cache
from emostudio.model.store import load_model
from emostudio.training import TrainConfig
from emostudio.training.data import WindowData, validation_set
from emostudio.training.validation import evaluate

SHOWN = ("token_loss", "token_accuracy", "key_accuracy", "arousal_accuracy", "valence_accuracy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--cache", required=True)
    p.add_argument("--max-windows", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cache = load_cache(args.cache)
    config = TrainConfig(val_max_windows=args.max_windows)
    val = validation_set(cache, config)
    rows = []
    for folder in args.models:
        model, _ = load_model(folder, device="cpu")
        metrics = evaluate(model, WindowData(cache, model.config, config), val, 16, "cpu")
        rows.append((folder, metrics))
        print(json.dumps({"model": folder, **metrics}), flush=True)
    print(f"\n{len(val.windows)} windows ({len(val.clip_labels)} labelled clips)\n")
    print("| model | " + " | ".join(SHOWN) + " |")
    print("|---|" + "---|" * len(SHOWN))
    for folder, m in rows:
        print(f"| {folder} | " + " | ".join(f"{m[k]:.3f}" for k in SHOWN) + " |")


if __name__ == "__main__":
    main()
