"""Judged emotion of generated music under several decoding settings, one model, one run.

    .venv/bin/python benchmarks/decode_settings.py --model models/default \\
        --judge docs/evaluation/judge.json --pieces 32 --settings 1.0,0.95,0,1 0.6,0.9,0,1 0.6,0.9,0,0.5

Each setting is ``temperature,top_p,continuity,latent_temperature``; ``--priors`` names the priors to
sample from (``learned``: the model's own mixture; ``fitted``: the folder's fitted prior), each
with every setting. For each, ``--pieces``
pieces per quadrant of ``--bars`` bars are generated (the same seeds for every setting) and judged by the reference judge
of ``emostudio evaluate``; pitch-class entropy (bits) tells how tonal they are (real music: ~2.7).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--judge", required=True)
    p.add_argument("--pieces", type=int, default=32, help="per quadrant")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--settings", nargs="+", required=True, metavar="T,TOP_P,CONTINUITY,TAU")
    p.add_argument("--priors", nargs="+", default=["auto"], choices=("auto", "fitted", "learned"))
    args = p.parse_args()

    import torch

    from emostudio.decoding import DecodingSettings
    from emostudio.emotion import Emotion
    from emostudio.evaluation.judge import EmotionJudge, score
    from emostudio.evaluation.realism import metrics_table
    from emostudio.generation import Engine

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    quadrants = np.repeat([1, 2, 3, 4], args.pieces)
    rows = []
    runs = [(prior, setting) for prior in args.priors for setting in args.settings]
    for prior, setting in runs:
        engine = Engine.load(args.model, device="cpu", prior=prior)
        temperature, top_p, continuity, tau = (float(x) for x in setting.split(","))
        decoding = DecodingSettings(temperature, top_p, continuity, tau)
        t0 = time.perf_counter()
        songs = engine.generate_many(
            [Emotion.from_quadrant(int(q)) for q in quadrants],
            bars=args.bars,
            seed=args.seed,
            settings=decoding,
            batch_size=64,
        )
        seconds = time.perf_counter() - t0
        verdicts, kept = judge.judge(songs)
        s = score(verdicts, quadrants[kept])
        entropy = float(metrics_table(songs)["pitch_class_entropy"].mean())
        target = quadrants[kept]
        per_quadrant = {
            int(q): float(np.mean(verdicts.quadrant[target == q] == q)) for q in (1, 2, 3, 4)
        }
        rows.append(
            {
                "prior": engine.prior_kind,
                "temperature": temperature,
                "top_p": top_p,
                "continuity": continuity,
                "latent_temperature": tau,
                "n": len(kept),
                "quadrant": s.quadrant,
                "arousal": s.arousal,
                "valence": s.valence,
                "per_quadrant": per_quadrant,
                "pc_entropy": entropy,
                "seconds": round(seconds, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(
        "\n| prior | temperature | top-p | continuity | latent temperature | quadrant | arousal | valence "
        "| pitch-class entropy |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['prior']} | {r['temperature']} | {r['top_p']} | {r['continuity']} | {r['latent_temperature']} | "
            f"{r['quadrant']:.3f} | {r['arousal']:.3f} | {r['valence']:.3f} | {r['pc_entropy']:.2f} |"
        )


if __name__ == "__main__":
    main()
