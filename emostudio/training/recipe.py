"""A training recipe: stages run one after another in one run folder, then the prior fitted.

``emostudio train`` runs one by default (``recipes/shipped.json``: the shipped model's size from
scratch, then a fine-tune, then :mod:`emostudio.training.fit_prior`). A recipe is JSON::

    {"description": "...",
     "stages": [{"name": "scratch", "model": {...}, "train": {...}},
                {"name": "finetune", "model": {...}, "train": {...}}],
     "fit_prior": true, "fit_prior_settings": {"transpositions": [-5, -1, 3]}}

Stage 1 builds its model from its ``model`` settings; each later stage starts from the previous
stage's ``best/`` with its config, changed by the stage's ``model`` settings (objective weights, not
sizes: :func:`emostudio.training.loop.train`'s ``init_from``). Each stage trains in
``RUN/stageN-NAME/``; whenever a stage ends, for any reason, its ``best/`` becomes ``RUN/best/``,
the model the run hands on, which gets the fitted prior once every stage has finished.
``RUN/recipe.json`` holds the recipe and which stages finished, so ``--resume`` goes on where
the run stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from emostudio.corpus.cache import CorpusCache
from emostudio.jsonconfig import ConfigError
from emostudio.model import ModelConfig
from emostudio.model.store import (
    load_model,
    prior_fingerprint,
    read_configs,
    save_fitted_prior,
    write_folder_atomically,
)
from emostudio.training import events
from emostudio.training.checkpoint import RESUME_WEIGHTS
from emostudio.training.config import TrainConfig
from emostudio.training.fit_prior import FitCancelled, FitSettings, iter_fit_prior
from emostudio.training.loop import train

#: recipes that ship with emostudio (``emostudio train --recipe NAME``)
RECIPES = ("shipped", "quick")
DEFAULT_RECIPE = "shipped"
RECIPE_FILE = "recipe.json"


@dataclass(frozen=True)
class Stage:
    name: str
    model: dict
    train: dict


@dataclass(frozen=True)
class Recipe:
    stages: tuple[Stage, ...]
    fit_prior: bool = True
    fit_prior_settings: dict = field(default_factory=dict)
    description: str = ""

    @classmethod
    def from_dict(cls, data: object) -> Recipe:
        if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
            raise ConfigError('a recipe is a JSON object with a list of "stages"')
        unknown = set(data) - {"stages", "fit_prior", "fit_prior_settings", "description"}
        if unknown:
            raise ConfigError(f"recipe: unknown fields {sorted(unknown)}")
        stages = []
        for i, raw in enumerate(data["stages"], 1):
            if not isinstance(raw, dict) or set(raw) - {"name", "model", "train"}:
                raise ConfigError(f'recipe stage {i}: expected {{"name", "model", "train"}}')
            name = str(raw.get("name", f"stage{i}"))
            model, train_ = raw.get("model", {}), raw.get("train", {})
            if not isinstance(model, dict) or not isinstance(train_, dict):
                raise ConfigError(f"recipe stage {i}: model and train must be JSON objects")
            TrainConfig(**train_)  # checked now, not hours later
            stages.append(Stage(name, dict(model), dict(train_)))
        if not stages:
            raise ConfigError("recipe: no stages")
        settings = dict(data.get("fit_prior_settings", {}))
        if "transpositions" in settings:
            settings["transpositions"] = tuple(settings["transpositions"])
        FitSettings(**settings)
        return cls(
            tuple(stages),
            bool(data.get("fit_prior", True)),
            settings,
            str(data.get("description", "")),
        )

    def to_dict(self) -> dict:
        settings = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.fit_prior_settings.items()
        }
        return {
            "description": self.description,
            "stages": [{"name": s.name, "model": s.model, "train": s.train} for s in self.stages],
            "fit_prior": self.fit_prior,
            "fit_prior_settings": settings,
        }

    def steps(self) -> int:
        return sum(TrainConfig(**s.train).max_steps for s in self.stages)


def shipped_recipe(name: str = DEFAULT_RECIPE) -> Recipe:
    """One of :data:`RECIPES`, read from the package."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}: choose one of {', '.join(RECIPES)}")
    text = resources.files("emostudio.training").joinpath("recipes", f"{name}.json").read_text()
    return Recipe.from_dict(json.loads(text))


def is_recipe(data: object) -> bool:
    """Whether a ``--config`` file's content is a recipe (it has stages) rather than one config."""
    return isinstance(data, dict) and "stages" in data


def stage_dir(run_dir: Path, index: int, stage: Stage) -> Path:
    return run_dir / f"stage{index + 1}-{stage.name}"


def _read_state(run_dir: Path) -> dict:
    path = run_dir / RECIPE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_state(run_dir: Path, recipe: Recipe, finished: list[str], prior: bool) -> None:
    data = {"recipe": recipe.to_dict(), "finished_stages": finished, "prior_fitted": prior}
    tmp = run_dir / f".{RECIPE_FILE}.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(run_dir / RECIPE_FILE)


def recorded_recipe(run_dir: Path) -> Recipe | None:
    """The recipe a run folder was started with (``None``: not a recipe run)."""
    state = _read_state(Path(run_dir))
    return Recipe.from_dict(state["recipe"]) if "recipe" in state else None


def publish_best(stage_folder: Path, run_dir: Path) -> Path | None:
    """Copy a stage's ``best/`` to ``RUN/best/`` (atomically); ``None`` when it has none yet."""
    best = stage_folder / "best"
    if not best.is_dir():
        return None
    files = {p.name: p.read_bytes() for p in sorted(best.iterdir()) if p.is_file()}
    write_folder_atomically(run_dir / "best", files)
    return run_dir / "best"


def train_recipe(
    cache: CorpusCache,
    run_dir: str | Path,
    recipe: Recipe,
    device: torch.device,
    resume: bool = False,
    cancel=None,
    max_minutes: float | None = None,
    init_from: str | Path | None = None,
    changes: dict | None = None,
) -> Iterator[dict]:
    """Run ``recipe``'s stages and fit the prior; yields each stage's training events between
    ``stage`` events, then ``prior`` and ``recipe_done``. ``changes`` (e.g. ``max_steps``) apply
    to every stage; ``init_from`` gives the first stage its starting weights."""
    started = time.monotonic()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(run_dir) if resume else {}
    finished = list(state.get("finished_stages", []))
    _write_state(run_dir, recipe, finished, False)
    previous: Path | None = Path(init_from) if init_from is not None else None
    for index, stage in enumerate(recipe.stages):
        folder = stage_dir(run_dir, index, stage)
        if stage.name in finished:
            previous = folder / "best"
            continue
        yield events.stage(
            index=index + 1, count=len(recipe.stages), name=stage.name, path=str(folder)
        )
        model_over = dict(stage.model)
        if previous is not None:
            base, _ = read_configs(previous)
            model_over = {**base.to_dict(), **model_over}
        model_over.pop("vocab_size", None)
        model_config = ModelConfig.for_tokenizer(cache.tokenizer_config, **model_over)
        budget = None if max_minutes is None else max_minutes - (time.monotonic() - started) / 60
        reason = None
        try:
            for ev in train(
                cache,
                folder,
                model_config,
                TrainConfig(**stage.train),
                device,
                resume=(folder / RESUME_WEIGHTS).exists(),
                cancel=cancel,
                max_minutes=budget,
                init_from=previous,
                changes=changes,
            ):
                if ev["event"] == "done":
                    reason = ev["reason"]
                yield ev
        finally:  # stopped for any reason: the run's best/ is this stage's best so far
            publish_best(folder, run_dir)
        if reason != "finished":
            return
        finished.append(stage.name)
        _write_state(run_dir, recipe, finished, False)
        previous = folder / "best"
    best = run_dir / "best"
    if recipe.fit_prior:
        model, _ = load_model(best, device)
        settings = FitSettings(**recipe.fit_prior_settings)
        steps = iter_fit_prior(model, cache, prior_fingerprint(best), settings, cancel)
        t0 = time.monotonic()
        try:
            while True:
                next(steps)
        except StopIteration as stop:
            save_fitted_prior(best, stop.value)
            yield events.prior(path=str(best), seconds=round(time.monotonic() - t0, 1))
        except FitCancelled:  # the model is complete; only its generation prior is missing
            yield events.recipe_done(
                best_path=str(best), elapsed_s=_since(started), prior_fitted=False
            )
            return
    _write_state(run_dir, recipe, finished, recipe.fit_prior)
    yield events.recipe_done(
        best_path=str(best),
        elapsed_s=_since(started),
        prior_fitted=recipe.fit_prior,
    )


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)
