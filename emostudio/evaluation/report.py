"""The evaluation of a model (MODEL.md section 5), run by ``emostudio evaluate``.

:func:`evaluate` is a generator: it yields :class:`Progress` events and ends with one
:class:`EvaluationDone`. Steps:

1. **Judge**: load it, or train it on EMOPIA's labelled training split; score it on the held-out
   test split next to EMOPIA's published MIDI classifier.
2. **Generated music**: ``pieces_per_quadrant`` pieces of ``bars`` bars per quadrant, judged:
   accuracy per quadrant and per dimension, precision/recall/F1, a 4x4 confusion matrix.
3. **Transfer** at strength 1 of held-out EMOPIA test clips (their first ``bars`` bars) to each
   quadrant: a 4x4 confusion matrix of target vs verdict, and the accuracy over the targets that
   differ from the clip's own quadrant.
4. **Strength sweep**: the judged probability of the target quadrant (and of its arousal and
   valence) at strengths 0, .25, .5, .75, 1.
5. **Latent swap** (disentanglement): decode (z_r of B, z_k of A) and (z_r of A, z_k of B) for
   pairs of test clips and compare the result's polyphony and key features with A's and B's by
   cosine similarity; the swapped feature should follow B, the other stay with A.
6. **Recognition**: the model's own q(y|x) on the test clips, and the latent space with the
   component means (a PCA plot).
7. **Realism**: pitch range, polyphony, rhythm density, pitch-class entropy of the generated
   pieces against held-out real pieces (all sources, first ``bars`` bars).
8. **Copy check**: the longest run of notes each generated piece shares with any training piece
   (all sources), in bars; real held-out pieces give the baseline of chance overlap.

Outputs (written to a temporary folder and moved into place at the end, so a failed run leaves
nothing half-written): ``EVALUATION.md``, ``results.json``, ``judge.json`` and PNG figures.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emostudio.atomic import atomic_write
from emostudio.decoding import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from emostudio.emotion import QUADRANT_NAMES, Emotion
from emostudio.evaluation.copying import TrainingIndex, longest_copy
from emostudio.evaluation.data import EvaluationCorpus
from emostudio.evaluation.descriptors import DESCRIPTOR_NAMES, describe_many
from emostudio.evaluation.judge import EMOPIA_PUBLISHED, EmotionJudge, Verdicts, score
from emostudio.evaluation.realism import compare
from emostudio.midi.song import Song
from emostudio.progress import Progress
from emostudio.tokens.features import bar_chroma, polyphony

log = logging.getLogger(__name__)

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
QUADRANTS = (1, 2, 3, 4)


@dataclass(frozen=True)
class EvaluationSettings:
    pieces_per_quadrant: int = 100
    bars: int = 16
    transfer_pieces: int = 0  # EMOPIA test clips transferred at strength 1 (0: all)
    sweep_pieces: int = 24  # clips in the strength sweep (each to the three other quadrants)
    swap_pairs: int = 40
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    seed: int = 0
    batch_size: int = 64


@dataclass(frozen=True)
class EvaluationDone:
    results: dict
    files: list[Path] = field(default_factory=list)


def evaluate(
    engine,
    corpus: EvaluationCorpus,
    out_dir: str | Path,
    judge_path: str | Path | None = None,
    settings: EvaluationSettings = EvaluationSettings(),
    markdown_path: str | Path | None = None,
) -> Iterator[Progress | EvaluationDone]:
    """Run the whole evaluation (see the module docstring); the last event is :class:`EvaluationDone`."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    started = time.monotonic()
    try:
        results: dict = {
            "settings": asdict(settings),
            "continuity": engine.continuity,
            "latent_temperature": engine.latent_temperature,
            "prior": engine.prior_kind,
            "model": str(engine.model_dir),
            "model_validation": _model_metrics(engine.model_dir),
        }
        rng = np.random.default_rng(settings.seed)

        # 1. the judge ----------------------------------------------------------------------------
        yield Progress("judge", "reading EMOPIA clips")
        train = corpus.pieces("train", labelled_only=True, sources=("emopia",))
        test = corpus.pieces("test", labelled_only=True, sources=("emopia",))
        if not train or not test:
            raise ValueError("the corpus has no labelled EMOPIA clips in its train and test splits")
        if judge_path is not None and Path(judge_path).is_file():
            judge = EmotionJudge.load(judge_path)
            yield Progress("judge", f"loaded {judge_path}")
        else:
            features, kept = describe_many([p.song for p in train])
            judge = EmotionJudge.train(features, np.array([train[i].file.quadrant for i in kept]))
            yield Progress("judge", f"trained on {len(kept)} EMOPIA training clips")
        judge.save(work / "judge.json")
        verdicts, kept = judge.judge([p.song for p in test])
        judge_scores = score(verdicts, np.array([test[i].file.quadrant for i in kept]))
        results["judge"] = {
            "test": asdict(judge_scores),
            "published": EMOPIA_PUBLISHED,
            "n_train": judge.n_train,
        }
        yield Progress(
            "judge",
            f"held-out accuracy: quadrant {judge_scores.quadrant:.3f}, "
            f"arousal {judge_scores.arousal:.3f}, valence {judge_scores.valence:.3f}",
        )

        # 2. generated music ----------------------------------------------------------------------
        targets = [q for q in QUADRANTS for _ in range(settings.pieces_per_quadrant)]
        yield Progress("generate", f"generating {len(targets)} pieces of {settings.bars} bars")
        t0 = time.monotonic()
        generated = engine.generate_many(
            [Emotion.from_quadrant(q) for q in targets],
            bars=settings.bars,
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=settings.seed,
            batch_size=settings.batch_size,
        )
        gen_seconds = time.monotonic() - t0
        verdicts, kept = judge.judge(generated)
        gen_targets = np.asarray(targets)[kept]
        results["generation"] = _emotion_accuracy(verdicts, gen_targets)
        results["generation"]["n_empty"] = len(generated) - len(kept)
        results["generation"]["seconds"] = gen_seconds
        _confusion_plot(
            results["generation"]["confusion"],
            "Generated music: target vs judged quadrant",
            work / "confusion_generation.png",
        )
        yield Progress(
            "generate",
            f"judged quadrant accuracy {results['generation']['quadrant']:.3f} "
            f"({gen_seconds:.0f} s)",
        )

        # 3. transfer at strength 1 -----------------------------------------------------------------
        clips = [p for p in test if p.song.n_bars >= 2]
        if settings.transfer_pieces:
            clips = [
                clips[i]
                for i in sorted(
                    rng.choice(len(clips), min(settings.transfer_pieces, len(clips)), replace=False)
                )
            ]
        cut = [
            (p.song.slice_bars(0, min(settings.bars, p.song.n_bars)), p.file.quadrant)
            for p in clips
        ]
        cut = [(song, q) for song, q in cut if song.note_count > 0]
        sources = [song for song, _ in cut]
        source_q = [q for _, q in cut]
        pairs = [(i, q) for i in range(len(sources)) for q in QUADRANTS]
        yield Progress("transfer", f"transferring {len(sources)} test clips to each quadrant")
        moved = engine.transfer_many(
            [sources[i] for i, _ in pairs],
            [Emotion.from_quadrant(q) for _, q in pairs],
            strength=1.0,
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=settings.seed,
            batch_size=settings.batch_size,
        )
        verdicts, kept = judge.judge(moved)
        t_targets = np.array([q for _, q in pairs])[kept]
        t_sources = np.array([source_q[i] for i, _ in pairs])[kept]
        transfer = _emotion_accuracy(verdicts, t_targets)
        changed = t_targets != t_sources
        transfer["quadrant_changed_targets"] = float(
            np.mean(verdicts.quadrant[changed] == t_targets[changed])
        )
        transfer["n_changed"] = int(changed.sum())
        src_verdicts, _ = judge.judge(sources)
        transfer["source_judged_as_target_baseline"] = float(
            np.mean(
                src_verdicts.quadrant[[i for i, _ in pairs]][kept][changed] == t_targets[changed]
            )
        )
        results["transfer"] = transfer
        _confusion_plot(
            transfer["confusion"],
            "Transfer at strength 1: target vs judged quadrant",
            work / "confusion_transfer.png",
        )
        yield Progress(
            "transfer",
            f"judged = target in {transfer['quadrant']:.3f} "
            f"({transfer['quadrant_changed_targets']:.3f} for changed targets)",
        )

        # 4. strength sweep -------------------------------------------------------------------------
        pick = rng.choice(len(sources), min(settings.sweep_pieces, len(sources)), replace=False)
        sweep_pairs = [(int(i), q) for i in pick for q in QUADRANTS if q != source_q[int(i)]]
        sweep = {
            "lambda": list(LAMBDAS),
            "p_quadrant": [],
            "p_arousal": [],
            "p_valence": [],
            "accuracy": [],
        }
        for lam in LAMBDAS:
            yield Progress("sweep", f"strength {lam:g}: {len(sweep_pairs)} transfers")
            out = engine.transfer_many(
                [sources[i] for i, _ in sweep_pairs],
                [Emotion.from_quadrant(q) for _, q in sweep_pairs],
                strength=lam,
                temperature=settings.temperature,
                top_p=settings.top_p,
                seed=settings.seed,
                batch_size=settings.batch_size,
            )
            v, kept = judge.judge(out)
            tq = np.array([q for _, q in sweep_pairs])[kept]
            v_high = np.isin(tq, (1, 4))
            a_high = np.isin(tq, (1, 2))
            sweep["p_quadrant"].append(float(np.mean(v.p_quadrant[np.arange(len(tq)), tq - 1])))
            sweep["p_arousal"].append(
                float(np.mean(np.where(a_high, v.p_arousal_high, 1 - v.p_arousal_high)))
            )
            sweep["p_valence"].append(
                float(np.mean(np.where(v_high, v.p_valence_high, 1 - v.p_valence_high)))
            )
            sweep["accuracy"].append(float(np.mean(v.quadrant == tq)))
        results["sweep"] = sweep
        _sweep_plot(sweep, work / "strength_sweep.png")

        # 5. latent swap ------------------------------------------------------------------------------
        yield Progress("swap", f"latent swap on {settings.swap_pairs} pairs of test clips")
        results["swap"] = _latent_swap(engine, sources, settings, rng)

        # 6. recognition and the latent space ---------------------------------------------------------
        yield Progress("recognise", f"recognising {len(sources)} test clips")
        results["recognition"] = _recognition(engine, sources, source_q, work / "latent_space.png")

        # 7. realism ---------------------------------------------------------------------------------
        yield Progress("realism", "reading held-out pieces of every source")
        real = [p.song.slice_bars(0, settings.bars) for p in corpus.pieces("test")]
        real = [s for s in real if s.note_count > 0]
        results["realism"] = [asdict(c) for c in compare(generated, real)]
        results["realism_n_real"] = len(real)

        # 8. copy check ------------------------------------------------------------------------------
        yield Progress("copy", "indexing every training piece")
        index = TrainingIndex(p.song for p in corpus.pieces("train"))
        gen_copies = [longest_copy(s, index) for s in generated]
        real_copies = [longest_copy(s, index) for s in real]
        results["copy"] = {
            "n_training_pieces": index.n_pieces,
            "generated_max_bars": max((c.longest_bars for c in gen_copies), default=0),
            "generated_median_bars": float(np.median([c.longest_bars for c in gen_copies]))
            if gen_copies
            else 0.0,
            "generated_over_4_bars": int(sum(c.longest_bars > 4 for c in gen_copies)),
            "generated_max_notes": max((c.longest_notes for c in gen_copies), default=0),
            "real_test_max_bars": max((c.longest_bars for c in real_copies), default=0),
            "real_test_median_bars": float(np.median([c.longest_bars for c in real_copies]))
            if real_copies
            else 0.0,
            "real_test_over_4_bars": int(sum(c.longest_bars > 4 for c in real_copies)),
            "n_generated": len(gen_copies),
            "n_real": len(real_copies),
        }
        results["seconds"] = time.monotonic() - started

        (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (work / "EVALUATION.md").write_text(render_markdown(results))  # figures beside it
        files = _move_into_place(work, out_dir)
        if markdown_path is not None:  # the same report, its figure links relative to where it goes
            target = Path(markdown_path)
            atomic_write(target, render_markdown(results, os.path.relpath(out_dir, target.parent)))
            files.append(target)
        yield EvaluationDone(results, files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- measures ---------------------------------------------------------------------------------------
def _model_metrics(model_dir: Path) -> dict:
    """The validation metrics stored in the model folder (training step, accuracies), if any."""
    from emostudio.model.store import ModelLoadError, read_metrics

    try:
        return read_metrics(model_dir)
    except ModelLoadError:
        return {}


def _emotion_accuracy(verdicts: Verdicts, targets: np.ndarray) -> dict:
    """Accuracy per quadrant and dimension, precision/recall/F1 of each dimension, confusion [4, 4]."""
    from sklearn.metrics import precision_recall_fscore_support

    targets = np.asarray(targets)
    a_true = np.isin(targets, (1, 2))
    v_true = np.isin(targets, (1, 4))
    confusion = np.zeros((4, 4), dtype=np.int64)
    for t, j in zip(targets, verdicts.quadrant):
        confusion[t - 1, j - 1] += 1
    out = {
        "n": len(targets),
        "quadrant": float(np.mean(verdicts.quadrant == targets)),
        "arousal": float(np.mean(verdicts.arousal_high == a_true)),
        "valence": float(np.mean(verdicts.valence_high == v_true)),
        "per_quadrant": {},
        "confusion": confusion.tolist(),
    }
    for q in QUADRANTS:
        m = targets == q
        if m.any():
            out["per_quadrant"][str(q)] = {
                "quadrant": float(np.mean(verdicts.quadrant[m] == q)),
                "arousal": float(np.mean(verdicts.arousal_high[m] == a_true[m])),
                "valence": float(np.mean(verdicts.valence_high[m] == v_true[m])),
                "n": int(m.sum()),
            }
    for name, truth, guess in (
        ("arousal", a_true, verdicts.arousal_high),
        ("valence", v_true, verdicts.valence_high),
    ):
        p, r, f, _ = precision_recall_fscore_support(
            truth, guess, average="binary", zero_division=0
        )
        out[f"{name}_prf"] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return out


def feature_vectors(song: Song, n_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """(polyphony per sub-beat [16 n_bars], duration-weighted pitch-class profile per bar [12 n_bars])."""
    return polyphony(song, n_bars).astype(np.float64).ravel(), bar_chroma(song, n_bars).ravel()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def _latent_swap(engine, sources: list[Song], settings: EvaluationSettings, rng) -> dict:
    """MODEL.md section 5: swap one latent between A and B; which piece do the features follow?"""
    n = len(sources)
    pairs = [
        tuple(int(i) for i in rng.choice(n, 2, replace=False))
        for _ in range(min(settings.swap_pairs, n * (n - 1)))
    ]
    jobs, features = [], []  # jobs: (variant, z_r, z_k); features: per pair (A's, B's, bars)
    for a, b in pairs:
        bars = min(sources[a].n_bars, sources[b].n_bars)
        A, B = sources[a].slice_bars(0, bars), sources[b].slice_bars(0, bars)
        if A.note_count == 0 or B.note_count == 0:
            continue
        ea, eb = engine.encode(A), engine.encode(B)
        features.append((feature_vectors(A, bars), feature_vectors(B, bars), bars))
        jobs += [
            ("reconstruct", ea.z_r[:bars], ea.z_k[:bars]),
            ("swap_r", eb.z_r[:bars], ea.z_k[:bars]),
            ("swap_k", ea.z_r[:bars], eb.z_k[:bars]),
        ]
    songs = engine.decode_many(
        [(z_r, z_k) for _, z_r, z_k in jobs],
        temperature=settings.temperature,
        top_p=settings.top_p,
        seed=settings.seed,
        batch_size=settings.batch_size,
    )
    rows: dict[str, list] = {"swap_r": [], "swap_k": [], "reconstruct": []}
    for k, ((name, _, _), song) in enumerate(zip(jobs, songs)):
        fa, fb, bars = features[k // 3]
        fr = feature_vectors(song, bars)
        rows[name].append(
            [
                _cosine(fr[0], fa[0]),
                _cosine(fr[0], fb[0]),
                _cosine(fr[1], fa[1]),
                _cosine(fr[1], fb[1]),
            ]
        )
    out = {"n_pairs": len(features)}
    for name, values in rows.items():
        v = np.asarray(values, dtype=np.float64).reshape(-1, 4)
        out[name] = {
            "polyphony_cos_A": float(v[:, 0].mean()),
            "polyphony_cos_B": float(v[:, 1].mean()),
            "key_cos_A": float(v[:, 2].mean()),
            "key_cos_B": float(v[:, 3].mean()),
            "polyphony_closer_to_B": float(np.mean(v[:, 1] > v[:, 0])),
            "key_closer_to_B": float(np.mean(v[:, 3] > v[:, 2])),
        }
    return out


def _recognition(engine, sources: list[Song], quadrants: list[int], plot_path: Path) -> dict:
    """The model's own q(y|x) on labelled clips, and a PCA plot of their latents with the component means."""
    probs, z_r, z_k = [], [], []
    for song in sources:
        code = engine.encode(song)
        probs.append((code.q_arousal[1], code.q_valence[1]))
        z_r.append(code.z_r.mean(axis=0))
        z_k.append(code.z_k.mean(axis=0))
    probs = np.asarray(probs)
    q = np.asarray(quadrants)
    a_true, v_true = np.isin(q, (1, 2)), np.isin(q, (1, 4))
    a_hat, v_hat = probs[:, 0] >= 0.5, probs[:, 1] >= 0.5
    quadrant_hat = np.where(a_hat, np.where(v_hat, 1, 2), np.where(v_hat, 4, 3))
    means_r = engine.model.prior_r.means.detach().cpu().numpy()
    means_k = engine.model.prior_k.means.detach().cpu().numpy()
    _latent_plot(np.asarray(z_r), np.asarray(z_k), a_true, v_true, means_r, means_k, plot_path)
    return {
        "n": len(q),
        "arousal": float(np.mean(a_hat == a_true)),
        "valence": float(np.mean(v_hat == v_true)),
        "quadrant": float(np.mean(quadrant_hat == q)),
        "component_distance_r": float(np.linalg.norm(means_r[1] - means_r[0])),
        "component_distance_k": float(np.linalg.norm(means_k[1] - means_k[0])),
    }


# ---- figures ------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _confusion_plot(confusion: list[list[int]], title: str, path: Path) -> None:
    plt = _pyplot()
    m = np.asarray(confusion, dtype=np.float64)
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    labels = [f"Q{q} {QUADRANT_NAMES[q]}" for q in QUADRANTS]
    ax.set_xticks(range(4), labels, rotation=30, ha="right")
    ax.set_yticks(range(4), labels)
    ax.set_xlabel("judged")
    ax.set_ylabel("target")
    for i in range(4):
        for j in range(4):
            ax.text(
                j,
                i,
                f"{rows[i, j]:.2f}\n({int(m[i, j])})",
                ha="center",
                va="center",
                color="white" if rows[i, j] > 0.5 else "black",
                fontsize=8,
            )
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sweep_plot(sweep: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (
        ("p_quadrant", "P(target quadrant)"),
        ("p_arousal", "P(target arousal)"),
        ("p_valence", "P(target valence)"),
        ("accuracy", "judged = target"),
    ):
        ax.plot(sweep["lambda"], sweep[key], marker="o", label=label)
    ax.set_xlabel("strength λ")
    ax.set_ylabel("judge")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Transfer: judged target probability vs strength", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latent_plot(z_r, z_k, a_true, v_true, means_r, means_k, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, z, labels, means, title, names in (
        (axes[0], z_r, a_true, means_r, "z_r (arousal mixture)", ("low arousal", "high arousal")),
        (axes[1], z_k, v_true, means_k, "z_k (valence mixture)", ("low valence", "high valence")),
    ):
        both = np.concatenate([z, means])
        centre = both.mean(axis=0)
        _, _, vt = np.linalg.svd(both - centre, full_matrices=False)
        proj = (z - centre) @ vt[:2].T
        mproj = (means - centre) @ vt[:2].T
        for value, colour, name in ((False, "tab:blue", names[0]), (True, "tab:red", names[1])):
            sel = labels == value
            ax.scatter(
                proj[sel, 0], proj[sel, 1], s=12, alpha=0.6, c=colour, label=f"clips: {name}"
            )
        for k, colour in enumerate(("tab:blue", "tab:red")):
            ax.scatter(
                mproj[k, 0],
                mproj[k, 1],
                s=180,
                marker="*",
                c=colour,
                edgecolors="black",
                label=f"component mean: {names[k]}",
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.legend(fontsize=7)
    fig.suptitle("Latent space of held-out EMOPIA clips (mean over bars), PCA", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _move_into_place(work: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for item in sorted(work.iterdir()):
        os.replace(item, out_dir / item.name)
        files.append(out_dir / item.name)
    return files


# ---- markdown -------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x:.3f}"


def render_markdown(r: dict, figures: str = ".") -> str:
    """The report as markdown; ``figures`` is the folder of the PNGs relative to the markdown file."""
    fig = (lambda name: f"{figures}/{name}") if figures != "." else (lambda name: name)
    s = r["settings"]
    j, g, t, sw, sp, rec, cp = (
        r[k] for k in ("judge", "generation", "transfer", "sweep", "swap", "recognition", "copy")
    )
    step = r.get("model_validation", {}).get("step")
    trained = f" (trained {step} steps)" if step is not None else ""
    lines = [
        "# Evaluation",
        "",
        f"Model: `{r['model']}`{trained}. Settings: {s['pieces_per_quadrant']} generated pieces per quadrant of "
        f"{s['bars']} bars, temperature {s['temperature']}, top-p {s['top_p']}, "
        f"latent temperature {r.get('latent_temperature', 1.0)}, latent continuity {r.get('continuity', 0.0)}, "
        f"latents drawn from the {r.get('prior', 'learned')} prior, "
        f"seed {s['seed']}. "
        f"Run time {r['seconds'] / 60:.1f} min. Produced by `emostudio evaluate`; every number below "
        "is measured by that run.",
        "",
        "## 1. The reference judge",
        "",
        f"Logistic regressions on {len(DESCRIPTOR_NAMES)} musical descriptors, trained on the {j['n_train']} clips of EMOPIA's training split only; "
        f"accuracy on the {j['test']['n']} held-out test clips (song-level split):",
        "",
        "| | quadrant (4-way) | arousal | valence |",
        "|---|---|---|---|",
        f"| this judge, EMOPIA test split | {_pct(j['test']['quadrant'])} | {_pct(j['test']['arousal'])} | "
        f"{_pct(j['test']['valence'])} |",
        f"| EMOPIA's published MIDI classifier | {j['published']['quadrant']} | {j['published']['arousal']} | "
        f"{j['published']['valence']} |",
        "",
        "## 2. Emotion of generated music (judged)",
        "",
        f"{g['n']} pieces ({g['n_empty']} empty ones left out), generated in {g['seconds']:.0f} s. "
        "Targets: arousal ≥ 0.90, valence ≥ 0.80, quadrant ≥ 0.70.",
        "",
        "| target | n | quadrant | arousal | valence |",
        "|---|---|---|---|---|",
    ]
    for q, v in g["per_quadrant"].items():
        lines.append(
            f"| Q{q} {QUADRANT_NAMES[int(q)]} | {v['n']} | {_pct(v['quadrant'])} | "
            f"{_pct(v['arousal'])} | {_pct(v['valence'])} |"
        )
    lines += [
        f"| **all** | {g['n']} | **{_pct(g['quadrant'])}** | **{_pct(g['arousal'])}** | **{_pct(g['valence'])}** |",
        "",
        "| dimension | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for dim in ("arousal", "valence"):
        p = g[f"{dim}_prf"]
        lines.append(
            f"| {dim} (high = positive) | {_pct(p['precision'])} | {_pct(p['recall'])} | {_pct(p['f1'])} |"
        )
    lines += [
        "",
        f"![generation confusion matrix]({fig('confusion_generation.png')})",
        "",
        "## 3. Transfer at strength 1",
        "",
        f"{t['n'] // 4} held-out EMOPIA test clips (first {s['bars']} bars) transferred to each of the four "
        f"quadrants ({t['n']} transfers). Judged = target: **{_pct(t['quadrant'])}** over all targets, "
        f"**{_pct(t['quadrant_changed_targets'])}** over the {t['n_changed']} targets that differ from the "
        f"clip's own quadrant (the untouched clips are judged as those targets in "
        f"{_pct(t['source_judged_as_target_baseline'])}). Arousal {_pct(t['arousal'])}, valence "
        f"{_pct(t['valence'])}. Target: quadrant ≥ 0.60.",
        "",
        f"![transfer confusion matrix]({fig('confusion_transfer.png')})",
        "",
        "## 4. Judged target probability vs strength λ",
        "",
        f"Test clips transferred to the three other quadrants ({s['sweep_pieces']} clips), mean judged "
        "probability of the target:",
        "",
        "| λ | P(target quadrant) | P(target arousal) | P(target valence) | judged = target |",
        "|---|---|---|---|---|",
    ]
    for i, lam in enumerate(sw["lambda"]):
        lines.append(
            f"| {lam:g} | {_pct(sw['p_quadrant'][i])} | {_pct(sw['p_arousal'][i])} | "
            f"{_pct(sw['p_valence'][i])} | {_pct(sw['accuracy'][i])} |"
        )
    p = sw["p_quadrant"]
    monotonic = all(b >= a for a, b in itertools.pairwise(p))
    trend = "rises" if p[-1] > p[0] else "does not rise"
    lines += [
        "",
        f"P(target quadrant) {trend} from {_pct(p[0])} at λ = 0 to {_pct(p[-1])} at λ = 1 "
        f"({'monotonically' if monotonic else 'not monotonically: it dips somewhere in between'}).",
        "",
        f"![strength sweep]({fig('strength_sweep.png')})",
        "",
        "## 5. Latent swap (disentanglement, MODEL.md §5)",
        "",
        f"{sp['n_pairs']} pairs (A, B) of test clips. Decoded (z_r of B, z_k of A) and (z_r of A, z_k of B); "
        "cosine similarity of the result's polyphony (notes per sub-beat) and key (pitch-class profile per "
        "bar) features with A's and B's. Swapping z_r should move polyphony to B and keep the key with A; "
        "swapping z_k the opposite. The reconstruction (both latents of A) is the reference.",
        "",
        "| decoded | polyphony cos A | polyphony cos B | key cos A | key cos B | polyphony closer to B | key closer to B |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("reconstruct", "z_r A, z_k A"),
        ("swap_r", "z_r **B**, z_k A"),
        ("swap_k", "z_r A, z_k **B**"),
    ):
        v = sp[name]
        lines.append(
            f"| {label} | {_pct(v['polyphony_cos_A'])} | {_pct(v['polyphony_cos_B'])} | "
            f"{_pct(v['key_cos_A'])} | {_pct(v['key_cos_B'])} | {_pct(v['polyphony_closer_to_B'])} | "
            f"{_pct(v['key_closer_to_B'])} |"
        )
    lines += [
        "",
        "## 6. The model's own recognition and its latent space",
        "",
        f"q(y|x) of the model on the {rec['n']} transferred test clips (first {s['bars']} bars): quadrant "
        f"{_pct(rec['quadrant'])}, arousal {_pct(rec['arousal'])}, valence {_pct(rec['valence'])}. Distance "
        f"between the component means: z_r {rec['component_distance_r']:.2f}, z_k {rec['component_distance_k']:.2f}.",
        "",
        f"![latent space]({fig('latent_space.png')})",
        "",
        "## 7. Realism: generated vs real",
        "",
        f"Generated pieces against {r['realism_n_real']} held-out real pieces (all sources, first {s['bars']} "
        "bars). Overlap: shared area of the two histograms (1 = same distribution).",
        "",
        "| metric | generated mean ± sd | real mean ± sd | overlap |",
        "|---|---|---|---|",
    ]
    for c in r["realism"]:
        lines.append(
            f"| {c['name'].replace('_', ' ')} | {c['generated_mean']:.2f} ± {c['generated_std']:.2f} | "
            f"{c['real_mean']:.2f} ± {c['real_std']:.2f} | {c['overlap']:.2f} |"
        )
    lines += [
        "",
        "## 8. Copy check",
        "",
        f"Longest run of notes (8-note interval n-grams chained; an upper bound) that a piece shares with "
        f"any of the {cp['n_training_pieces']} training pieces, in bars. Target: no piece copying more than "
        "4 bars.",
        "",
        "| pieces | n | max bars | median bars | pieces over 4 bars |",
        "|---|---|---|---|---|",
        f"| generated | {cp['n_generated']} | {cp['generated_max_bars']} | {cp['generated_median_bars']:g} | "
        f"{cp['generated_over_4_bars']} |",
        f"| real held-out (baseline) | {cp['n_real']} | {cp['real_test_max_bars']} | "
        f"{cp['real_test_median_bars']:g} | {cp['real_test_over_4_bars']} |",
        "",
    ]
    return "\n".join(lines)
