"""Does continue move towards the emotion asked for? The new bars, judged (issue 13, Continue).

    PYTHONPATH=. .venv/bin/python benchmarks/continue_emotion.py --data ../shared/data \\
        --cache cache/corpus --judge docs/evaluation/judge.json [--split val] [--clips 10] \\
        [--bars 8] [--seed 2]

``--clips`` held-out EMOPIA clips per quadrant of ``--split``, each (cut to ``--context`` bars) is continued by ``--bars``
bars towards each of the four quadrants and without a target (keeping its own emotion); the judge
hears the new bars alone, all of them and their second half (continue's latents ramp from the
piece's to the target's, reaching it at the last new bar). Prints, per target, how often they are
judged in the target's quadrant, arousal and valence, beside how often the clips themselves are
(where the new bars start from); without a target, against the clip's own labels; and the
median percentile of the join's jumps (bar distance / pitch / polyphony, ``structure.bar_jumps``)
among the clips' own neighbouring bars' (50: a typical join). One markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism import QUADRANTS, piano_rolls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--judge", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--split", default="val")
    p.add_argument("--clips", type=int, default=10, help="per quadrant")
    p.add_argument("--context", type=int, default=8, help="bars of each clip continued")
    p.add_argument("--bars", type=int, default=8)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--rolls", type=Path, help="piano rolls of two clips and their continuations")
    args = p.parse_args()

    from emostudio.emotion import Emotion
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge, score
    from emostudio.evaluation.structure import bar_jumps, seam_percentiles
    from emostudio.generation import Engine

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    corpus = EvaluationCorpus(args.data, args.cache)
    pieces = corpus.pieces(args.split, labelled_only=True, sources=("emopia",))
    long_enough = [p for p in pieces if p.song.n_bars >= args.context]
    pieces = [  # the first --clips of each quadrant
        p for q in QUADRANTS for p in [x for x in long_enough if x.file.quadrant == q][: args.clips]
    ]
    clips = [p.song.slice_bars(0, args.context) for p in pieces]
    own = np.array([p.file.quadrant for p in pieces])
    engine = Engine.load(args.model, device="cpu")
    n = args.context

    def continued(target) -> list:
        out = []
        for i, clip in enumerate(clips):
            (song,) = engine.continue_piece(clip, args.bars, target, seed=args.seed + i)
            out.append(song)
        return out

    def judged(songs, first: int, count: int, quadrants: np.ndarray):
        verdicts, kept = judge.judge([s.slice_bars(first, count) for s in songs])
        scores = score(verdicts, quadrants[kept])
        return len(kept), (scores.quadrant, scores.arousal, scores.valence)

    # the join's jumps, as percentiles among the clips' own neighbouring bars' (50: a typical join)
    real_jumps = np.concatenate([j for j in map(bar_jumps, clips) if j is not None])

    def joins(songs) -> str:
        rows = [j[n - 1] for j in map(bar_jumps, songs) if j is not None and len(j) >= n]
        pct = np.median(seam_percentiles(np.asarray(rows), real_jumps), axis=0)
        return " / ".join(f"{x:.0f}" for x in pct)

    half = args.bars // 2
    t0 = time.perf_counter()
    rows = [("the clips themselves, their own labels", judged(clips, 0, n, own), None, "")]
    plain = continued(None)
    rows.append(("continued without a target, the clip's labels",
                 judged(plain, n, args.bars, own), judged(plain, n + half, args.bars - half, own),
                 joins(plain)))  # fmt: skip
    for q in QUADRANTS:
        target = np.full(len(clips), q)
        songs = continued(Emotion.from_quadrant(q))
        rows.append((f"towards Q{q} {Emotion.from_quadrant(q).name}; the clips themselves: "
                     f"{judged(clips, 0, n, target)[1][0]:.3f}",
                     judged(songs, n, args.bars, target),
                     judged(songs, n + half, args.bars - half, target), joins(songs)))  # fmt: skip
    seconds = time.perf_counter() - t0
    print(f"{len(clips)} {args.split} clips of {n} bars, {args.bars} new bars each, seed "
          f"{args.seed} ({seconds:.0f} s). Judged: quadrant / arousal / valence accuracy against "
          "the target (or the clip's labels)\n")  # fmt: skip
    if args.rolls is not None:  # the first happy and the first sad clip, each towards the other
        named = []
        for src, dst in ((1, 3), (3, 1)):
            i = int(np.flatnonzero(own == src)[0])
            target = Emotion.from_quadrant(dst)
            (song,) = engine.continue_piece(clips[i], args.bars, target, seed=args.seed + i)
            named += [(f"Q{src} clip", clips[i]), (f"+{args.bars} towards {target.name}", song)]
        piano_rolls(named, args.rolls, n + args.bars)
    print(f"| new bars | all {args.bars} new bars | the last {args.bars - half} | the join's "
          "jumps (percentiles) |\n|---|---|---|---|")  # fmt: skip
    for name, (_, a), b, join in rows:
        last = "" if b is None else " / ".join(f"{x:.3f}" for x in b[1])
        print(f"| {name} | {' / '.join(f'{x:.3f}' for x in a)} | {last} | {join} |")


if __name__ == "__main__":
    main()
