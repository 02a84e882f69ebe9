"""Where the engine's model comes from: the default model folder and the prior choice.

:func:`load_parts` reads a model folder (weights, tokenizer and, unless the learned prior is
chosen, the fitted prior) for :meth:`Engine.load <emostudio.generation.engine.Engine.load>`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from emostudio.model import CDGMVAE
from emostudio.model.fitted_prior import FittedPrior, FittedPriorError
from emostudio.model.store import ModelLoadError, load_fitted_prior, load_model, resolve_device
from emostudio.shipped import default_model_path
from emostudio.tokens.tokenizer import Tokenizer

log = logging.getLogger(__name__)

#: environment variable naming the default model folder
MODEL_DIR_ENV = "EMOSTUDIO_MODEL_DIR"
#: which prior generation samples from: the fitted one when the folder has a usable one ("auto"),
#: the fitted one or an error ("fitted"), or the model's own ("learned")
PRIOR_CHOICES = ("auto", "fitted", "learned")


def default_model_dir() -> Path:
    """``$EMOSTUDIO_MODEL_DIR``, else the shipped model (:func:`emostudio.shipped.default_model_path`)."""
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    return default_model_path()


def load_parts(
    model_dir: str | os.PathLike | None, device: str, prior: str
) -> tuple[CDGMVAE, Tokenizer, Path, FittedPrior | None]:
    """The model, its tokenizer, its folder (``None``: :func:`default_model_dir`) and the fitted
    prior ``prior`` (one of :data:`PRIOR_CHOICES`) selects, on ``device`` ("auto": CUDA if any);
    a :class:`ModelLoadError` for anything that cannot be loaded. With "auto" a fitted prior that
    cannot be used (unreadable, or fitted to other weights) is logged and None is returned."""
    folder = Path(model_dir) if model_dir is not None else default_model_dir()
    if model_dir is None and not folder.exists():
        raise ModelLoadError(
            f"no default model at {folder} (pass a model folder, or set {MODEL_DIR_ENV})"
        )
    try:
        torch_device = resolve_device(device)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from exc
    if prior not in PRIOR_CHOICES:
        raise ModelLoadError(f"unknown prior {prior!r}: use one of {', '.join(PRIOR_CHOICES)}")
    model, tokenizer = load_model(folder, torch_device)
    fitted = None
    if prior != "learned":
        try:
            fitted = load_fitted_prior(folder)
        except FittedPriorError as exc:
            if prior == "fitted":
                raise ModelLoadError(str(exc)) from exc
            log.warning("%s; generating from the model's own prior", exc)
        if fitted is None and prior == "fitted":
            raise ModelLoadError(f"{folder}: has no fitted prior (emostudio fit-prior)")
    log.debug(
        "loaded model %s on %s (prior: %s)",
        folder,
        torch_device,
        "fitted" if fitted else "learned",
    )
    return model, tokenizer, folder, fitted
