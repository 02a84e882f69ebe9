"""Judged emotion of a training run's checkpoints: quality against training time.

    .venv/bin/python benchmarks/checkpoint_quality.py runs/scratch/last runs/scratch/best --cache cache/corpus \\
        --judge docs/evaluation/judge.json --pieces 32 --seed 1

Each checkpoint folder is copied to a scratch folder (the run is never written to), its generation
prior is fitted there on the cache (in the ``--shifts`` transpositions; the shipped fit uses all
12), and ``--pieces`` pieces per quadrant of ``--bars`` bars are generated with the default
decoding and judged by the reference judge of ``emostudio evaluate``. One JSON row per checkpoint
(its step, its validation metrics, the judged accuracies and how long fitting and generating took),
then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL_FILES = ("model.safetensors", "config.json", "tokenizer.json", "metrics.json")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "checkpoints", nargs="+", type=Path, help="checkpoint folders (a run's best/ or last/)"
    )
    p.add_argument("--cache", required=True, type=Path)
    p.add_argument("--judge", required=True)
    p.add_argument("--pieces", type=int, default=32, help="per quadrant")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--shifts",
        type=int,
        nargs="+",
        default=list(range(-5, 7)),
        help="pitch shifts of the prior's fit (default: all 12, as the shipped fit)",
    )
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    import torch

    from emostudio.corpus import load_cache
    from emostudio.emotion import Emotion
    from emostudio.evaluation.judge import EmotionJudge, score
    from emostudio.generation import Engine
    from emostudio.model.store import load_model, prior_fingerprint, save_fitted_prior
    from emostudio.training.fit_prior import FitSettings, fit_prior

    torch.set_num_threads(args.threads)
    judge = EmotionJudge.load(args.judge)
    cache = load_cache(args.cache)
    settings = FitSettings(transpositions=tuple(args.shifts))
    quadrants = np.repeat([1, 2, 3, 4], args.pieces)
    rows = []
    for checkpoint in args.checkpoints:
        with tempfile.TemporaryDirectory(prefix="emostudio-ckpt-") as tmp:
            folder = Path(tmp) / checkpoint.name
            folder.mkdir()
            for name in MODEL_FILES:
                if (checkpoint / name).exists():
                    shutil.copy2(checkpoint / name, folder / name)
            metrics = (
                json.loads((folder / "metrics.json").read_text())
                if (folder / "metrics.json").exists()
                else {}
            )
            # best/ holds its own validation metrics; last/ only its step (and the best's so far)
            val = metrics if "token_loss" in metrics else {}
            t0 = time.perf_counter()
            model, _ = load_model(folder, "cpu")
            save_fitted_prior(folder, fit_prior(model, cache, prior_fingerprint(folder), settings))
            fit_s = time.perf_counter() - t0
            engine = Engine.load(folder, device="cpu", prior="fitted")
            t0 = time.perf_counter()
            songs = engine.generate_many(
                [Emotion.from_quadrant(int(q)) for q in quadrants],
                bars=args.bars,
                seed=args.seed,
                batch_size=64,
            )
            gen_s = time.perf_counter() - t0
        verdicts, kept = judge.judge(songs)
        s = score(verdicts, quadrants[kept])
        target = quadrants[kept]
        rows.append(
            {
                "checkpoint": str(checkpoint),
                "step": metrics.get("step"),
                "val_token_loss": val.get("token_loss"),
                "val_quadrant": val.get("quadrant_accuracy"),
                "n": len(kept),
                "quadrant": s.quadrant,
                "arousal": s.arousal,
                "valence": s.valence,
                "per_quadrant": {
                    int(q): float(np.mean(verdicts.quadrant[target == q] == q))
                    for q in (1, 2, 3, 4)
                },
                "fit_s": round(fit_s, 1),
                "generate_s": round(gen_s, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print("\n| checkpoint | step | validation token loss | judged quadrant | arousal | valence |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        loss = f"{r['val_token_loss']:.3f}" if r["val_token_loss"] is not None else "–"
        print(
            f"| {r['checkpoint']} | {r['step']} | {loss} | {r['quadrant']:.3f} | {r['arousal']:.3f} | "
            f"{r['valence']:.3f} |"
        )


if __name__ == "__main__":
    main()
