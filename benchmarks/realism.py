"""How real does generated music look? The shipped model with and without a form, and the Markov
baseline, against held-out EMOPIA clips (issue 13's targets).

    .venv/bin/python benchmarks/realism.py --data ../shared/data --judge docs/evaluation/judge.json \\
        --pieces 25 --forms none:0:0 AABA:0:0 AABA:0.3:0.5 --markov --json out.json --rolls rolls.png

Every set has ``--pieces`` pieces per quadrant of ``--bars`` bars. A model set is
``FORM:VARIATION:CADENCE[:T,TOP_P,TAU,CONTINUITY]``: per piece the engine's latents for its target
(``target_latents``, one seed per piece), laid out by :mod:`emostudio.generation.form` and decoded
in batches (``decode_many``); ``none:0:0`` is plain generation. VARIATION is one amount or one per phrase
position (``0/1/1/1``); a ``copy`` prefix (``copy``, ``copy-0/1/1/1``) then makes every returning
bar of variation 0 an exact copy of its source's notes (``form.repeat_bars``). The real set is EMOPIA's held-out
(validation + test) clips cut to ``--bars`` bars; its two random halves give the real-vs-real
reference. Per set: the mean KDE overlapping area over the realism descriptors, the random-forest
two-sample AUC, bar repetition's median against real music's interquartile range, the judge's
emotion accuracy, and a cadence measure (the share of a phrase end's sounding pitch classes on
the piece's tonic triad, against the other bars'). The seam reference: real neighbouring bars'
jumps (``structure.bar_jumps``) and where splices of two real clips fall among them.

``--reconstruct`` adds the real clips decoded from their own posterior means (``Engine.encode`` ->
``decode_many``, default sampling), with each descriptor's median paired difference from its clip:
if these are about as unrealistic as generated pieces the decoder is the gap, if much more real the
latents are. ``--sources pop909 vgmidi`` adds those sources' pieces of the same splits (the rest of
the training mix) as sets; ``--splits val --cache CACHE`` keeps the real set to the validation
clips of the split the model was trained with.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

QUADRANTS = (1, 2, 3, 4)


def model_pieces(engine, quadrants, bars, form, variation, cadence, sampling, seed):
    """The model's pieces for these targets in a form (the only place that calls the engine)."""
    from emostudio.decoding import DecodingSettings
    from emostudio.emotion import Emotion
    from emostudio.generation.form import apply_form, plan_form, repeat_bars

    temperature, top_p, tau, continuity = sampling
    settings = DecodingSettings(
        temperature=temperature, top_p=top_p, latent_temperature=tau, continuity=continuity
    )
    copy = variation.startswith("copy")
    amounts = variation.removeprefix("copy").strip("-") or "0"
    plan = plan_form(
        form, bars, [float(v) for v in amounts.split("/")] if "/" in amounts else float(amounts)
    )
    latents = []
    for i, q in enumerate(quadrants):
        z_r, z_k = engine.target_latents(
            Emotion.from_quadrant(int(q)), bars, seed=seed + i, settings=settings
        )
        latents.append(apply_form(z_r, z_k, plan, cadence))
    songs = engine.decode_many(latents, seed=seed, settings=settings, batch_size=64)
    return [repeat_bars(song, plan) for song in songs] if copy else songs


def reconstructions(engine, songs, seed):
    """Each real clip decoded from its own posterior means (``Engine.encode`` -> ``decode_many``,
    the engine's default sampling): what the decoder writes when its latents are a real clip's."""
    codes = [engine.encode(song) for song in songs]
    return engine.decode_many([(c.z_r, c.z_k) for c in codes], seed=seed, batch_size=64)


def paired_differences(songs, real) -> dict:
    """Per descriptor, the median over clips of (reconstruction - its real clip): the decoder's
    systematic bias when its latents are right."""
    from emostudio.evaluation.structure import REALISM_NAMES, realism_table

    pairs = [(a, b) for a, b in zip(songs, real) if a.note_count > 0 and b.note_count > 0]
    diff = realism_table([a for a, _ in pairs]) - realism_table([b for _, b in pairs])
    return dict(zip(REALISM_NAMES, np.median(diff, axis=0).round(4).tolist()))


def tonic_share(song, bars: int, phrase_bars: int = 4) -> tuple[float, float]:
    """(phrase ends', other bars') mean share of sounding pitch classes on the tonic triad."""
    from emostudio.tokens.features import bar_chroma, global_key

    key = global_key(song)
    tonic, third = key % 12, (3 if key >= 12 else 4)
    triad = [tonic, (tonic + third) % 12, (tonic + 7) % 12]
    chroma = bar_chroma(song, bars)
    total = chroma.sum(axis=1)
    share = np.divide(
        chroma[:, triad].sum(axis=1), total, out=np.full(bars, np.nan), where=total > 0
    )
    ends = np.arange(bars) % phrase_bars == phrase_bars - 1
    return float(np.nanmean(share[ends])), float(np.nanmean(share[~ends]))


def bar_bass(song) -> tuple[float, float, float]:
    """The bass per bar: (median over bars of the lowest sounding pitch, share of bars with a note
    below G3 sounding on their first sub-beat, share of bars with a note below C3 that lasts half
    a bar or more)."""
    from emostudio.evaluation.descriptors import pitched_notes
    from emostudio.evaluation.structure import BASS_BELOW, SUBBEATS, piano_roll
    from emostudio.generation.grammar import BASS_BIAS_BELOW

    roll = piano_roll(song)
    if roll is None:
        return float("nan"), float("nan"), float("nan")
    bars = roll.sounding.reshape(roll.n_bars, SUBBEATS, 128)
    sounding = bars.any(axis=1)  # [n_bars, 128]
    lowest = np.argmax(sounding, axis=1)[sounding.any(axis=1)]
    q = pitched_notes(song)
    held = np.zeros(roll.n_bars, dtype=bool)
    long_low = (q.pitch < BASS_BIAS_BELOW) & (q.duration >= SUBBEATS // 2)
    held[q.onset[long_low] // SUBBEATS] = True
    return (
        float(np.median(lowest)),
        float(bars[:, 0, :BASS_BELOW].any(axis=1).mean()),
        float(held.mean()),
    )


def summarise(name, songs, quadrants, real_table, judge, bars, seconds=None) -> dict:
    from emostudio.evaluation.judge import score
    from emostudio.evaluation.structure import (
        REALISM_NAMES,
        overlaps,
        realism_table,
        two_sample_auc,
    )

    table = realism_table(songs)
    ov = overlaps(table, real_table)
    if quadrants is None:  # unlabelled pieces: no emotion to score
        s = argparse.Namespace(quadrant=None, arousal=None, valence=None)
    else:
        verdicts, kept = judge.judge(songs)
        s = score(verdicts, np.asarray(quadrants)[kept])
    col = {n: table[:, i] for i, n in enumerate(REALISM_NAMES)}
    cad = np.array([tonic_share(x, bars) for x in songs if x.note_count > 0])
    low = np.array([bar_bass(x) for x in songs if x.note_count > 0])
    return {
        "name": name,
        "n": len(table),
        "overlap_mean": float(ov.mean()),
        "overlap": dict(zip(REALISM_NAMES, ov.round(3).tolist())),
        "auc": two_sample_auc(table, real_table),
        "quadrant": s.quadrant,
        "arousal": s.arousal,
        "valence": s.valence,
        "medians": {n: float(np.median(v)) for n, v in col.items()},
        "means": {n: float(np.mean(v)) for n, v in col.items()},
        "stds": {n: float(np.std(v)) for n, v in col.items()},
        "tonic_at_phrase_end": float(np.nanmean(cad[:, 0])),
        "tonic_elsewhere": float(np.nanmean(cad[:, 1])),
        "lowest_per_bar": float(np.nanmedian(low[:, 0])),
        "bass_at_bar_start": float(np.nanmean(low[:, 1])),
        "held_bass_bars": float(np.nanmean(low[:, 2])),
        "seconds": seconds,
    }


def seam_reference(real, bars: int) -> dict:
    """Real neighbouring bars' jumps, and where splices of two real clips fall among them."""
    from emostudio.evaluation.structure import (
        JUMP_NAMES,
        bar_jumps,
        seam_percentiles,
        splice_seams,
    )

    jumps = np.concatenate([j for j in (bar_jumps(s) for s in real) if j is not None])
    seams = splice_seams(real, bars)  # bars 1..8 of one clip, 9..16 of the next
    pct = seam_percentiles(seams, jumps)
    return {
        "n_joins": len(jumps),
        "median": dict(zip(JUMP_NAMES, np.median(jumps, axis=0).tolist())),
        "p90": dict(zip(JUMP_NAMES, np.percentile(jumps, 90, axis=0).tolist())),
        "n_splices": len(seams),
        "splice_median_percentile": dict(zip(JUMP_NAMES, np.median(pct, axis=0).tolist())),
    }


def piano_rolls(named_songs, path: Path, bars: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emostudio.evaluation.structure import piano_roll

    fig, axes = plt.subplots(len(named_songs), 1, figsize=(12, 2.4 * len(named_songs)), sharex=True)
    for ax, (name, song) in zip(np.atleast_1d(axes), named_songs):
        roll = piano_roll(song)
        img = roll.sounding[: bars * 16].T.astype(float)
        ax.imshow(img, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest")
        ax.set_ylim(21, 108)
        ax.axhline(55, color="tab:red", lw=0.6)  # G3: the bass register below
        for b in range(0, bars * 16, 16):
            ax.axvline(b - 0.5, color="tab:blue", lw=0.3 if b % 64 else 0.9)
        ax.set_ylabel(name, fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("sub-beat (bar lines blue, 4-bar phrases bold; red: G3)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--judge", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--pieces", type=int, default=25, help="per quadrant")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--forms", nargs="*", default=["none:0:0"], metavar="FORM:VAR:CAD[:T,P,TAU,C]")
    p.add_argument(
        "--engine-forms",
        nargs="*",
        default=[],
        metavar="FORM",
        help="sets generated by the engine itself (Engine.generate_many(form=FORM))",
    )
    p.add_argument(
        "--seams", type=int, default=0, metavar="N", help="continue and fill N real clips"
    )
    p.add_argument(
        "--reconstruct",
        action="store_true",
        help="also the real clips decoded from their own posterior means (decoder vs latents)",
    )
    p.add_argument(
        "--splits",
        default="val,test",
        help="EMOPIA splits of the real set (comma-separated; 'val' keeps the test split unseen)",
    )
    p.add_argument(
        "--sources",
        nargs="*",
        default=[],
        metavar="SOURCE",
        help="also these training sources' pieces of the same splits (e.g. pop909 vgmidi), "
        "cut to --bars bars: the texture of the rest of the training mix",
    )
    p.add_argument("--cache", default=None, help="corpus cache whose splits to use (else assigned)")
    p.add_argument(
        "--settings",
        nargs="+",
        default=[""],
        metavar="NAME=V[,NAME=V]",
        help="the engine's sets (--engine-forms) once per value, each with these decoding settings "
        "changed (e.g. rhythm_persistence=0.8,continuity=0.5; default: the engine's own)",
    )
    p.add_argument("--markov", action="store_true")
    p.add_argument("--markov-order", type=int, default=8, help="largest order tried")
    p.add_argument("--json", type=Path)
    p.add_argument("--rolls", type=Path)
    args = p.parse_args()

    import torch

    from emostudio.decoding import (
        DEFAULT_CONTINUITY,
        DEFAULT_LATENT_TEMPERATURE,
        DEFAULT_TEMPERATURE,
        DEFAULT_TOP_P,
    )
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge
    from emostudio.evaluation.structure import REALISM_NAMES, real_vs_real, realism_table

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    corpus = EvaluationCorpus(args.data, args.cache)
    held_out = [
        p
        for split in args.splits.split(",")
        for p in corpus.pieces(split, labelled_only=True, sources=("emopia",))
    ]
    real = [p.song.slice_bars(0, args.bars) for p in held_out]
    real_q = [p.file.quadrant for p in held_out]
    real_table = realism_table(real)
    rvr_overlap, rvr_auc = real_vs_real(real_table, seed=args.seed)
    rep = real_table[:, REALISM_NAMES.index("bar_repetition")]
    results = {
        "real": {
            "n": len(real_table),
            "bar_repetition_iqr": np.percentile(rep, [25, 75]).tolist(),
            "real_vs_real_overlap_mean": float(rvr_overlap.mean()),
            "real_vs_real_overlap": dict(zip(REALISM_NAMES, rvr_overlap.round(3).tolist())),
            "real_vs_real_auc": rvr_auc,
            **{
                k: v
                for k, v in summarise("real", real, real_q, real_table, judge, args.bars).items()
                if k
                in (
                    "quadrant",
                    "arousal",
                    "valence",
                    "medians",
                    "means",
                    "stds",
                    "tonic_at_phrase_end",
                    "tonic_elsewhere",
                    "lowest_per_bar",
                    "bass_at_bar_start",
                    "held_bass_bars",
                )
            },
        },
        "sets": [],
        "seams": seam_reference(real, args.bars),
    }
    print(
        f"real: {len(real_table)} clips, real-vs-real overlap {rvr_overlap.mean():.3f}, AUC {rvr_auc:.3f}"
    )
    _print({"name": "real", "overlap_mean": 1.0, "auc": 0.5, "seconds": 0, **results["real"]})
    quadrants = np.repeat(QUADRANTS, args.pieces)
    rolls = [("real EMOPIA (held out)", real[0])]

    for source in args.sources:
        others = [
            p.song.slice_bars(0, args.bars)
            for split in args.splits.split(",")
            for p in corpus.pieces(split, sources=(source,))
        ]
        row = summarise(f"real {source}", others, None, real_table, judge, args.bars)
        results["sets"].append(row)
        _print(row)
    if args.forms or args.engine_forms or args.seams or args.reconstruct:
        from emostudio.generation import Engine

        engine = Engine.load(args.model, device="cpu")
    if args.reconstruct:
        t0 = time.perf_counter()
        songs = reconstructions(engine, real, args.seed)
        row = summarise(
            "reconstructions", songs, real_q, real_table, judge, args.bars,
            time.perf_counter() - t0,
        )  # fmt: skip
        row["paired_median_difference"] = paired_differences(songs, real)
        results["sets"].append(row)
        rolls.append(("its reconstruction (encode -> decode)", songs[0]))
        _print(row)
    for form, changes in itertools.product(args.engine_forms, args.settings):
        from emostudio.emotion import Emotion

        given = dict(kv.split("=") for kv in changes.split(",") if kv)
        settings = engine.settings.replace(**{k: float(v) for k, v in given.items()})
        name = f"engine {form}, rhythm persistence {settings.rhythm_persistence}"
        name += "".join(f", {k} {v}" for k, v in given.items() if k != "rhythm_persistence")
        t0 = time.perf_counter()
        songs = engine.generate_many(
            [Emotion.from_quadrant(int(q)) for q in quadrants],
            bars=args.bars,
            seed=args.seed,
            settings=settings,
            batch_size=64,
            form=form,
        )
        row = summarise(
            name, songs, quadrants, real_table, judge, args.bars, time.perf_counter() - t0
        )
        results["sets"].append(row)
        rolls.append((name, songs[0]))
        _print(row)
    if args.seams:
        from emostudio.evaluation.results import EvaluationSettings
        from emostudio.evaluation.stages import seam_joins
        from emostudio.evaluation.structure import JUMP_NAMES, bar_jumps, seam_percentiles

        real_jumps = np.concatenate([j for j in (bar_jumps(x) for x in real) if j is not None])
        t0 = time.perf_counter()
        joins = seam_joins(engine, real[: args.seams], EvaluationSettings(seed=args.seed))
        for name, rows in joins.items():
            pct = seam_percentiles(np.asarray(rows), real_jumps)
            results["seams"][name] = {
                "n_joins": len(rows),
                "median_percentile": dict(zip(JUMP_NAMES, np.median(pct, axis=0).tolist())),
            }
        results["seams"]["seconds"] = time.perf_counter() - t0
        print("seams:", json.dumps({k: v for k, v in results["seams"].items()}, default=str))
    for spec in args.forms:
        form, variation, cadence, *rest = spec.split(":")
        sampling = (
            tuple(float(x) for x in rest[0].split(","))
            if rest
            else (
                DEFAULT_TEMPERATURE,
                DEFAULT_TOP_P,
                DEFAULT_LATENT_TEMPERATURE,
                DEFAULT_CONTINUITY,
            )
        )
        t0 = time.perf_counter()
        songs = model_pieces(
            engine, quadrants, args.bars, form, variation, float(cadence), sampling, args.seed
        )
        seconds = time.perf_counter() - t0
        results["sets"].append(
            summarise(spec, songs, quadrants, real_table, judge, args.bars, seconds)
        )
        rolls.append((f"model {spec}", songs[0]))
        _print(results["sets"][-1])

    if args.markov:
        from emostudio.evaluation.markov import MarkovBaseline

        t0 = time.perf_counter()
        pairs = {
            split: [
                (p.song, p.file.quadrant)
                for p in corpus.pieces(split, labelled_only=True, sources=("emopia",))
            ]
            for split in ("train", "val")
        }
        baseline = MarkovBaseline.from_songs(
            pairs["train"], pairs["val"], max_order=args.markov_order
        )
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        songs = baseline.sample_many(quadrants, args.bars, seed=args.seed)
        row = summarise(
            "markov", songs, quadrants, real_table, judge, args.bars, time.perf_counter() - t0
        )
        row["orders"] = {q: c.order for q, c in baseline.chains.items()}
        row["fit_seconds"] = fit_seconds
        results["sets"].append(row)
        rolls.append(("Markov baseline", songs[0]))
        _print(row)

    if args.rolls:
        piano_rolls(rolls, args.rolls, args.bars)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _print(row: dict) -> None:
    m = row["medians"]
    print(
        f"{row['name']:28s} overlap {row['overlap_mean']:.3f}  AUC {row['auc']:.3f}  "
        + (
            f"emotion {row['quadrant']:.3f}/{row['arousal']:.3f}/{row['valence']:.3f}  "
            if row["quadrant"] is not None
            else ""
        )
        + f"rep {m['bar_repetition']:.3f}  bass {m['bass_presence']:.3f}  "
        f"dur {m['duration_mean']:.2f}  poly {m['polyphony_mean']:.2f}  "
        f"low {row['lowest_per_bar']:.1f}  bass@1 {row['bass_at_bar_start']:.2f}  "
        f"held {row['held_bass_bars']:.2f}  "
        f"leap {m['top_voice_step_mean']:.1f}  cadence {row['tonic_at_phrase_end']:.3f}/"
        f"{row['tonic_elsewhere']:.3f}  ({row['seconds'] or 0:.0f} s)",
        flush=True,
    )


if __name__ == "__main__":
    main()
