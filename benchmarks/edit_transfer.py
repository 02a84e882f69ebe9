"""The shipped edit transfer (rules steered by the model) against the plain rules: judged emotion vs fidelity.

    PYTHONPATH=. .venv/bin/python benchmarks/edit_transfer.py --judge docs/evaluation/judge.json \\
        --data ../shared/data --tune --limit 40

Pieces and targets as benchmarks/rule_transfer.py: EMOPIA's labelled clips of a split, each cut to
its first ``--bars`` bars, each sent to the three quadrants other than the one the reference judge
hears in it. The edit transfer (:mod:`emostudio.generation.edit`) takes the model's recognition as
the source emotion and chooses per transfer among the rule amounts scaled by each candidate scale
the one with the highest ``P_model(target) + w × keep``. To choose the scales and ``w`` without
re-running the model, every candidate (each scale of the grid, each λ, each target) is made,
recognised by the model in batches, judged and measured once; each setting's choice is then read
off those tables.

``--tune``: on the validation split at λ = 1, every subset (with scale 1) of the scale grid and
every ``w``; the table sorted by judged target quadrant. ``--tune --arousal-floors 0.625,1
--valence-floors 0.25,0.625``: instead, per pair of floors of the grid
(``RuleStrengths.min_move_arousal``, ``min_move_valence``), the edit (shipped scales and weight)
and, if it has several candidates, its first candidate alone. ``--pop909 N``: the first N POP909 songs of the split instead of EMOPIA's clips
(validation with ``--tune``, test otherwise). Without it: the test split, per λ, the
shipped setting (``EDIT_SCALES``, ``KEEP_WEIGHT``) beside the plain rules with the judge's verdict
as the source (rule_transfer.py's baseline) and with the model's (scale 1 alone).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rule_transfer import TARGETS, Source, sources
from rule_transfer import rolls as draw_rolls

from emostudio.emotion import Emotion
from emostudio.evaluation.data import EvaluationCorpus
from emostudio.evaluation.fidelity import MEASURES, fidelity
from emostudio.evaluation.judge import EmotionJudge
from emostudio.generation import Engine
from emostudio.generation.edit import (
    EDIT_RULES,
    EDIT_SCALES,
    KEEP_WEIGHT,
    keep_score,
    scaled,
    target_probability,
)
from emostudio.transform import RuleStrengths, transform

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
PLAIN = (1.0, 1.0)
SCALE_GRID = tuple((v, a) for v in (1.0, 1.5) for a in (1.0, 1.5, 2.0, 3.0))
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)


@dataclass
class Candidate:
    """One candidate edit of one transfer: what the model, the judge and the measures say."""

    p_model: float
    p_overall: float  # the model's whole-piece q(y|x) of the target quadrant
    keep: float
    judged_hit: bool
    p_judge: float
    measures: dict[str, float]


def collect(
    engine: Engine,
    judge: EmotionJudge,
    items: list[Source],
    strengths: tuple[float, ...],
    scales: tuple[tuple[float, float], ...],
    rules: RuleStrengths = EDIT_RULES,
) -> dict[tuple[int, int, float], dict[tuple[float, float], Candidate]]:
    """(piece, target quadrant, λ) -> {scale: Candidate} with the model's source emotion, each
    candidate ``rules`` scaled."""
    recognised = [r.emotion for r in engine.recognise_many([s.song for s in items])]
    keys, songs, meta = [], [], []
    for i, src in enumerate(items):
        for q in (1, 2, 3, 4):
            if q == src.quadrant:
                continue
            target = Emotion.from_quadrant(q)
            for lam in strengths:
                for scale in scales:
                    song = transform(
                        src.song, recognised[i], target, lam, rules=scaled(rules, scale)
                    )
                    keys.append((i, q, lam, scale))
                    songs.append(song)
                    meta.append(target)
    recs = engine.recognise_many(songs)
    verdicts, kept = judge.judge(songs)
    if len(kept) != len(songs):
        raise SystemExit("the judge left out some candidates")
    out: dict[tuple[int, int, float], dict[tuple[float, float], Candidate]] = {}
    dims = ("arousal", "valence")
    for k, ((i, q, lam, scale), song, target, rec) in enumerate(zip(keys, songs, meta, recs)):
        n = len(rec.arousal)
        out.setdefault((i, q, lam), {})[scale] = Candidate(
            p_model=target_probability(rec.arousal, rec.valence, [target] * n, dims),
            p_overall=target_probability(
                np.array([rec.overall_arousal]), np.array([rec.overall_valence]), [target], dims
            ),
            keep=keep_score(items[i].song, song),
            judged_hit=bool(verdicts.quadrant[k] == q),
            p_judge=float(verdicts.p_quadrant[k, q - 1]),
            measures=fidelity(items[i].song, song).as_dict(),
        )
    return out


def summarise(items, table, lam, scales, weight) -> dict:
    """The chosen candidate of each transfer at ``lam`` under (scales, weight), averaged."""
    hits, p, rows, kept_valence = [], [], [], []
    for (i, q, lam_i), cands in table.items():
        if lam_i != lam:
            continue
        best = max(scales, key=lambda s: (cands[s].p_model + weight * cands[s].keep, -sum(s)))
        c = cands[best]
        hits.append(c.judged_hit)
        p.append(c.p_judge)
        rows.append(c.measures)
        kept_valence.append((q in (1, 4)) == (items[i].quadrant in (1, 4)))
    s = {"n": len(hits), "quadrant": float(np.mean(hits)), "p_target": float(np.mean(p))}
    for m in MEASURES:
        s[m] = float(np.nanmean([r[m] for r in rows]))
    s["pc_kept"] = float(np.nanmean([r["pc_cosine"] for r, k in zip(rows, kept_valence) if k]))
    return s


def meets(s: dict) -> bool:
    return all(s[k] >= v for k, v in TARGETS.items())


def row(label: str, s: dict) -> str:
    return (
        f"| {label} | {s['n']} | {s['quadrant']:.3f} | {s['p_target']:.3f} | {s['contour']:.3f} | "
        f"{s['pc_cosine']:.3f} | {s['pc_kept']:.3f} | {s['onset_similarity']:.3f} | {s['note_f1']:.3f} |"
    )


HEADER = (
    "| {first} | transfers | judged target quadrant | P(target) | contour | pc cosine | "
    "pc cosine, valence kept | onset similarity | note F1 |\n|---|---|---|---|---|---|---|---|---|"
)


def tune(engine, judge, items) -> None:
    table = collect(engine, judge, items, (1.0,), SCALE_GRID)
    print(f"## Tuning at λ = 1 on {len(items)} EMOPIA validation clips ({len(table)} transfers)\n")
    results = []
    for size in (1, 2, 3):
        for subset in itertools.combinations(SCALE_GRID, size):
            if PLAIN not in subset and size > 1:
                continue
            for w in WEIGHTS if size > 1 else (0.0,):
                s = summarise(items, table, 1.0, subset, w)
                results.append((subset, w, s))
    results.sort(key=lambda r: -r[2]["quadrant"])
    print(
        "| scales | w | quadrant | P(target) | contour | pc cosine (valence kept) | onsets | note F1 | meets |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for subset, w, s in results:
        print(
            f"| {' '.join(f'{v:g}/{a:g}' for v, a in subset)} | {w:g} | {s['quadrant']:.3f} | {s['p_target']:.3f} | "
            f"{s['contour']:.3f} | {s['pc_kept']:.3f} | {s['onset_similarity']:.3f} | {s['note_f1']:.3f} | "
            f"{'yes' if meets(s) else 'no'} |"
        )
    print()


def tune_floor(
    engine, judge, items, floors: tuple[tuple[float, float], ...], what: str, base: RuleStrengths
) -> None:
    """At λ = 1, per pair of floors (``min_move_arousal``, ``min_move_valence``) of the rules
    ``base``: the edit (shipped scales and weight) and, when it has several candidates, the plain
    rules with the model's source, on ``items`` (a validation split)."""
    heard = engine.recognise_many([src.song for src in items])
    agree = sum(r.quadrant == src.quadrant for r, src in zip(heard, items))
    sure = np.mean([[abs(r.emotion.valence), abs(r.emotion.arousal)] for r in heard], axis=0)
    print(
        f"## The floors at λ = 1 on {len(items)} {what}\n\nThe model and the judge hear the same "
        f"source quadrant in {agree} of {len(items)}; mean |valence|, |arousal| of the model's "
        f"source: {sure[0]:.2f}, {sure[1]:.2f}.\n"
    )
    print(
        "| floor arousal | floor valence | method | transfers | quadrant | P(target) | contour | "
        "pc cosine | pc cosine (valence kept) | onsets | note F1 | meets |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    scales = tuple(sorted(set(EDIT_SCALES) | {PLAIN}))
    methods = [("edit", EDIT_SCALES, KEEP_WEIGHT)]
    if tuple(EDIT_SCALES) != (PLAIN,):
        methods.append(("rules", (PLAIN,), 0.0))
    for arousal, valence in floors:
        rules = replace(base, min_move_arousal=arousal, min_move_valence=valence)
        table = collect(engine, judge, items, (1.0,), scales, rules)
        for label, subset, w in methods:
            s = summarise(items, table, 1.0, subset, w)
            print(
                f"| {arousal:g} | {valence:g} | {label} | {s['n']} | {s['quadrant']:.3f} | "
                f"{s['p_target']:.3f} | {s['contour']:.3f} | {s['pc_cosine']:.3f} | "
                f"{s['pc_kept']:.3f} | {s['onset_similarity']:.3f} | {s['note_f1']:.3f} | "
                f"{'yes' if meets(s) else 'no'} |",
                flush=True,
            )
    print()


def judge_baseline(judge, items, lam) -> dict:
    """Plain rules with the judge's verdict as the source (rule_transfer.py's baseline)."""
    songs, targets, rows, kv = [], [], [], []
    for src in items:
        for q in (1, 2, 3, 4):
            if q == src.quadrant:
                continue
            song = transform(src.song, src.emotion, Emotion.from_quadrant(q), lam)
            songs.append(song)
            targets.append(q)
            rows.append(fidelity(src.song, song).as_dict())
            kv.append((q in (1, 4)) == (src.quadrant in (1, 4)))
    verdicts, _ = judge.judge(songs)
    t = np.asarray(targets)
    s = {
        "n": len(songs),
        "quadrant": float(np.mean(verdicts.quadrant == t)),
        "p_target": float(np.mean(verdicts.p_quadrant[np.arange(len(t)), t - 1])),
    }
    for m in MEASURES:
        s[m] = float(np.nanmean([r[m] for r in rows]))
    s["pc_kept"] = float(np.nanmean([r["pc_cosine"] for r, k in zip(rows, kv) if k]))
    return s


def report(engine, judge, items, what: str = "EMOPIA clips") -> None:
    table = collect(engine, judge, items, STRENGTHS, tuple(sorted(set(EDIT_SCALES) | {PLAIN})))
    print(
        f"## Test split: {len(items)} {what}, scales {EDIT_SCALES}, w {KEEP_WEIGHT:g}, floors: "
        f"arousal {EDIT_RULES.min_move_arousal:g}, valence {EDIT_RULES.min_move_valence:g}\n"
    )
    heard = engine.recognise_many([src.song for src in items])
    agree = sum(r.quadrant == src.quadrant for r, src in zip(heard, items))
    print(f"The model and the judge hear the same source quadrant in {agree} of {len(items)}.\n")
    for label, fn in (
        ("edit (shipped)", lambda lam: summarise(items, table, lam, EDIT_SCALES, KEEP_WEIGHT)),
        ("plain rules, model's source", lambda lam: summarise(items, table, lam, (PLAIN,), 0.0)),
        ("plain rules, judge's source", lambda lam: judge_baseline(judge, items, lam)),
    ):
        print(f"### {label}\n")
        print(HEADER.format(first="λ"))
        for lam in STRENGTHS:
            print(row(f"{lam:g}", fn(lam)), flush=True)
        print()


def speed(engine, items, repeats: int) -> None:
    times = []
    for src in items[:repeats]:
        target = Emotion.from_quadrant(5 - src.quadrant)
        started = time.perf_counter()
        list(engine.transfer(src.song, target, 1.0))
        times.append(time.perf_counter() - started)
    print(
        f"edit transfer of {len(times)} 16-bar clips at λ = 1: median {np.median(times):.3f} s, "
        f"p90 {np.percentile(times, 90):.3f} s\n"
    )


def rolls(engine, items, folder: Path, count: int) -> None:
    """PNG piano rolls: each source beside its edit transfers at λ = 1 to the other quadrants
    (rule_transfer.py's drawing)."""

    def edit(src: Source, targets: list[int]) -> list:
        quadrants = [Emotion.from_quadrant(q) for q in targets]
        return engine.transfer_many([src.song] * len(targets), quadrants, 1.0)

    draw_rolls(items, folder, count, edit, "edit to")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--judge", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--limit", type=int, default=0, help="N clips spread over the split (0: all)")
    p.add_argument(
        "--tune", action="store_true", help="the validation grid instead of the test report"
    )
    p.add_argument(
        "--arousal-floors",
        help="with --tune: comma-separated min_move_arousal values; with --valence-floors, their "
        "grid instead of the scale grid",
    )
    p.add_argument("--valence-floors", help="with --tune: comma-separated min_move_valence values")
    p.add_argument(
        "--amounts",
        default="",
        help="with the floors' grid: rule amounts instead of the edit's, e.g. articulation=0.1,density=0.2",
    )
    p.add_argument("--speed", type=int, default=0, help="time N single transfers (test split)")
    p.add_argument("--rolls", type=Path, help="folder for piano rolls of a few test clips")
    p.add_argument("--report", action="store_true", help="the test report (default unless --tune)")
    p.add_argument(
        "--pop909", type=int, default=0, help="the first N POP909 songs of the split, not EMOPIA"
    )
    args = p.parse_args()

    started = time.perf_counter()
    engine = Engine.load(args.model)
    judge = EmotionJudge.load(args.judge)
    corpus = EvaluationCorpus(args.data)
    split = "val" if args.tune else "test"
    group = "POP909" if args.pop909 else "EMOPIA"
    items = sources(corpus, judge, split, args.pop909, args.bars)[group]
    if args.limit:
        items = items[:: max(1, len(items) // args.limit)][: args.limit]
    if args.tune and (args.arousal_floors or args.valence_floors):
        if not (args.arousal_floors and args.valence_floors):
            p.error("--arousal-floors and --valence-floors go together")
        floors = tuple(
            itertools.product(
                (float(x) for x in args.arousal_floors.split(",")),
                (float(x) for x in args.valence_floors.split(",")),
            )
        )
        amounts = dict(kv.split("=") for kv in args.amounts.split(",") if kv)
        base = replace(EDIT_RULES, **{k: float(v) for k, v in amounts.items()})
        print(f"Rule amounts: {base}\n")
        tune_floor(engine, judge, items, floors, f"{group} validation pieces", base)
    elif args.tune:
        tune(engine, judge, items)
    elif args.report or not (args.speed or args.rolls):
        report(engine, judge, items, "POP909 songs" if args.pop909 else "EMOPIA clips")
    if args.rolls:
        rolls(engine, items[::12], args.rolls, 3)
    if args.speed:
        speed(engine, items, args.speed)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
