"""A realism critic choosing each bar among K decoded candidates: does a bar-level choice move the
realism measure where the piece-level one (``critic_selection.py``) barely did?
(benchmarks/results/realism.md, "A realism critic choosing each bar").

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/bar_critic.py \\
        --data ../shared/data --cache cache/corpus --judge docs/evaluation/judge.json \\
        --form none --k 4 --pieces 100 --seed 3 --choice resample [--json F]

The critic is a logistic regression telling the bars of EMOPIA's *training* clips (first 16
bars) from the bars of ``--critic-pieces`` pieces per quadrant the engine generated with
``--critic-seed``. A bar's features: the note histograms of ``critic_selection.py`` (none of them
one of the realism measure's descriptors) of its notes, its notes and onsets, its lowest and
highest pitch, and the move of its mean pitch and onset count from the bar before.

Generation decodes the engine's own batches (``generation.batches.generate_batches``: the same
latents, form and exact returns as ``Engine.generate_many``; no cadences, which need all the bars
so far) one bar at a time: every piece's bar t is decoded K times (K rows with the piece's
latents, its chosen bar t-1 teacher-forced: the decoder's memory), and one candidate is kept by
``--choice``: ``first`` (no choice: the engine's
pieces, decoded this way), ``best`` (the critic's highest log-odds of real) or ``resample``
(sampling-importance resampling: a candidate drawn with probability proportional to the
critic's odds of real, its estimate of p_real / p_generated, so the kept bars' distribution
moves towards real music's without collapsing to one kind of bar). The kept pieces are summarised
as ``realism.py`` does against EMOPIA's validation clips (mean overlap, AUC, judged emotion).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from critic_selection import critic_arguments, critic_setup, histograms_of, write_sets
from realism import QUADRANTS, _print, summarise

SUBBEATS = 16
N_HIST = 70  # critic_selection.histograms_of
N_FEATURES = N_HIST + 7


def bar_features(q, bar: int) -> np.ndarray:
    """float[N_FEATURES]: the features of bar ``bar`` of quantised notes ``q`` (its pitched
    notes, ``evaluation.descriptors.pitched_notes``), with the bar before it as context."""
    out = np.zeros(N_FEATURES)
    here = q.onset // SUBBEATS == bar
    if not here.any():
        out[-1] = 1.0  # an empty bar
        return out
    pitch, onset = q.pitch[here].astype(float), q.onset[here]
    out[:N_HIST] = histograms_of(pitch, onset, q.duration[here], q.velocity[here])
    before = q.onset // SUBBEATS == bar - 1
    n_onsets = len(np.unique(onset))
    prev_mean = q.pitch[before].mean() if before.any() else pitch.mean()
    prev_onsets = len(np.unique(q.onset[before])) if before.any() else n_onsets
    out[N_HIST : N_HIST + 6] = [
        len(pitch) / 20.0,
        n_onsets / 16.0,
        pitch.min() / 127.0,
        pitch.max() / 127.0,
        (pitch.mean() - prev_mean) / 12.0,
        (n_onsets - prev_onsets) / 16.0,
    ]
    return out


def piece_bars(song, bars: int) -> np.ndarray:
    from emostudio.evaluation.descriptors import pitched_notes

    q = pitched_notes(song)
    return np.asarray([bar_features(q, b) for b in range(bars)])


def candidate_features(tokenizer, previous, candidates) -> np.ndarray:
    """Each candidate bar's features, the chosen bar before it as context (tokens -> notes)."""
    from emostudio.evaluation.descriptors import pitched_notes
    from emostudio.tokens.window import song_from_bars

    rows = []
    for tokens in candidates:
        bars = [tokens] if previous is None else [previous, tokens]
        q = pitched_notes(song_from_bars(tokenizer, bars))
        rows.append(bar_features(q, len(bars) - 1))
    return np.asarray(rows)


def bar_chosen_pieces(engine, targets, bars, form, k, seed, critic, choice, rng):
    """The engine's pieces for ``targets``, each bar kept among ``k`` candidates by ``choice``."""
    from emostudio.generation import batches
    from emostudio.generation.decode import decode_bars
    from emostudio.tokens.signatures import stated_keys
    from emostudio.tokens.window import song_from_bars

    s = dataclasses.replace(engine.settings, cadence=0.0)  # a cadence needs the bars so far
    assert engine.model.config.decoder_memory_bars == 1
    songs = []
    for _, generator, batch in batches.generate_batches(engine, targets, bars, seed, s, 16, form):
        n = batch.z.shape[0]
        rows = n * k
        z = batch.z.repeat_interleave(k, 0)

        def rep(x):
            return None if x is None else x.repeat_interleave(k, 0)

        plan = dataclasses.replace(
            batch.plan,
            tempo=rep(batch.plan.tempo),
            families=rep(batch.plan.families),
            need_note=rep(batch.plan.need_note),
            repeats={},
        )
        chosen: list[list[np.ndarray]] = [[] for _ in range(n)]
        for t in range(bars):
            if t in batch.plan.repeats:  # an exact return: the piece's own earlier bar
                for bars_so_far in chosen:
                    bars_so_far.append(bars_so_far[batch.plan.repeats[t]].copy())
                continue
            # the decoder's memory is the bar before (ModelConfig.decoder_memory_bars 1): that
            # bar teacher-forced, then bar t sampled in each of the k rows of a piece
            first = max(0, t - 1)
            given = [{0: chosen[i // k][t - 1]} if t else {} for i in range(rows)]
            step_plan = dataclasses.replace(
                plan,
                given=given,
                tempo=None if plan.tempo is None else plan.tempo[:, first : t + 1],
                need_note=None if plan.need_note is None else plan.need_note[:, first : t + 1],
            )
            candidates = None
            for tt, decoded in decode_bars(
                engine.steps,
                engine.grammar,
                z[:, first : t + 1],
                step_plan,
                s.temperature,
                s.top_p,
                generator,
                engine._decoding,
                None,
                [t + 1 - first] * rows,
                bass=s.bass,
            ):
                if tt == t - first:
                    candidates = decoded
            assert candidates is not None
            for i in range(n):
                mine = candidates[i * k : (i + 1) * k]
                if choice == "first":
                    pick = 0
                else:
                    previous = chosen[i][t - 1] if t else None
                    logits = critic.decision_function(
                        candidate_features(engine.tokenizer, previous, mine)
                    )
                    if choice == "best":
                        pick = int(np.argmax(logits))
                    else:
                        w = np.exp(logits - logits.max())
                        pick = int(rng.choice(k, p=w / w.sum()))
                chosen[i].append(np.asarray(mine[pick], dtype=np.int32))
        songs += [
            stated_keys(song_from_bars(engine.tokenizer, piece, None, s.pedal)) for piece in chosen
        ]
    return songs


def main() -> None:
    p = critic_arguments(__doc__.splitlines()[0], "per quadrant")
    p.add_argument("--choice", choices=("first", "best", "resample"), default="resample")
    args = p.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from emostudio.emotion import Emotion

    judge, clips, real_table, engine = critic_setup(args)
    t0 = time.perf_counter()
    critic = None
    if args.choice != "first":
        quadrants = np.repeat(QUADRANTS, args.critic_pieces)
        fakes = engine.generate_many(
            [Emotion.from_quadrant(int(q)) for q in quadrants],
            bars=args.bars,
            seed=args.critic_seed,
            batch_size=64,
            form=args.form,
        )
        real = np.concatenate([piece_bars(c, c.n_bars) for c in clips("train")])
        fake = np.concatenate([piece_bars(f, args.bars) for f in fakes])
        x = np.concatenate([real, fake])
        y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
        critic = make_pipeline(
            StandardScaler(), LogisticRegression(C=0.3, max_iter=3000, class_weight="balanced")
        ).fit(x, y)
        print(
            f"critic: {len(real)} real bars, {len(fake)} generated bars, "
            f"training accuracy {critic.score(x, y):.3f} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )

    quadrants = np.repeat(QUADRANTS, args.pieces)
    targets = [Emotion.from_quadrant(int(q)) for q in quadrants]
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    songs = bar_chosen_pieces(
        engine, targets, args.bars, args.form, args.k, args.seed, critic, args.choice, rng
    )
    seconds = time.perf_counter() - started
    row = summarise(
        f"{args.form}, bar {args.choice} of {args.k}",
        songs,
        quadrants,
        real_table,
        judge,
        args.bars,
        seconds,
    )
    _print(row)
    write_sets(args, [row])


if __name__ == "__main__":
    main()
