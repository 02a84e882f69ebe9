"""The evaluation's stages: each measures one thing and returns its dataclass from
:mod:`emostudio.evaluation.results`; :func:`emostudio.evaluation.report.evaluate` runs them in order.

The model is reached only through :mod:`emostudio.evaluation.engine_calls`, so a change to the
engine's signatures is a change there; the emotion accuracy and feature measures are
:mod:`emostudio.evaluation.accuracy`.
"""

from __future__ import annotations

import numpy as np

from emostudio.evaluation import engine_calls as calls
from emostudio.evaluation.accuracy import QUADRANTS, cosine, emotion_fields, feature_vectors
from emostudio.evaluation.copying import TrainingIndex, longest_copy
from emostudio.evaluation.fidelity import MEASURES, fidelity
from emostudio.evaluation.judge import EMOPIA_PUBLISHED, EmotionJudge, score
from emostudio.evaluation.plots import LatentSpace
from emostudio.evaluation.realism import compare
from emostudio.evaluation.results import (
    CopyResult,
    ElementScores,
    EvaluationSettings,
    FidelityResult,
    FidelityRow,
    GenerationResult,
    JudgeResult,
    RealismResult,
    RecognitionResult,
    SeamResult,
    StructureResult,
    StructureSet,
    SwapResult,
    SwapScores,
    SweepResult,
    TransferResult,
)
from emostudio.midi.song import Song

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: the transfer methods the fidelity section compares: the engine's two and the plain rules
FIDELITY_METHODS = ("edit", "rules", "rewrite")


# ---- stages -----------------------------------------------------------------------------------------
def judge_stage(judge: EmotionJudge, test: list[Song], quadrants: list[int | None]) -> JudgeResult:
    """The reference judge on EMOPIA's held-out clips (all labelled), beside EMOPIA's published
    classifier."""
    verdicts, kept = judge.judge(test)
    return JudgeResult(
        test=score(verdicts, np.asarray(quadrants)[kept]),
        published=dict(EMOPIA_PUBLISHED),
        n_train=judge.n_train,
    )


def generate_pieces(engine, s: EvaluationSettings) -> tuple[list[int], list[Song]]:
    """``pieces_per_quadrant`` pieces per quadrant: (their target quadrants, the pieces)."""
    targets = [q for q in QUADRANTS for _ in range(s.pieces_per_quadrant)]
    return targets, calls.generate(engine, targets, s)


def generation_stage(
    judge: EmotionJudge, targets: list[int], pieces: list[Song], seconds: float
) -> GenerationResult:
    """The generated pieces judged against their targets."""
    verdicts, kept = judge.judge(pieces)
    return GenerationResult(
        **emotion_fields(verdicts, np.asarray(targets)[kept]),
        n_empty=len(pieces) - len(kept),
        seconds=seconds,
    )


def transfer_stage(
    engine, judge: EmotionJudge, sources: list[Song], source_q: list[int], s: EvaluationSettings
) -> TransferResult:
    """Every source to each quadrant at strength 1, judged; and the untouched sources' baseline."""
    pairs = [(i, q) for i in range(len(sources)) for q in QUADRANTS]
    moved = calls.transfer(engine, [sources[i] for i, _ in pairs], [q for _, q in pairs], 1.0, s)
    verdicts, kept = judge.judge(moved)
    targets = np.array([q for _, q in pairs])[kept]
    own = np.array([source_q[i] for i, _ in pairs])[kept]
    changed = targets != own
    src_verdicts, _ = judge.judge(sources)
    src_as_target = src_verdicts.quadrant[[i for i, _ in pairs]][kept][changed] == targets[changed]
    return TransferResult(
        **emotion_fields(verdicts, targets),
        quadrant_changed_targets=float(np.mean(verdicts.quadrant[changed] == targets[changed])),
        n_changed=int(changed.sum()),
        source_judged_as_target_baseline=float(np.mean(src_as_target)),
    )


def sweep_stage(
    engine,
    judge: EmotionJudge,
    sources: list[Song],
    source_q: list[int],
    s: EvaluationSettings,
    rng: np.random.Generator,
) -> SweepResult:
    """``sweep_pieces`` sources to the three other quadrants at each strength in :data:`LAMBDAS`."""
    pick = rng.choice(len(sources), min(s.sweep_pieces, len(sources)), replace=False)
    pairs = [(int(i), q) for i in pick for q in QUADRANTS if q != source_q[int(i)]]
    p_quadrant, p_arousal, p_valence, accuracy = [], [], [], []
    for lam in LAMBDAS:
        out = calls.transfer(engine, [sources[i] for i, _ in pairs], [q for _, q in pairs], lam, s)
        v, kept = judge.judge(out)
        tq = np.array([q for _, q in pairs])[kept]
        a_high, v_high = np.isin(tq, (1, 2)), np.isin(tq, (1, 4))
        p_quadrant.append(float(np.mean(v.p_quadrant[np.arange(len(tq)), tq - 1])))
        p_arousal.append(float(np.mean(np.where(a_high, v.p_arousal_high, 1 - v.p_arousal_high))))
        p_valence.append(float(np.mean(np.where(v_high, v.p_valence_high, 1 - v.p_valence_high))))
        accuracy.append(float(np.mean(v.quadrant == tq)))
    return SweepResult(list(LAMBDAS), p_quadrant, p_arousal, p_valence, accuracy)


def fidelity_stage(
    engine,
    judge: EmotionJudge,
    sources: list[Song],
    source_q: list[int],
    s: EvaluationSettings,
    rng: np.random.Generator,
) -> FidelityResult:
    """Issue 12's fidelity section: ``fidelity_pieces`` clips to the three other quadrants at each
    λ by each of :data:`FIDELITY_METHODS`, judged and measured against the source; and
    ``element_pairs`` (recipient, donor) pairs with the donor's rhythm or key taken."""
    pick = rng.choice(len(sources), min(s.fidelity_pieces, len(sources)), replace=False)
    pairs = [(int(i), q) for i in pick for q in QUADRANTS if q != source_q[int(i)]]
    songs, targets = [sources[i] for i, _ in pairs], [q for _, q in pairs]
    kept_valence = np.array([(q in (1, 4)) == (source_q[i] in (1, 4)) for i, q in pairs])
    rows = []
    for method in FIDELITY_METHODS:
        for lam in LAMBDAS:
            if method == "rules":
                out = calls.rules(engine, songs, targets, lam)
            else:
                out = calls.transfer(engine, songs, targets, lam, s, method)
            v, kept = judge.judge(out)
            tq = np.array(targets)[kept]
            measures = [fidelity(a, b).as_dict() for a, b in zip(songs, out, strict=True)]
            mean = {m: float(np.nanmean([r[m] for r in measures])) for m in MEASURES}
            pc_kept = [r["pc_cosine"] for r, k in zip(measures, kept_valence, strict=True) if k]
            rows.append(
                FidelityRow(
                    method=method,
                    strength=lam,
                    n=len(out),
                    quadrant=float(np.mean(v.quadrant == tq)),
                    p_target=float(np.mean(v.p_quadrant[np.arange(len(tq)), tq - 1])),
                    pc_cosine_valence_kept=float(np.nanmean(pc_kept)) if pc_kept else float("nan"),
                    **mean,
                )
            )
    n = len(sources)
    couples = [
        tuple(int(i) for i in rng.choice(n, 2, replace=False))
        for _ in range(min(s.element_pairs, n * (n - 1)))
    ]
    donors = [(sources[a], sources[b]) for a, b in couples]
    scores = {}
    for element in ("rhythm", "key"):
        out = calls.take_elements(engine, donors, element, s)
        values = np.array(
            [
                [
                    fidelity(a, r).onset_similarity,
                    fidelity(b, r).onset_similarity,
                    fidelity(a, r).pc_cosine,
                    fidelity(b, r).pc_cosine,
                ]
                for (a, b), r in zip(donors, out, strict=True)
            ]
        ).reshape(-1, 4)
        scores[element] = ElementScores(
            onsets_A=float(np.nanmean(values[:, 0])),
            onsets_B=float(np.nanmean(values[:, 1])),
            pc_cosine_A=float(np.nanmean(values[:, 2])),
            pc_cosine_B=float(np.nanmean(values[:, 3])),
            onsets_closer_to_B=float(np.mean(values[:, 1] > values[:, 0])),
            pc_closer_to_B=float(np.mean(values[:, 3] > values[:, 2])),
        )
    return FidelityResult(
        n_pieces=len(pick),
        rows=rows,
        n_pairs=len(donors),
        rhythm_from=scores["rhythm"],
        key_from=scores["key"],
    )


def swap_stage(
    engine, sources: list[Song], s: EvaluationSettings, rng: np.random.Generator
) -> SwapResult:
    """MODEL.md section 5: swap one latent between A and B; which piece do the features follow?"""
    n = len(sources)
    pairs = [
        tuple(int(i) for i in rng.choice(n, 2, replace=False))
        for _ in range(min(s.swap_pairs, n * (n - 1)))
    ]
    jobs, features = [], []  # jobs: (variant, z_r, z_k); features: per pair (A's, B's, bars)
    for a, b in pairs:
        bars = min(sources[a].n_bars, sources[b].n_bars)
        A, B = sources[a].slice_bars(0, bars), sources[b].slice_bars(0, bars)
        if A.note_count == 0 or B.note_count == 0:
            continue
        ea, eb = calls.encode(engine, A), calls.encode(engine, B)
        features.append((feature_vectors(A, bars), feature_vectors(B, bars), bars))
        jobs += [
            ("reconstruct", ea.z_r[:bars], ea.z_k[:bars]),
            ("swap_r", eb.z_r[:bars], ea.z_k[:bars]),
            ("swap_k", ea.z_r[:bars], eb.z_k[:bars]),
        ]
    songs = calls.decode(engine, [(z_r, z_k) for _, z_r, z_k in jobs], s)
    rows: dict[str, list] = {"swap_r": [], "swap_k": [], "reconstruct": []}
    for k, ((name, _, _), song) in enumerate(zip(jobs, songs, strict=True)):
        fa, fb, bars = features[k // 3]
        fr = feature_vectors(song, bars)
        rows[name].append(
            [
                cosine(fr[0], fa[0]),
                cosine(fr[0], fb[0]),
                cosine(fr[1], fa[1]),
                cosine(fr[1], fb[1]),
            ]
        )
    scores = {}
    for name, values in rows.items():
        v = np.asarray(values, dtype=np.float64).reshape(-1, 4)
        scores[name] = SwapScores(
            polyphony_cos_A=float(v[:, 0].mean()),
            polyphony_cos_B=float(v[:, 1].mean()),
            key_cos_A=float(v[:, 2].mean()),
            key_cos_B=float(v[:, 3].mean()),
            polyphony_closer_to_B=float(np.mean(v[:, 1] > v[:, 0])),
            key_closer_to_B=float(np.mean(v[:, 3] > v[:, 2])),
        )
    return SwapResult(n_pairs=len(features), **scores)


def recognition_stage(
    engine, sources: list[Song], quadrants: list[int]
) -> tuple[RecognitionResult, LatentSpace]:
    """The model's own q(y|x) on labelled clips, and their latents with the component means."""
    probs, z_r, z_k = [], [], []
    for song in sources:
        code = calls.encode(engine, song)
        probs.append((code.q_arousal[1], code.q_valence[1]))
        z_r.append(code.z_r.mean(axis=0))
        z_k.append(code.z_k.mean(axis=0))
    p = np.asarray(probs)
    q = np.asarray(quadrants)
    a_true, v_true = np.isin(q, (1, 2)), np.isin(q, (1, 4))
    a_hat, v_hat = p[:, 0] >= 0.5, p[:, 1] >= 0.5
    quadrant_hat = np.where(a_hat, np.where(v_hat, 1, 2), np.where(v_hat, 4, 3))
    means_r = engine.model.prior_r.means.detach().cpu().numpy()
    means_k = engine.model.prior_k.means.detach().cpu().numpy()
    result = RecognitionResult(
        n=len(q),
        arousal=float(np.mean(a_hat == a_true)),
        valence=float(np.mean(v_hat == v_true)),
        quadrant=float(np.mean(quadrant_hat == q)),
        component_distance_r=float(np.linalg.norm(means_r[1] - means_r[0])),
        component_distance_k=float(np.linalg.norm(means_k[1] - means_k[0])),
    )
    space = LatentSpace(np.asarray(z_r), np.asarray(z_k), a_true, v_true, means_r, means_k)
    return result, space


def realism_stage(generated: list[Song], real: list[Song]) -> RealismResult:
    """Pitch range, polyphony, rhythm density, pitch-class entropy: generated against real."""
    return RealismResult(n_real=len(real), metrics=compare(generated, real))


def structure_stage(
    engine,
    judge: EmotionJudge,
    targets: list[int],
    generated: list[Song],
    real: list[Song],
    markov: list[Song],
    clips: list[Song],
    s: EvaluationSettings,
) -> StructureResult:
    """Realism (evaluation.structure) of the model's pieces in the default form and
    through-composed (``generated``) and of the Markov baseline's (``markov``, same targets)
    against held-out real clips; and the seams of continue (each of ``clips``' second half from its
    first) and fill (four bars in its middle) against real neighbouring bars."""
    from emostudio.decoding import DEFAULT_FORM
    from emostudio.evaluation.structure import (
        JUMP_NAMES,
        REALISM_NAMES,
        bar_jumps,
        overlaps,
        real_vs_real,
        realism_table,
        seam_percentiles,
        splice_seams,
        two_sample_auc,
    )

    real_table = realism_table(real)
    rvr, rvr_auc = real_vs_real(real_table, seed=s.seed)
    repetition = REALISM_NAMES.index("bar_repetition")

    def one_set(name: str, songs: list[Song]) -> StructureSet:
        table = realism_table(songs)
        ov = overlaps(table, real_table)
        verdicts, kept = judge.judge(songs)
        fields = emotion_fields(verdicts, np.asarray(targets)[kept])
        return StructureSet(
            name=name,
            n=len(table),
            overlap_mean=float(ov.mean()),
            auc=two_sample_auc(table, real_table, seed=s.seed),
            bar_repetition_median=float(np.median(table[:, repetition])),
            quadrant=fields["quadrant"],
            arousal=fields["arousal"],
            valence=fields["valence"],
            overlap=dict(zip(REALISM_NAMES, ov.round(4).tolist())),
        )

    formed = calls.generate(engine, targets, s, form=DEFAULT_FORM)
    sets = [
        one_set(f"model, form {DEFAULT_FORM}", formed),
        one_set("model, through-composed", generated),
        one_set("Markov baseline", markov),
    ]
    real_jumps = np.concatenate([j for j in (bar_jumps(x) for x in real) if j is not None])
    joins = seam_joins(engine, clips[: s.seam_pieces], s)
    seams = [
        SeamResult(
            name=name,
            n=len(rows),
            median_percentile=dict(
                zip(JUMP_NAMES, np.median(seam_percentiles(np.asarray(rows), real_jumps), 0))
            ),
        )
        for name, rows in (
            ("continue", joins["continue"]),
            ("fill", joins["fill"]),
            ("real splices (two clips joined)", list(splice_seams(real, s.bars))),
        )
        if rows
    ]
    return StructureResult(
        n_real=len(real_table),
        real_vs_real_overlap=float(rvr.mean()),
        real_vs_real_auc=rvr_auc,
        bar_repetition_iqr=np.percentile(real_table[:, repetition], [25, 75]).tolist(),
        sets=sets,
        seams=seams,
    )


def seam_joins(engine, clips: list[Song], s: EvaluationSettings) -> dict[str, list[np.ndarray]]:
    """The jumps (structure.bar_jumps rows) at the joins continue and fill make: each clip's second
    half continued from its first (one join), and up to four bars in its middle filled with a bar
    kept on each side (two joins)."""
    from emostudio.evaluation.structure import bar_jumps

    joins: dict[str, list[np.ndarray]] = {"continue": [], "fill": []}
    for clip in clips:
        n = clip.n_bars
        if n < 2:
            continue
        half = n // 2
        cont = bar_jumps(calls.continue_piece(engine, clip.slice_bars(0, half), n - half, s))
        if cont is not None and len(cont) >= half:
            joins["continue"].append(cont[half - 1])
        first, last = max(1, half - 2), min(n - 2, half + 1)
        if first > last:
            continue
        filled = bar_jumps(calls.fill(engine, clip, first, last, s))
        if filled is not None and len(filled) > last:
            joins["fill"] += [filled[first - 1], filled[last]]
    return joins


def copy_stage(
    index: TrainingIndex, generated: list[Song], real: list[Song], limit: int
) -> CopyResult:
    """The longest run each piece shares with a training piece (and how many exceed ``limit``
    bars); real held-out pieces give the baseline of chance overlap."""
    copies = [longest_copy(song, index) for song in generated]
    gen = [c.longest_bars for c in copies]
    ref = [longest_copy(song, index).longest_bars for song in real]
    return CopyResult(
        n_training_pieces=index.n_pieces,
        generated_max_bars=max(gen, default=0),
        generated_median_bars=float(np.median(gen)) if gen else 0.0,
        generated_over_target=int(sum(b > limit for b in gen)),
        generated_max_notes=max((c.longest_notes for c in copies), default=0),
        real_test_max_bars=max(ref, default=0),
        real_test_median_bars=float(np.median(ref)) if ref else 0.0,
        real_test_over_target=int(sum(b > limit for b in ref)),
        n_generated=len(gen),
        n_real=len(ref),
    )
