"""``emostudio train``: train the CDGMVAE on a corpus cache (resumable; one JSON event per line with --events).

Without ``--config`` it runs the shipped recipe (:mod:`emostudio.training.recipe`: the shipped
model's size from scratch, a fine-tune, the fitted prior; ``--recipe quick`` for a preview);
``--config`` takes a recipe (``{"stages": [...]}``) or one run's ``{"model": ..., "train": ...}``.
"""

from __future__ import annotations

import argparse

HELP = "train the emotion model on a corpus cache (see 'emostudio prepare')"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache", required=True, help="corpus cache folder written by 'emostudio prepare'"
    )
    p.add_argument("--out", required=True, help="run folder (best/ is the model to ship)")
    p.add_argument(
        "--config",
        help='JSON file: a recipe {"stages": [...]} or one run\'s {"model": {...}, "train": {...}} '
        "(default: the shipped recipe)",
    )
    p.add_argument(
        "--recipe",
        choices=("shipped", "quick"),
        help="a recipe that ships with emostudio (default: shipped, about 2 h 10 min on 2 cores; "
        "quick: a preview in about 15 min)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its resume state"
    )
    p.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="fine-tune: start from this model folder's weights and size (its model config)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument(
        "--events",
        action="store_true",
        help="print one JSON object per line instead of a progress bar",
    )
    p.add_argument(
        "--max-minutes", type=float, help="stop cleanly (saving) after this many minutes"
    )
    p.add_argument(
        "--max-steps",
        type=int,
        help="training steps (overrides the config; each stage's in a recipe)",
    )
    p.add_argument(
        "--supervision-rate",
        type=float,
        metavar="RHO",
        help="share of training pieces that keep their labels (the rest count as unlabelled)",
    )
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument(
        "--plot", action="store_true", help="draw the run's curves to RUN_DIR/curves.png at the end"
    )


def _recipe(args, out):
    """The recipe to run (``None``: ``--config`` holds one run's configs)."""
    import json
    from pathlib import Path

    from emostudio.cli.main import CommandError
    from emostudio.tokens.config import ConfigError
    from emostudio.training.recipe import Recipe, is_recipe, recorded_recipe, shipped_recipe

    try:
        if args.resume:  # the run's own recipe, or (None) its own configs with its state
            return recorded_recipe(out)
        if args.config and args.recipe:
            raise CommandError("give --config or --recipe, not both")
        if not args.config:
            return shipped_recipe(args.recipe or "shipped")
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read config {args.config}: {exc}") from exc
        return Recipe.from_dict(data) if is_recipe(data) else None
    except (ConfigError, TypeError, ValueError) as exc:
        raise CommandError(f"bad recipe: {exc}") from exc


def _changes(args) -> dict:
    """Command-line training settings: they also apply to a resumed run (and each recipe stage)."""
    given = {
        "max_steps": args.max_steps,
        "supervision_rate": args.supervision_rate,
        "threads": args.threads,
    }
    return {name: value for name, value in given.items() if value is not None}


def _configs(args, tokenizer_config):
    import json
    from pathlib import Path

    from emostudio.cli.main import CommandError
    from emostudio.model import ModelConfig
    from emostudio.tokens.config import ConfigError
    from emostudio.training import TrainConfig

    model_over, train_over = {}, {}
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read config {args.config}: {exc}") from exc
        if not isinstance(data, dict) or set(data) - {"model", "train"}:
            raise CommandError(f'{args.config}: expected a JSON object with "model" and/or "train"')
        model_over, train_over = dict(data.get("model", {})), dict(data.get("train", {}))
        model_over.pop("vocab_size", None)
    changes = _changes(args)
    if getattr(args, "init_from", None):
        from emostudio.model.store import ModelLoadError, read_configs

        try:
            base_config, _ = read_configs(args.init_from)
        except ModelLoadError as exc:
            raise CommandError(str(exc)) from exc
        model_over = {**base_config.to_dict(), **model_over}
    try:
        return (
            ModelConfig.for_tokenizer(tokenizer_config, **model_over),
            TrainConfig(**train_over),
            changes,
        )
    except (ConfigError, TypeError) as exc:
        raise CommandError(f"bad config: {exc}") from exc


def run(args) -> int:
    import signal
    import sys
    import threading
    from pathlib import Path

    from emostudio.cli.main import CommandError
    from emostudio.corpus import CacheError, load_cache
    from emostudio.model import resolve_device
    from emostudio.model.store import ModelLoadError
    from emostudio.tokens.config import ConfigError
    from emostudio.training import TrainingError, events, train
    from emostudio.training.checkpoint import RESUME_WEIGHTS, ResumeError
    from emostudio.training.events import to_json
    from emostudio.training.loop import limit_heap_fragmentation
    from emostudio.training.recipe import RECIPE_FILE, train_recipe

    try:
        cache = load_cache(args.cache)
        device = resolve_device(args.device)
    except (CacheError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    out = Path(args.out)
    recipe = _recipe(args, out)
    if recipe is None:
        model_config, train_config, changes = _configs(args, cache.tokenizer_config)
    else:
        changes = _changes(args)
    if not args.resume and ((out / RESUME_WEIGHTS).exists() or (out / RECIPE_FILE).exists()):
        raise CommandError(
            f"{out} already holds a run; use --resume to continue it or choose another --out"
        )

    limit_heap_fragmentation()
    cancel = threading.Event()

    def on_signal(signum, frame):  # a pause: save and exit 0
        cancel.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if recipe is not None:
        events = train_recipe(
            cache,
            out,
            recipe,
            device,
            resume=args.resume,
            cancel=cancel,
            max_minutes=args.max_minutes,
            init_from=args.init_from,
            changes=changes,
        )
    else:
        events = train(
            cache,
            out,
            model_config,
            train_config,
            device,
            resume=args.resume,
            cancel=cancel,
            max_minutes=args.max_minutes,
            init_from=args.init_from,
            changes=changes,
        )
    bar = None
    code = 0
    try:
        for ev in events:
            if args.events:
                print(to_json(ev), flush=True)
                continue
            kind = ev["event"]
            if kind == "stage":
                print(f"stage {ev['index']}/{ev['count']}: {ev['name']} in {ev['path']}")
            elif kind == "prior":
                print(f"fitted the generation prior of {ev['path']} ({ev['seconds']:.0f} s)")
            elif kind == "recipe_done":
                note = "" if ev["prior_fitted"] else " (no fitted prior: run emostudio fit-prior)"
                print(f"model: {ev['best_path']}{note}")
            elif kind == "start":
                from tqdm import tqdm

                bar = tqdm(
                    total=ev["max_steps"], initial=ev["step"], unit="step", dynamic_ncols=True
                )
            elif kind == "step" and bar is not None:
                bar.update(ev["step"] - bar.n)
                bar.set_postfix(loss=f"{ev['loss']:.3f}", tok_s=f"{ev['tokens_per_s']:.0f}")
            elif kind == "val":
                m = ev["metrics"]
                acc = (
                    ""
                    if m["arousal_accuracy"] is None
                    else (
                        f", arousal {m['arousal_accuracy']:.3f}, valence {m['valence_accuracy']:.3f}, "
                        f"quadrant {m['quadrant_accuracy']:.3f}"
                    )
                )
                msg = f"step {ev['step']}: val token loss {m['token_loss']:.4f}{acc}{' (best)' if ev['best'] else ''}"
                (bar.write if bar is not None else print)(msg)
            elif kind == "done":
                if bar is not None:
                    bar.close()
                    bar = None
                print(f"done ({ev['reason']}) at step {ev['step']}; best model: {ev['best_path']}")
    except (TrainingError, ResumeError, ConfigError, ModelLoadError, ValueError) as exc:
        if bar is not None:
            bar.close()
        if args.events:
            print(to_json(events.error(message=str(exc))), flush=True)
            code = 1
        else:
            raise CommandError(str(exc)) from exc
    if args.plot and code == 0:
        from emostudio.training.plot import plot_run

        folders = [out] if recipe is None else sorted(out.glob("stage*-*"))
        for folder in folders:
            if (folder / "metrics.jsonl").is_file():
                print(f"curves: {plot_run(folder)}", file=sys.stderr)
    return code
