"""Fit a model's :class:`~emostudio.model.fitted_prior.FittedPrior` on a corpus cache.

Every labelled training piece is cut into windows of ``window_bars`` bars and encoded in all
``transpositions`` pitch shifts (emotion labels do not change with the key, and the key latent
must cover every key). For each dimension and class, the per-bar posterior means of the windows
that are labelled that class *and* that the model's own q(y|x) puts in that class with probability
of at least ``confidence`` are fitted with a diagonal Gaussian mixture (scikit-learn). Windows of
other splits and unlabelled pieces are not used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from emostudio.corpus.cache import CorpusCache
from emostudio.model.cdgmvae import CDGMVAE
from emostudio.model.fitted_prior import DIMENSIONS, ClassMixtures, FittedPrior, FittedPriorError
from emostudio.tokens.vocab import PAD
from emostudio.training.config import TrainConfig
from emostudio.training.data import Window, WindowData, label_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitSettings:
    """How a fitted prior is fitted; the defaults are the shipped model's (docs/history/benchmarks-sessions-1-4.md, "Session 3")."""

    components: int = 12  # mixture components per class
    confidence: float = 0.8  # keep windows whose q(y|x) of their labelled class is at least this
    window_bars: int = 16
    transpositions: tuple[int, ...] = tuple(range(-5, 7))
    min_bars: int = 200  # a class with fewer confident bars falls back to all its labelled bars
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.components < 1 or self.window_bars < 1 or self.batch_size < 1:
            raise FittedPriorError("components, window_bars and batch_size must be >= 1")
        if not 0.5 <= self.confidence < 1.0:
            raise FittedPriorError(f"confidence must be in [0.5, 1) (got {self.confidence})")
        if not self.transpositions:
            raise FittedPriorError("need at least one transposition (0: the pieces as they are)")


@dataclass
class EncodedBars:
    """Per-bar posterior means with their window's labels and q(y|x) (class 1 probability)."""

    z: dict[str, np.ndarray]  # dimension -> float32[N, l]
    label: dict[str, np.ndarray]  # dimension -> int[N]: 0 low, 1 high, -1 unlabelled
    q_high: dict[str, np.ndarray]  # dimension -> float[N]


class FitCancelled(Exception):
    """The fit was cancelled (its cancel flag was set between two batches)."""


def encode_labelled(
    model: CDGMVAE, cache: CorpusCache, settings: FitSettings, cancel: threading.Event | None = None
) -> Generator[tuple[int, int], None, EncodedBars]:
    """Encode the labelled training pieces' windows in every transposition; yields (windows done,
    windows in all) after each batch and returns the encoded bars."""
    data = WindowData(cache, model.config, TrainConfig(bars_per_sample=settings.window_bars))
    windows, labels = [], []
    for i in cache.split_indices("train"):
        info = cache.pieces[int(i)]
        if not info.labelled:
            continue
        for start in range(
            0, max(1, info.n_bars - settings.window_bars // 2), settings.window_bars
        ):
            for shift in settings.transpositions:
                windows.append(Window(int(i), start, shift))
                labels.append((label_of(info.arousal), label_of(info.valence)))
    if not windows:
        raise FittedPriorError("the cache has no labelled training pieces to fit a prior on")
    z = {d: [] for d in DIMENSIONS}
    lab = {d: [] for d in DIMENSIONS}
    q_high = {d: [] for d in DIMENSIONS}
    device = model.device
    with torch.inference_mode():
        for lo in range(0, len(windows), settings.batch_size):
            if cancel is not None and cancel.is_set():
                raise FitCancelled("fitting the prior was cancelled")
            chunk = windows[lo : lo + settings.batch_size]
            tokens = torch.from_numpy(np.stack([data.window_arrays(w)[0] for w in chunk])).to(
                device
            )
            post = model.encode(tokens)
            mask = tokens[:, :, 0] != PAD  # [B, T]: real bars
            q_r, q_k = model.q_y(post, mask)
            keep = mask.cpu().numpy()
            for j, (dim, mu, q) in enumerate(
                (("arousal", post.mu_r, q_r), ("valence", post.mu_k, q_k))
            ):
                z[dim].append(mu.cpu().numpy()[keep])
                per_bar = keep.sum(axis=1)
                lab[dim].append(
                    np.repeat([row[j] for row in labels[lo : lo + len(chunk)]], per_bar)
                )
                q_high[dim].append(np.repeat(q[:, 1].cpu().numpy(), per_bar))
            yield min(lo + len(chunk), len(windows)), len(windows)
    return EncodedBars(
        z={d: np.concatenate(v).astype(np.float32) for d, v in z.items()},
        label={d: np.concatenate(v) for d, v in lab.items()},
        q_high={d: np.concatenate(v) for d, v in q_high.items()},
    )


def fit_mixtures(bars: EncodedBars, settings: FitSettings) -> tuple[dict[str, ClassMixtures], dict]:
    """The class mixtures of each dimension, and per dimension and class how many bars fed them."""
    from sklearn.mixture import GaussianMixture

    out, counts = {}, {}
    for dim in DIMENSIONS:
        weights, means, stds, used = [], [], [], []
        for cls in (0, 1):
            labelled = bars.label[dim] == cls
            p_cls = bars.q_high[dim] if cls == 1 else 1.0 - bars.q_high[dim]
            chosen = labelled & (p_cls >= settings.confidence)
            if chosen.sum() < settings.min_bars:
                log.warning(
                    "%s class %d: %d confident bars, fitting all %d labelled ones",
                    dim,
                    cls,
                    int(chosen.sum()),
                    int(labelled.sum()),
                )
                chosen = labelled
            x = bars.z[dim][chosen]
            k = min(settings.components, max(1, len(x) // 10))
            if len(x) < 2:
                raise FittedPriorError(
                    f"{dim} class {cls}: not enough labelled bars to fit ({len(x)})"
                )
            gm = GaussianMixture(
                k, covariance_type="diag", reg_covar=1e-3, random_state=settings.seed, max_iter=200
            ).fit(x)
            w, m, s = gm.weights_, gm.means_, np.sqrt(gm.covariances_)
            if k < settings.components:  # pad with unused components so both classes have C
                pad = settings.components - k
                w = np.concatenate([w, np.zeros(pad)])
                m = np.concatenate([m, np.repeat(m[:1], pad, axis=0)])
                s = np.concatenate([s, np.repeat(s[:1], pad, axis=0)])
            weights.append(w / w.sum())
            means.append(m)
            stds.append(s)
            used.append(int(chosen.sum()))
        out[dim] = ClassMixtures(
            *(torch.tensor(np.stack(v), dtype=torch.float32) for v in (weights, means, stds))
        )
        counts[dim] = {"low_bars": used[0], "high_bars": used[1]}
    return out, counts


def fit_prior(
    model: CDGMVAE,
    cache: CorpusCache,
    fingerprint: Mapping[str, str],
    settings: FitSettings = FitSettings(),
    progress: Callable[[int, int], None] | None = None,
) -> FittedPrior:
    """Encode the cache's labelled training pieces and fit the class mixtures of both dimensions;
    ``fingerprint``: what the prior records of the weights
    (:func:`~emostudio.model.store.prior_fingerprint` of the model's folder)."""
    steps = iter_fit_prior(model, cache, fingerprint, settings)
    while True:
        try:
            done, total = next(steps)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(done, total)


def iter_fit_prior(
    model: CDGMVAE,
    cache: CorpusCache,
    fingerprint: Mapping[str, str],
    settings: FitSettings = FitSettings(),
    cancel: threading.Event | None = None,
) -> Generator[tuple[int, int], None, FittedPrior]:
    """:func:`fit_prior` as a generator of (windows encoded, windows in all), for background jobs;
    raises :class:`FitCancelled` once ``cancel`` is set."""
    bars = yield from encode_labelled(model, cache, settings, cancel)
    mixtures, counts = fit_mixtures(bars, settings)
    info = {
        **fingerprint,
        "components": settings.components,
        "confidence": settings.confidence,
        "window_bars": settings.window_bars,
        "transpositions": list(settings.transpositions),
        "bars": counts,
    }
    return FittedPrior(mixtures["arousal"], mixtures["valence"], info)
