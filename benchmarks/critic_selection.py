"""Keep the most real-sounding of K decoded pieces by a realism critic: does it transfer to the
realism measure, and what does it cost in emotion? (benchmarks/results/realism.md, "A realism
critic choosing among decoded pieces").

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/critic_selection.py \\
        --data ../shared/data --cache cache/corpus --judge docs/evaluation/judge.json \\
        --form none --k 4 --pieces 100 --seed 3 [--critic-seed 11] [--json F]

The critic is a logistic regression telling EMOPIA's *training* clips (cut to 16 bars) from
``--critic-pieces`` pieces per quadrant the engine generated with ``--critic-seed``. Its
features are histograms of the notes on the grid (register, position in the bar, duration,
velocity, notes per onset, the bass's motion, the sorted pitch-class profile), none of which is
one of the realism measure's 30 descriptors: what it buys on those is transfer, not fitting.

For each target quadrant, ``--pieces`` groups of K pieces are generated in one batch
(``Engine.generate_many``, seed ``--seed``); of each group one piece is kept by: the first (no
choice), the critic, the model's own recognition of the target (``best_of_decoded.py``), and the
critic's log-probability plus the recognition's. Each kept set is summarised as ``realism.py``
does against EMOPIA's validation clips (mean overlap, two-sample AUC, judged emotion).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from best_of_decoded import target_agreement
from realism import QUADRANTS, _print, summarise


def _histogram(x: np.ndarray, bins) -> np.ndarray:
    counts, _ = np.histogram(x, bins=bins)
    return counts / max(1, counts.sum())


def note_histograms(song) -> np.ndarray | None:
    """float[70]: the critic's features of one piece (``None``: no pitched notes)."""
    from emostudio.evaluation.descriptors import pitched_notes

    q = pitched_notes(song)
    if len(q) == 0:
        return None
    return histograms_of(q.pitch, q.onset, q.duration, q.velocity)


def histograms_of(pitch, onset, duration, velocity) -> np.ndarray:
    """float[70]: the histograms of some notes on the grid (at least one)."""
    pitch, onset = pitch.astype(float), onset.astype(int)
    onsets, per_onset = np.unique(onset, return_counts=True)
    lowest = np.array([pitch[onset == t].min() for t in onsets])
    moves = np.diff(lowest) if len(lowest) > 1 else np.zeros(0)
    profile = np.sort(np.bincount(pitch.astype(int) % 12, minlength=12))[::-1]
    return np.concatenate(
        [
            _histogram(pitch, np.arange(20, 113, 8)),
            _histogram(onset % 16, np.arange(17)),
            _histogram(np.log2(np.maximum(duration.astype(float), 1)), [0, 1, 2, 3, 4, 5, 99]),
            _histogram(velocity.astype(float), np.linspace(0, 128, 9)),
            _histogram(per_onset, [1, 2, 3, 4, 5, 6, 99]),
            _histogram(moves, [-99, -12, -7, -4, -2, -0.5, 0.5, 2, 4, 7, 12, 99]),
            profile / profile.sum(),
        ]
    )


def features(songs) -> np.ndarray:
    rows = [note_histograms(s) for s in songs]
    if any(r is None for r in rows):
        raise SystemExit("a piece without pitched notes: the critic cannot score it")
    return np.asarray(rows)


def critic_arguments(description: str, pieces_help: str) -> argparse.ArgumentParser:
    """The options a critic experiment shares (this script's and ``bar_critic.py``'s)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--judge", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--form", default="none")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--pieces", type=int, default=100, help=pieces_help)
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--critic-seed", type=int, default=11)
    p.add_argument("--critic-pieces", type=int, default=100, help="per quadrant")
    p.add_argument("--json", type=Path)
    return p


def critic_setup(args):
    """(the judge, EMOPIA's clips of a split cut to ``--bars``, the validation clips' realism
    table, the engine on one CPU thread) for a critic experiment."""
    import torch

    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge
    from emostudio.evaluation.structure import realism_table
    from emostudio.generation import Engine

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    corpus = EvaluationCorpus(args.data, args.cache)

    def clips(split: str) -> list:
        found = corpus.pieces(split, labelled_only=True, sources=("emopia",))
        return [c.song.slice_bars(0, args.bars) for c in found]

    return judge, clips, realism_table(clips("val")), Engine.load(args.model, device="cpu")


def write_sets(args, rows: list[dict]) -> None:
    """The options and the summarised sets as ``--json`` (when given)."""
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "sets": rows}, indent=1)
        )


def main() -> None:
    args = critic_arguments(__doc__.splitlines()[0], "groups per quadrant").parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from emostudio.emotion import Emotion

    judge, clips, real_table, engine = critic_setup(args)

    def pieces(per_quadrant: int, repeat: int, seed: int) -> tuple[list, np.ndarray]:
        quadrants = np.repeat(QUADRANTS, per_quadrant)
        targets = [Emotion.from_quadrant(int(q)) for q in quadrants for _ in range(repeat)]
        songs = engine.generate_many(
            targets, bars=args.bars, seed=seed, batch_size=64, form=args.form
        )
        return songs, quadrants

    t0 = time.perf_counter()
    fakes, _ = pieces(args.critic_pieces, 1, args.critic_seed)
    real_train = features(clips("train"))
    x = np.concatenate([real_train, features(fakes)])
    y = np.r_[np.ones(len(real_train)), np.zeros(len(fakes))]
    critic = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.3, max_iter=3000, class_weight="balanced")
    ).fit(x, y)
    print(f"critic: {len(real_train)} training clips, {len(fakes)} generated pieces", flush=True)

    songs, quadrants = pieces(args.pieces, args.k, args.seed)
    seconds = time.perf_counter() - t0
    realness = critic.predict_log_proba(features(songs))[:, 1]
    targets = [Emotion.from_quadrant(int(q)) for q in np.repeat(quadrants, args.k)]
    agreement = np.log(np.maximum(target_agreement(engine.recognise_many(songs), targets), 1e-9))
    scores = {
        "first": np.zeros(len(songs)),
        "critic": realness,
        "recognition": agreement,
        "critic + recognition": realness + agreement,
    }
    groups = len(quadrants)
    rows = []
    for name, score in scores.items():
        kept = score.reshape(groups, args.k).argmax(axis=1) + np.arange(groups) * args.k
        row = summarise(
            f"{args.form}, {name} of {args.k}",
            [songs[i] for i in kept],
            quadrants,
            real_table,
            judge,
            args.bars,
            seconds,
        )
        _print(row)
        rows.append(row)
    write_sets(args, rows)


if __name__ == "__main__":
    main()
