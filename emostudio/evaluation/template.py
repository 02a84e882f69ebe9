"""The evaluation report's markdown, rendered from :class:`EvaluationResults` alone.

The report is a header, then the numbered sections of :data:`SECTIONS` in order: each is a title
and a block function ``(results, fig) -> lines`` (``fig`` turns a figure's file name into its
link). Adding a section is one block function and one entry in :data:`SECTIONS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from emostudio.emotion import QUADRANT_NAMES
from emostudio.evaluation.descriptors import DESCRIPTOR_NAMES
from emostudio.evaluation.results import EvaluationResults

Fig = Callable[[str], str]
Block = Callable[[EvaluationResults, Fig], list[str]]


def _f(x: float) -> str:
    return f"{x:.3f}"


def _bars(n: int) -> str:
    return f"{n} bar" if n == 1 else f"{n} bars"


def _met(ok: bool) -> str:
    return "**yes**" if ok else "no"


def _rises(values: list[float]) -> tuple[bool, bool]:
    """(the last value is above the first, no value is below the one before)."""
    return values[-1] > values[0], all(b >= a for a, b in itertools.pairwise(values))


def header(r: EvaluationResults) -> list[str]:
    s = r.settings
    step = r.model_validation.get("step")
    validated = f" (validation metrics from training step {step})" if step is not None else ""
    later_settings = (  # settings that results written before them do not hold
        "" if r.rhythm_persistence is None else f"rhythm persistence {r.rhythm_persistence}, "
    )
    if r.latent_draws is not None:
        later_settings += f"the most typical of {r.latent_draws} latent draws, "
    if r.cadence:
        later_settings += (
            f"phrase ends on their cadence chord over the last {r.cadence:g} of a bar, "
        )
    if r.bass:
        later_settings += f"bass bias {r.bass:g}, "
    return [
        "# Evaluation",
        "",
        f"Model: `{r.model}`{validated}. Settings: {s.pieces_per_quadrant} generated pieces per "
        f"quadrant of {s.bars} bars, temperature {s.temperature}, top-p {s.top_p}, "
        f"latent temperature {r.latent_temperature}, latent continuity {r.continuity}, "
        f"{later_settings}latents drawn from the {r.prior} prior, seed {s.seed}. Run time {r.seconds / 60:.1f} min. "
        "Produced by `emostudio evaluate`, which writes this file and `results.json` beside it; "
        "every number below is measured by that run (`emostudio evaluate --render-only "
        "results.json` renders this file again from it).",
    ]


def summary(r: EvaluationResults, fig: Fig) -> list[str]:
    t, g, tr, cp = r.settings.targets, r.generation, r.transfer, r.copy
    p = r.sweep.p_quadrant
    rises, monotonic = _rises(p)
    return [
        "| target | measured | met? |",
        "|---|---|---|",
        f"| generated music, quadrant ≥ {t.generated_quadrant:.2f} | {_f(g.quadrant)} | "
        f"{_met(g.quadrant >= t.generated_quadrant)} |",
        f"| generated music, arousal ≥ {t.generated_arousal:.2f} | {_f(g.arousal)} | "
        f"{_met(g.arousal >= t.generated_arousal)} |",
        f"| generated music, valence ≥ {t.generated_valence:.2f} | {_f(g.valence)} | "
        f"{_met(g.valence >= t.generated_valence)} |",
        f"| transfer at λ = 1, quadrant ≥ {t.transfer_quadrant:.2f} | {_f(tr.quadrant)} "
        f"({_f(tr.quadrant_changed_targets)} on changed targets) | "
        f"{_met(tr.quadrant >= t.transfer_quadrant)} |",
        f"| judged target probability rising with λ | {_f(p[0])} → {_f(p[-1])}"
        f"{', monotonically' if monotonic else ', not monotonically'} | {_met(rises and monotonic)} |",
        f"| no piece copying more than {t.copy_max_bars} bars | longest shared run "
        f"{_bars(cp.generated_max_bars)} (held-out real pieces: up to {cp.real_test_max_bars}) | "
        f"{_met(cp.generated_max_bars <= t.copy_max_bars)} |",
    ]


def judge(r: EvaluationResults, fig: Fig) -> list[str]:
    j = r.judge
    return [
        f"Logistic regressions on {len(DESCRIPTOR_NAMES)} musical descriptors, trained on the "
        f"{j.n_train} clips of EMOPIA's training split only; accuracy on the {j.test.n} held-out "
        "test clips (song-level split):",
        "",
        "| | quadrant (4-way) | arousal | valence |",
        "|---|---|---|---|",
        f"| this judge, EMOPIA test split | {_f(j.test.quadrant)} | {_f(j.test.arousal)} | "
        f"{_f(j.test.valence)} |",
        f"| EMOPIA's published MIDI classifier | {j.published['quadrant']} | "
        f"{j.published['arousal']} | {j.published['valence']} |",
    ]


def generation(r: EvaluationResults, fig: Fig) -> list[str]:
    g, t = r.generation, r.settings.targets
    lines = [
        f"{g.n} pieces ({g.n_empty} empty ones left out), generated in {g.seconds:.0f} s. "
        f"Targets: arousal ≥ {t.generated_arousal:.2f}, valence ≥ {t.generated_valence:.2f}, "
        f"quadrant ≥ {t.generated_quadrant:.2f}.",
        "",
        "| target | n | quadrant | arousal | valence |",
        "|---|---|---|---|---|",
    ]
    for q, v in g.per_quadrant.items():
        lines.append(
            f"| Q{q} {QUADRANT_NAMES[q]} | {v.n} | {_f(v.quadrant)} | {_f(v.arousal)} | "
            f"{_f(v.valence)} |"
        )
    lines += [
        f"| **all** | {g.n} | **{_f(g.quadrant)}** | **{_f(g.arousal)}** | **{_f(g.valence)}** |",
        "",
        "| dimension | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for dim, p in (("arousal", g.arousal_prf), ("valence", g.valence_prf)):
        lines.append(
            f"| {dim} (high = positive) | {_f(p.precision)} | {_f(p.recall)} | {_f(p.f1)} |"
        )
    return [*lines, "", f"![generation confusion matrix]({fig('confusion_generation.png')})"]


def transfer(r: EvaluationResults, fig: Fig) -> list[str]:
    t = r.transfer
    return [
        f"{t.n // 4} held-out EMOPIA test clips (first {r.settings.bars} bars) transferred to each "
        f"of the four quadrants ({t.n} transfers). Judged = target: **{_f(t.quadrant)}** over all "
        f"targets, **{_f(t.quadrant_changed_targets)}** over the {t.n_changed} targets that differ "
        "from the clip's own quadrant (the untouched clips are judged as those targets in "
        f"{_f(t.source_judged_as_target_baseline)}). Arousal {_f(t.arousal)}, valence "
        f"{_f(t.valence)}. Target: quadrant ≥ {r.settings.targets.transfer_quadrant:.2f}.",
        "",
        f"![transfer confusion matrix]({fig('confusion_transfer.png')})",
    ]


def sweep(r: EvaluationResults, fig: Fig) -> list[str]:
    sw = r.sweep
    lines = [
        f"Test clips transferred to the three other quadrants ({r.settings.sweep_pieces} clips), "
        "mean judged probability of the target:",
        "",
        "| λ | P(target quadrant) | P(target arousal) | P(target valence) | judged = target |",
        "|---|---|---|---|---|",
    ]
    for i, lam in enumerate(sw.strengths):
        lines.append(
            f"| {lam:g} | {_f(sw.p_quadrant[i])} | {_f(sw.p_arousal[i])} | "
            f"{_f(sw.p_valence[i])} | {_f(sw.accuracy[i])} |"
        )
    p = sw.p_quadrant
    rises, monotonic = _rises(p)
    how = "monotonically" if monotonic else "not monotonically: it dips somewhere in between"
    return [
        *lines,
        "",
        f"P(target quadrant) {'rises' if rises else 'does not rise'} from {_f(p[0])} at λ = 0 to "
        f"{_f(p[-1])} at λ = 1 ({how}).",
        "",
        f"![strength sweep]({fig('strength_sweep.png')})",
    ]


def fidelity(r: EvaluationResults, fig: Fig) -> list[str]:
    fd = r.fidelity
    if fd is None:
        return []  # results written before the section existed: no section
    lines = [
        f"{fd.n_pieces} test clips, each to the three quadrants other than its own, at each λ, by "
        "each method: **edit** (shipped: the rules edit the piece's notes, the model recognises the "
        "source and every moved axis moves at least a floor towards the target), **rules** (the plain "
        "rules, the model's recognition as the "
        "source: the baseline) and **rewrite** (the moved latents decoded with the clip as "
        "template). Judged by the reference judge; fidelity per bar against the source, averaged "
        "(pc cosine, valence kept: over the targets with the source's valence).",
        "",
        "| method | λ | transfers | judged = target | P(target) | contour | pc cosine | "
        "pc cosine, valence kept | onset similarity | note F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in fd.rows:
        lines.append(
            f"| {row.method} | {row.strength:g} | {row.n} | {_f(row.quadrant)} | "
            f"{_f(row.p_target)} | {_f(row.contour)} | {_f(row.pc_cosine)} | "
            f"{_f(row.pc_cosine_valence_kept)} | {_f(row.onset_similarity)} | {_f(row.note_f1)} |"
        )
    by = {(row.method, row.strength): row for row in fd.rows}
    notes = []
    edit, rules = by.get(("edit", 1.0)), by.get(("rules", 1.0))
    if edit is not None and rules is not None:
        keeps = [
            edit.contour >= 0.6,
            edit.onset_similarity >= 0.8,
            edit.pc_cosine_valence_kept >= 0.85,
        ]
        notes.append(
            f"At λ = 1 the edit reaches judged target {_f(edit.quadrant)} (rules "
            f"{_f(rules.quadrant)}; issue 12's target ≥ 0.75: {_met(edit.quadrant >= 0.75)}), "
            f"contour {_f(edit.contour)} (≥ 0.6), onsets {_f(edit.onset_similarity)} (≥ 0.8), "
            f"pc cosine with valence kept {_f(edit.pc_cosine_valence_kept)} (≥ 0.85): fidelity "
            f"targets {_met(all(keeps))}."
        )
    zero = [row.note_f1 for row in fd.rows if row.strength == 0.0]
    if zero:
        notes.append(f"At λ = 0 note F1 is {_f(min(zero))} for every method (the input itself).")
    ea, eb = fd.rhythm_from, fd.key_from
    return [
        *lines,
        "",
        *notes,
        "",
        f"![fidelity against judged emotion]({fig('fidelity.png')})",
        "",
        f"Element transfer on {fd.n_pairs} pairs (A, B) of test clips: A with B's rhythm latents "
        "(`--rhythm-from`) or B's key latents (`--key-from`), A's other latents kept, decoded with "
        "A as template. Onsets should follow the rhythm's donor and pitch classes the key's.",
        "",
        "| taken from B | onsets vs A | onsets vs B | pc cosine vs A | pc cosine vs B | "
        "onsets closer to B | pc closer to B |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {_f(e.onsets_A)} | {_f(e.onsets_B)} | {_f(e.pc_cosine_A)} | "
            f"{_f(e.pc_cosine_B)} | {_f(e.onsets_closer_to_B)} | {_f(e.pc_closer_to_B)} |"
            for name, e in (("rhythm", ea), ("key", eb))
        ),
    ]


def swap(r: EvaluationResults, fig: Fig) -> list[str]:
    sp = r.swap
    lines = [
        f"{sp.n_pairs} pairs (A, B) of test clips. Decoded (z_r of B, z_k of A) and (z_r of A, "
        "z_k of B); cosine similarity of the result's polyphony (notes per sub-beat) and key "
        "(pitch-class profile per bar) features with A's and B's. Swapping z_r should move "
        "polyphony to B and keep the key with A; swapping z_k the opposite. The reconstruction "
        "(both latents of A) is the reference.",
        "",
        "| decoded | polyphony cos A | polyphony cos B | key cos A | key cos B | "
        "polyphony closer to B | key closer to B |",
        "|---|---|---|---|---|---|---|",
    ]
    for v, label in (
        (sp.reconstruct, "z_r A, z_k A"),
        (sp.swap_r, "z_r **B**, z_k A"),
        (sp.swap_k, "z_r A, z_k **B**"),
    ):
        lines.append(
            f"| {label} | {_f(v.polyphony_cos_A)} | {_f(v.polyphony_cos_B)} | "
            f"{_f(v.key_cos_A)} | {_f(v.key_cos_B)} | {_f(v.polyphony_closer_to_B)} | "
            f"{_f(v.key_closer_to_B)} |"
        )
    return lines


def recognition(r: EvaluationResults, fig: Fig) -> list[str]:
    rec = r.recognition
    return [
        f"q(y|x) of the model on the {rec.n} transferred test clips (first {r.settings.bars} "
        f"bars): quadrant {_f(rec.quadrant)}, arousal {_f(rec.arousal)}, valence "
        f"{_f(rec.valence)}. Distance between the component means: z_r "
        f"{rec.component_distance_r:.2f}, z_k {rec.component_distance_k:.2f}.",
        "",
        f"![latent space]({fig('latent_space.png')})",
    ]


def realism(r: EvaluationResults, fig: Fig) -> list[str]:
    lines = [
        f"Generated pieces against {r.realism.n_real} held-out real pieces (all sources, first "
        f"{r.settings.bars} bars). Overlap: shared area of the two histograms (1 = same "
        "distribution).",
        "",
        "| metric | generated mean ± sd | real mean ± sd | overlap |",
        "|---|---|---|---|",
    ]
    for c in r.realism.metrics:
        lines.append(
            f"| {c.name.replace('_', ' ')} | {c.generated_mean:.2f} ± {c.generated_std:.2f} | "
            f"{c.real_mean:.2f} ± {c.real_std:.2f} | {c.overlap:.2f} |"
        )
    return lines


def structure(r: EvaluationResults, fig: Fig) -> list[str]:
    st = r.structure
    if not st.sets:
        return []  # a run from before this section: the section is left out
    iqr = " – ".join(f"{x:.3f}" for x in st.bar_repetition_iqr)
    lines = [
        f"Against {st.n_real} held-out EMOPIA clips (first {r.settings.bars} bars), over the "
        "judge's scalar descriptors and the structure descriptors (bar repetition, groove "
        "consistency, empty beats, scale consistency, bass presence, consonance, top-voice leap, "
        "pitch-class transition entropy): the mean overlapping area of each descriptor's "
        "distributions (Gaussian KDE; 1 = the same), a random forest's cross-validated AUC telling "
        "the set from the real clips (0.5 = indistinguishable), the median share of bars that "
        f"repeat an earlier bar (real music's interquartile range: {iqr}) and the judged emotion. "
        f"Two random halves of the real clips: overlap {st.real_vs_real_overlap:.3f}, AUC "
        f"{st.real_vs_real_auc:.3f}.",
        "",
        "| set | n | mean overlap | AUC | bar repetition | quadrant | arousal | valence |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in st.sets:
        lines.append(
            f"| {x.name} | {x.n} | {x.overlap_mean:.3f} | {x.auc:.3f} | "
            f"{x.bar_repetition_median:.3f} | {_f(x.quadrant)} | {_f(x.arousal)} | "
            f"{_f(x.valence)} |"
        )
    if st.seams:
        names = list(st.seams[0].median_percentile)
        lines += [
            "",
            "Seams: the median percentile of each join's jump among the jumps between "
            "neighbouring bars of the real clips (50 = an ordinary bar change; higher = a "
            "bigger jump). Continue: each clip's second half continued from its first; fill: four "
            "bars in its middle re-written (both joins).",
            "",
            "| joins | n | " + " | ".join(n.replace("_", " ") for n in names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for seam in st.seams:
            values = " | ".join(f"{seam.median_percentile[n]:.0f}" for n in names)
            lines.append(f"| {seam.name} | {seam.n} | {values} |")
    return lines


def copying(r: EvaluationResults, fig: Fig) -> list[str]:
    cp, limit = r.copy, r.settings.targets.copy_max_bars
    return [
        "Longest run of notes (8-note interval n-grams chained; an upper bound) that a piece "
        f"shares with any of the {cp.n_training_pieces} training pieces, in bars. Target: no "
        f"piece copying more than {limit} bars.",
        "",
        f"| pieces | n | max bars | median bars | pieces over {limit} bars |",
        "|---|---|---|---|---|",
        f"| generated | {cp.n_generated} | {cp.generated_max_bars} | "
        f"{cp.generated_median_bars:g} | {cp.generated_over_target} |",
        f"| real held-out (baseline) | {cp.n_real} | {cp.real_test_max_bars} | "
        f"{cp.real_test_median_bars:g} | {cp.real_test_over_target} |",
    ]


#: The report's sections in order: (title, block).
SECTIONS: tuple[tuple[str, Block], ...] = (
    ("Summary against the targets", summary),
    ("The reference judge", judge),
    ("Emotion of generated music (judged)", generation),
    ("Transfer at strength 1", transfer),
    ("Judged target probability vs strength λ", sweep),
    ("Fidelity: what a transfer keeps of the piece (issue 12)", fidelity),
    ("Latent swap (disentanglement, MODEL.md §5)", swap),
    ("The model's own recognition and its latent space", recognition),
    ("Realism: generated vs real", realism),
    ("Structure: form, the Markov baseline, seams", structure),
    ("Copy check", copying),
)


def render_markdown(results: EvaluationResults, figures: str = ".") -> str:
    """The report; ``figures`` is the folder of the PNGs relative to the markdown file."""

    def fig(name: str) -> str:
        return name if figures == "." else f"{figures}/{name}"

    lines = header(results)
    blocks = [(title, block(results, fig)) for title, block in SECTIONS]
    shown = [(title, body) for title, body in blocks if body]  # an empty block: no section
    for number, (title, body) in enumerate(shown, start=1):
        lines += ["", f"## {number}. {title}", "", *body]
    return "\n".join(lines) + "\n"
