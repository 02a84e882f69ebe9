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
   **Fidelity** (issue 12): test clips to the other quadrants at each strength by the edit
   transfer, the plain rules and the rewrite: judged target vs contour, pitch classes, onsets and
   note F1 against the source (a plot of fidelity against judged emotion, one curve per method);
   and element transfer (a donor's rhythm or key latents taken).
5. **Latent swap** (disentanglement): decode (z_r of B, z_k of A) and (z_r of A, z_k of B) for
   pairs of test clips and compare the result's polyphony and key features with A's and B's by
   cosine similarity; the swapped feature should follow B, the other stay with A.
6. **Recognition**: the model's own q(y|x) on the test clips, and the latent space with the
   component means (a PCA plot).
7. **Realism**: pitch range, polyphony, rhythm density, pitch-class entropy of the generated
   pieces against held-out real pieces (all sources, first ``bars`` bars).
8. **Structure and seams**: the structure and judge descriptors (evaluation.structure) of the
   model's pieces in the default form and through-composed and of a Markov baseline (trained on
   EMOPIA's labelled training clips, its order chosen on the validation clips) against the held-out
   EMOPIA clips: KDE overlapping area, two-sample AUC, bar repetition against real music's
   interquartile range, judged emotion; and the joins of continue and fill against real
   neighbouring bars.
9. **Copy check**: the longest run of notes each generated piece shares with any training piece
   (all sources), in bars; real held-out pieces give the baseline of chance overlap.

Each step is a stage function of :mod:`~emostudio.evaluation.stages` returning a dataclass of
:mod:`~emostudio.evaluation.results`; the figures are drawn by :mod:`~emostudio.evaluation.plots`
and the markdown by :mod:`~emostudio.evaluation.template` from :class:`EvaluationResults` alone,
so :func:`render_report` writes the report again from a stored ``results.json``.

Outputs (written to a temporary folder and moved into place at the end, so a failed run leaves
nothing half-written): ``EVALUATION.md``, ``results.json``, ``judge.json`` and PNG figures.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from emostudio.atomic import atomic_write
from emostudio.evaluation import plots, stages
from emostudio.evaluation.copying import TrainingIndex
from emostudio.evaluation.data import EvaluationCorpus
from emostudio.evaluation.descriptors import describe_many
from emostudio.evaluation.judge import EmotionJudge
from emostudio.evaluation.results import EvaluationResults, EvaluationSettings, Targets
from emostudio.evaluation.template import render_markdown
from emostudio.progress import Progress

__all__ = [
    "EvaluationDone",
    "EvaluationResults",
    "EvaluationSettings",
    "Progress",
    "Targets",
    "evaluate",
    "render_report",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationDone:
    results: EvaluationResults
    files: list[Path] = field(default_factory=list)


def evaluate(
    engine,
    corpus: EvaluationCorpus,
    out_dir: str | Path,
    judge_path: str | Path | None = None,
    settings: EvaluationSettings | None = None,
    markdown_path: str | Path | None = None,
) -> Iterator[Progress | EvaluationDone]:
    """Run the whole evaluation (see the module docstring); the last event is :class:`EvaluationDone`."""
    settings = settings if settings is not None else EvaluationSettings()
    # the engine decodes with its own DecodingSettings; the report records its token settings
    settings = replace(
        settings, temperature=engine.settings.temperature, top_p=engine.settings.top_p
    )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    started = time.monotonic()
    try:
        rng = np.random.default_rng(settings.seed)

        # 1. the judge
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
        judged = stages.judge_stage(judge, [p.song for p in test], [p.file.quadrant for p in test])
        yield Progress(
            "judge",
            f"held-out accuracy: quadrant {judged.test.quadrant:.3f}, "
            f"arousal {judged.test.arousal:.3f}, valence {judged.test.valence:.3f}",
        )

        # 2. generated music
        n = 4 * settings.pieces_per_quadrant
        yield Progress("generate", f"generating {n} pieces of {settings.bars} bars")
        t0 = time.monotonic()
        targets, generated = stages.generate_pieces(engine, settings)
        generation = stages.generation_stage(judge, targets, generated, time.monotonic() - t0)
        plots.confusion_plot(
            generation.confusion,
            "Generated music: target vs judged quadrant",
            work / "confusion_generation.png",
        )
        yield Progress(
            "generate",
            f"judged quadrant accuracy {generation.quadrant:.3f} ({generation.seconds:.0f} s)",
        )

        # 3. transfer at strength 1
        sources, source_q = _test_clips(test, settings, rng)
        yield Progress("transfer", f"transferring {len(sources)} test clips to each quadrant")
        transfer = stages.transfer_stage(engine, judge, sources, source_q, settings)
        plots.confusion_plot(
            transfer.confusion,
            "Transfer at strength 1: target vs judged quadrant",
            work / "confusion_transfer.png",
        )
        yield Progress(
            "transfer",
            f"judged = target in {transfer.quadrant:.3f} "
            f"({transfer.quadrant_changed_targets:.3f} for changed targets)",
        )

        # 4. strength sweep
        yield Progress("sweep", f"strengths {', '.join(f'{x:g}' for x in stages.LAMBDAS)}")
        sweep = stages.sweep_stage(engine, judge, sources, source_q, settings, rng)
        plots.sweep_plot(sweep, work / "strength_sweep.png")

        # 5. latent swap
        yield Progress("swap", f"latent swap on {settings.swap_pairs} pairs of test clips")
        swap = stages.swap_stage(engine, sources, settings, rng)

        # 5b. fidelity (after the swap, so the earlier stages draw the same pieces as before)
        yield Progress("fidelity", f"{settings.fidelity_pieces} clips by edit, rules and rewrite")
        fidelity = stages.fidelity_stage(engine, judge, sources, source_q, settings, rng)
        plots.fidelity_plot(fidelity, work / "fidelity.png")

        # 6. recognition and the latent space
        yield Progress("recognise", f"recognising {len(sources)} test clips")
        recognition, space = stages.recognition_stage(engine, sources, source_q)
        plots.latent_plot(space, work / "latent_space.png")

        # 7. realism
        yield Progress("realism", "reading held-out pieces of every source")
        real = [p.song.slice_bars(0, settings.bars) for p in corpus.pieces("test")]
        real = [s for s in real if s.note_count > 0]
        realism = stages.realism_stage(generated, real)

        # 8. structure: form, the Markov baseline, seams
        yield Progress("structure", "training the Markov baseline on EMOPIA's training clips")
        structure = stages.structure_stage(
            engine,
            judge,
            targets,
            generated,
            [p.song.slice_bars(0, settings.bars) for p in test],
            _markov_pieces(corpus, targets, settings),
            sources,
            settings,
        )

        # 9. copy check
        yield Progress("copy", "indexing every training piece")
        index = TrainingIndex(p.song for p in corpus.pieces("train"))
        copy = stages.copy_stage(index, generated, real, settings.targets.copy_max_bars)

        results = EvaluationResults(
            settings=settings,
            continuity=engine.settings.continuity,
            latent_temperature=engine.settings.latent_temperature,
            rhythm_persistence=engine.settings.rhythm_persistence,
            latent_draws=engine.settings.latent_draws,
            cadence=engine.settings.cadence,
            bass=engine.settings.bass,
            prior=engine.prior_kind,
            model=str(engine.model_dir),
            model_validation=_model_metrics(engine.model_dir),
            judge=judged,
            generation=generation,
            transfer=transfer,
            sweep=sweep,
            swap=swap,
            recognition=recognition,
            realism=realism,
            copy=copy,
            seconds=time.monotonic() - started,
            structure=structure,
            fidelity=fidelity,
        )
        (work / "results.json").write_text(results.to_text())
        (work / "EVALUATION.md").write_text(render_markdown(results))  # figures beside it
        files = _move_into_place(work, out_dir)
        if markdown_path is not None:
            files.append(_write_markdown_copy(results, out_dir, Path(markdown_path)))
        yield EvaluationDone(results, files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_report(results_path: str | Path, markdown_path: str | Path | None = None) -> list[Path]:
    """Write the report again from a stored ``results.json``: ``EVALUATION.md`` beside it and,
    with ``markdown_path``, the same report there with figure links relative to it."""
    results_path = Path(results_path)
    results = EvaluationResults.load(results_path)
    beside = results_path.parent / "EVALUATION.md"
    atomic_write(beside, render_markdown(results))
    files = [beside]
    if markdown_path is not None:
        files.append(_write_markdown_copy(results, results_path.parent, Path(markdown_path)))
    return files


def _test_clips(test, settings: EvaluationSettings, rng) -> tuple[list, list[int]]:
    """The held-out clips that transfer, sweep, swap and recognition use: their first ``bars``
    bars (``transfer_pieces`` of them, drawn at random, when set), with their quadrants."""
    clips = [p for p in test if p.song.n_bars >= 2]
    if settings.transfer_pieces:
        n = min(settings.transfer_pieces, len(clips))
        clips = [clips[i] for i in sorted(rng.choice(len(clips), n, replace=False))]
    cut = [
        (p.song.slice_bars(0, min(settings.bars, p.song.n_bars)), p.file.quadrant) for p in clips
    ]
    cut = [(song, q) for song, q in cut if song.note_count > 0]
    return [song for song, _ in cut], [q for _, q in cut]


def _markov_pieces(corpus: EvaluationCorpus, targets: list[int], settings: EvaluationSettings):
    """The Markov baseline's pieces for ``targets``: chains trained on EMOPIA's labelled training
    clips, each quadrant's order chosen on its validation clips."""
    from emostudio.evaluation.markov import MarkovBaseline

    pairs = {
        split: [
            (p.song, p.file.quadrant)
            for p in corpus.pieces(split, labelled_only=True, sources=("emopia",))
        ]
        for split in ("train", "val")
    }
    baseline = MarkovBaseline.from_songs(pairs["train"], pairs["val"])
    return baseline.sample_many(targets, settings.bars, seed=settings.seed)


def _model_metrics(model_dir: Path) -> dict:
    """The validation metrics stored in the model folder (training step, accuracies), if any."""
    from emostudio.model.store import ModelLoadError, read_metrics

    try:
        return read_metrics(model_dir)
    except ModelLoadError:
        return {}


def _write_markdown_copy(results: EvaluationResults, report_dir: Path, target: Path) -> Path:
    """The report at ``target``, its figure links relative to where it goes."""
    figures = os.path.relpath(report_dir, target.parent)
    atomic_write(target, render_markdown(results, figures))
    return target


def _move_into_place(work: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for item in sorted(work.iterdir()):
        os.replace(item, out_dir / item.name)
        files.append(out_dir / item.name)
    return files
