"""The end of a run: its validation summary, the model folder with its card, examples to audition.

- :func:`validation_lines`: q(y|x) accuracies of the best validation, as sentences;
- :func:`write_model`: the run's best model re-saved (through :mod:`emostudio.model.store`) as
  ``RUN_DIR/model``, a normal model folder whose card names the data folders, the labels, the
  settings and the measured quality;
- :func:`fit_generation_prior`: the model's fitted generation prior on the run's cache (as
  ``emostudio fit-prior`` does), so the new model generates the way the shipped one does;
- :func:`generate_examples`: one short piece per quadrant from the new model (a job for the GUI
  worker), written as MIDI beside it, each with the emotion the model itself hears in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emostudio.emotion import QUADRANT_NAMES, Emotion
from emostudio.midi import Song, write_midi
from emostudio.wizard.plan import RunPlan

if TYPE_CHECKING:
    from emostudio.model.config import ModelConfig

log = logging.getLogger(__name__)

MODEL_FOLDER = "model"
EXAMPLES_FOLDER = "examples"
EXAMPLE_BARS = 8


@dataclass(frozen=True)
class Example:
    quadrant: int
    path: Path
    song: Song
    heard: Emotion  # what the new model recognises in its own piece

    @property
    def label(self) -> str:
        return (
            f"Q{self.quadrant} {QUADRANT_NAMES[self.quadrant]}: {self.song.n_bars} bars, "
            f"{self.song.note_count} notes, heard as {self.heard.name}"
        )


def _percent(value) -> str:
    return "-" if value is None else f"{100 * float(value):.0f}%"


def validation_lines(metrics: dict | None) -> list[str]:
    """The best validation of a run, for people."""
    if not metrics:
        return ["No validation was run."]
    step = metrics.get("step")
    lines = [
        f"Best validation{f' (step {step})' if step is not None else ''}: token loss "
        f"{metrics.get('token_loss', float('nan')):.3f}, next-token accuracy "
        f"{_percent(metrics.get('token_accuracy'))}."
    ]
    if metrics.get("arousal_accuracy") is None:
        lines.append("No labelled validation clips: the emotion accuracy could not be measured.")
    else:
        lines.append(
            f"Emotion recognised by q(y|x) on {metrics.get('n_clips', '?')} labelled validation clips: "
            f"arousal {_percent(metrics['arousal_accuracy'])}, valence {_percent(metrics['valence_accuracy'])}, "
            f"quadrant {_percent(metrics.get('quadrant_accuracy'))} (chance: 50%, 50%, 25%)."
        )
    return lines


def model_card(plan: RunPlan, metrics: dict | None, model_config: ModelConfig) -> str:
    """The card of the wizard's model: its data folders and labels, settings and quality."""
    from emostudio.model.card import ModelCard

    return ModelCard(
        title=f"{plan.run_dir.name}: an emostudio model made with the training wizard",
        model_config=model_config,
        data=[
            *[str(folder) for folder in plan.folders],
            f"labels: {'; '.join(plan.label_sources)}",
            f"labelled clips accepted: {', '.join(f'{q} {n}' for q, n in plan.labelled.items())}",
            f"{plan.files_accepted} files accepted, {plan.hours:.2f} hours of music",
        ],
        settings=[
            *plan.describe()[-1:],
            f"training: {', '.join(f'{k} {v}' for k, v in plan.train.items())}",
            f"created {plan.created}",
        ],
        metrics=metrics,
        quality=validation_lines(metrics),
        licences="The data's own licences apply to this model.",
    ).markdown()


def write_model(plan: RunPlan) -> Path:
    """``RUN_DIR/best`` re-saved as ``RUN_DIR/model`` with the wizard's model card; its path."""
    from emostudio.model.store import load_model, read_metrics, save_model

    best = plan.run_dir / "best"
    model, tokenizer = load_model(best)
    metrics = read_metrics(best) or None
    folder = plan.run_dir / MODEL_FOLDER
    save_model(model, tokenizer.config, folder, model_card(plan, metrics, model.config), metrics)
    log.info("model written to %s", folder)
    return folder


def fit_generation_prior(
    plan: RunPlan, model_dir: str | Path, device: str = "cpu", cancel=None
) -> Iterator[tuple[int, int]]:
    """Fit and save ``model_dir``'s generation prior on the run's cache; yields (windows done, in all).

    A cache without labelled training pieces leaves the model with its learned prior (logged)."""
    from emostudio.corpus import load_cache
    from emostudio.model.fitted_prior import FittedPriorError
    from emostudio.model.store import load_model, prior_fingerprint, save_fitted_prior
    from emostudio.training.fit_prior import FitCancelled, iter_fit_prior

    model, _ = load_model(model_dir, device)
    try:
        prior = yield from iter_fit_prior(
            model, load_cache(plan.cache_dir), prior_fingerprint(model_dir), cancel=cancel
        )
    except FittedPriorError as exc:
        log.warning("no fitted prior for %s: %s", model_dir, exc)
        return
    except FitCancelled:
        log.info(
            "fitting the prior of %s was cancelled; it generates from its learned prior", model_dir
        )
        return
    save_fitted_prior(model_dir, prior)


def generate_examples(
    model_dir: str | Path,
    out_dir: str | Path,
    device: str = "cpu",
    bars: int = EXAMPLE_BARS,
    seed: int = 0,
    cancel=None,
) -> Iterator[tuple[int, int]]:
    """Yields (bars done, bars to do); returns one :class:`Example` per quadrant (fewer if cancelled)."""
    from emostudio.generation.engine import Engine

    engine = Engine.load(model_dir, device=device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples: list[Example] = []
    for quadrant in QUADRANT_NAMES:
        song = None
        for ev in engine.generate(
            Emotion.from_quadrant(quadrant), bars=bars, seed=seed + quadrant, cancel=cancel
        ):
            song = ev.song
            yield (quadrant - 1) * bars + ev.index + 1, 4 * bars
        if cancel is not None and cancel.is_set():
            break
        if song is None or song.note_count == 0:
            continue
        path = out_dir / f"Q{quadrant}_{QUADRANT_NAMES[quadrant]}.mid"
        write_midi(song, path)
        examples.append(Example(quadrant, path, song, engine.recognise(song).emotion))
    return examples
