"""Does the decoder write as sparsely as the music it encodes? Low-arousal clips, real vs reconstructed.

    .venv/bin/python benchmarks/reconstruction_density.py --judge docs/evaluation/judge.json \\
        --data ../shared/data --cache cache/corpus --models models/default runs/v6/best

The held-out EMOPIA test clips of Q3 (sad) and Q4 (calm), first 16 bars, are encoded by each model
and decoded from their own posterior means (default decoding settings, seed 1). The table gives
the mean descriptors the reference judge reads (notes and onsets per bar, velocity, polyphony,
duration and inter-onset interval in sub-beats) and the judge's mean P(high arousal), for the real
clips and each model's reconstructions.
"""

from __future__ import annotations

import argparse

import numpy as np

COLUMNS = (
    "notes_per_bar",
    "onsets_per_bar",
    "velocity_mean",
    "polyphony_mean",
    "duration_mean",
    "ioi_mean",
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--judge", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    import torch

    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.descriptors import DESCRIPTOR_NAMES, describe
    from emostudio.evaluation.judge import EmotionJudge
    from emostudio.generation import Engine
    from emostudio.tokens.window import clip_to_bars

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    cols = [DESCRIPTOR_NAMES.index(n) for n in COLUMNS]
    pieces = EvaluationCorpus(args.data, args.cache).pieces("test", labelled_only=True)
    real = [clip_to_bars(p.song, 16) for p in pieces if p.file.quadrant in (3, 4)]

    print(f"| music ({len(real)} clips) | " + " | ".join(COLUMNS) + " | judged P(high arousal) |")
    print("|---" * (len(COLUMNS) + 2) + "|")

    def row(name: str, songs) -> None:
        d = np.array([describe(s) for s in songs if s.note_count])[:, cols].mean(axis=0)
        verdicts, _ = judge.judge(songs)
        print(
            f"| {name} | "
            + " | ".join(f"{x:.2f}" for x in d)
            + f" | {verdicts.p_arousal_high.mean():.2f} |",
            flush=True,
        )

    row("real", real)
    for model in args.models:
        engine = Engine.load(model, device="cpu", prior="learned")
        codes = [engine.encode(s) for s in real]
        row(
            f"reconstructed by `{model}`",
            engine.decode_many([(c.z_r, c.z_k) for c in codes], seed=args.seed),
        )


if __name__ == "__main__":
    main()
