"""Training batches drawn on the CPU: milliseconds per batch, and a digest of the batches.

    PYTHONPATH=. .venv/bin/python benchmarks/sampler_speed.py --cache cache/corpus [--steps 60]

Draws the batches of steps 0 .. steps - 1 of `emostudio train`'s sampler (pitch shift on) at
batch 64 (80 % labelled windows, the GPU recipe's) and batch 16 (50 %), and the validation
windows. On a GPU the loop draws each batch between optimizer steps, so this is time the GPU
waits. The digests let two versions of the code be checked for drawing the same batches: run the
script in both trees and compare.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

from emostudio.corpus import load_cache
from emostudio.model import ModelConfig
from emostudio.training import TrainConfig
from emostudio.training.data import TrainSampler, WindowData, validation_set


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True)
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args()
    cache = load_cache(args.cache)
    model_config = ModelConfig.for_tokenizer(cache.tokenizer_config)
    out: dict[str, object] = {}
    for batch_size, labelled in ((64, 0.8), (16, 0.5)):
        config = TrainConfig(batch_size=batch_size, labelled_fraction=labelled)
        data = WindowData(cache, model_config, config)
        sampler = TrainSampler(cache, data, config)
        digest = hashlib.sha256()
        t0 = time.perf_counter()
        for step in range(args.steps):
            b = sampler.batch(step)
            for x in (b.tokens, b.targets, b.polyphony, b.key, b.arousal, b.valence):
                digest.update(x.numpy().tobytes())
        ms = 1000 * (time.perf_counter() - t0) / args.steps
        out[f"batch {batch_size}"] = {
            "ms_per_batch": round(ms, 2),
            "bars_cut": f"{data.bars_truncated} of {data.bars_seen}",
            "digest": digest.hexdigest()[:16],
        }
    val = validation_set(cache, TrainConfig(val_max_windows=256))
    b = data.batch(val.windows, val.labels)
    digest = hashlib.sha256()
    for x in (b.tokens, b.targets, b.polyphony, b.key):
        digest.update(x.numpy().tobytes())
    out["validation"] = {"windows": len(val.windows), "digest": digest.hexdigest()[:16]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
