"""The engine: generate for a target emotion, transfer a piece's emotion, recognise it.

Everything here follows MODEL.md section 4 on top of the model's inference API
(:mod:`emostudio.model`):

- **generate**: for each bar, the target point's :meth:`~emostudio.emotion.Emotion.component_weights`
  mix the two arousal components (for z_r) and the two valence components (for z_k): mean and
  variance are the weighted sums of the components', so the middle of the pad really lies between
  them. z is sampled per bar and decoded bar by bar with the KV cache. Each bar's z is a draw
  from that mixture; the key latent's draws of neighbouring bars can be correlated (an AR(1)
  process of the standardised noise, correlation :attr:`Engine.continuity`): the bars of a real
  piece have key posteriors close to each other, and independent draws jump to another key every
  bar (music with no key). The rhythm latent is drawn afresh every bar. The draws can be made
  narrower than the prior
  (:attr:`Engine.latent_temperature`, tau: z = mu + tau * sigma * eps), as VAEs' reduced-temperature
  sampling does: the emotion lives along the line between the components, the noise in every
  direction.
- **the prior sampled from**: a model folder with a fitted prior (``fitted_prior.safetensors``,
  :mod:`emostudio.model.fitted_prior`) is sampled from that instead: per class a mixture fitted to
  the encoded training clips, so a draw lands in a real key region of the right mode rather than
  between them. The pad weights blend a draw of each class (paired components, one noise path);
  the key latent keeps its component for the piece when continuity is on. ``prior="learned"``
  keeps the model's own mixture.
- **transfer**: the piece is encoded bar by bar (each bar with the memory of the one before, so
  windows of any length join up), its components are inferred (q(y|x) over the whole piece), and
  each latent moves: ``z_target = z_source + strength * (mu_target - mu_source)`` per dimension
  (arousal through z_r, valence through z_k), z_source being the posterior mean of each bar and
  mu_source the q(y|x)-weighted component mean (with a fitted prior, its anchors: for valence each
  bar's nearest component of each class, so a bar moves to the neighbouring key region of the other
  mode; for arousal each class's mixture mean).
  The bar's own deviation from mu_source is scaled by the latent temperature as generation scales
  its draws: ``z_target = z_source + strength * (mu_target - mu_source + (tau - 1) * (z_source -
  mu_source))``, so at full strength a bar is the target's mean plus tau times its own deviation.
  It is decoded with the source as template: the
  same bar count, each bar's tempo forced to the source's, only the source's instrument families,
  and the source's tempo map, time signatures and instruments on the result.
- **recognise**: q(y|z) of each bar's posterior mean, and q(y|x) of the whole piece.

Tensors stay inside this module: callers get :class:`~emostudio.midi.song.Song` s, numpy arrays
and small dataclasses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from emostudio.decoding import (
    DEFAULT_CONTINUITY,
    DEFAULT_LATENT_TEMPERATURE,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
)
from emostudio.emotion import Emotion
from emostudio.generation.grammar import K_DUR, K_PITCH, K_TEMPO, BarGrammar
from emostudio.generation.sampling import check_settings, sample_next
from emostudio.midi.families import Family
from emostudio.midi.song import TICKS_PER_BAR, Song
from emostudio.model import CDGMVAE
from emostudio.model.fitted_prior import FittedPrior, FittedPriorError
from emostudio.model.store import ModelLoadError, load_fitted_prior, load_model, resolve_device
from emostudio.shipped import default_model_path
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import BAR, PAD

log = logging.getLogger(__name__)

#: environment variable naming the default model folder
MODEL_DIR_ENV = "EMOSTUDIO_MODEL_DIR"
#: the most bars one call generates
MAX_BARS = 1024
DIMENSIONS = ("arousal", "valence")
#: which prior generation samples from: the fitted one when the folder has a usable one ("auto"),
#: the fitted one or an error ("fitted"), or the model's own ("learned")
PRIOR_CHOICES = ("auto", "fitted", "learned")


class EngineError(ValueError):
    """A request the engine cannot carry out (an empty piece, a bad bar count or target); one line."""


def default_model_dir() -> Path:
    """``$EMOSTUDIO_MODEL_DIR``, else the shipped model (:func:`emostudio.shipped.default_model_path`)."""
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    return default_model_path()


@dataclass(frozen=True)
class BarEvent:
    """Bar ``index`` (0-based) of ``total`` is finished; ``song`` holds bars 0..index (index + 1 bars)."""

    index: int
    total: int
    song: Song


@dataclass(frozen=True)
class Recognition:
    """A piece's emotion: P(high arousal) and P(high valence) per bar and for the whole piece."""

    arousal: np.ndarray  # float[n_bars]
    valence: np.ndarray  # float[n_bars]
    overall_arousal: float
    overall_valence: float

    @property
    def emotion(self) -> Emotion:
        """The overall probabilities as a pad point: 2p - 1 on each axis."""
        return Emotion(
            valence=2.0 * self.overall_valence - 1.0, arousal=2.0 * self.overall_arousal - 1.0
        )

    @property
    def quadrant(self) -> int:
        return self.emotion.quadrant


@dataclass(frozen=True)
class Encoding:
    """A piece's latent code: posterior means per bar, and q(y|x) of the whole piece."""

    z_r: np.ndarray  # float32[n_bars, l_r]
    z_k: np.ndarray  # float32[n_bars, l_k]
    q_arousal: np.ndarray  # float[K]: low, high
    q_valence: np.ndarray  # float[K]


class Engine:
    """A loaded model with its tokenizer, ready to generate, transfer and recognise."""

    def __init__(
        self,
        model: CDGMVAE,
        tokenizer: Tokenizer,
        model_dir: Path,
        threads: int | None = 1,
        continuity: float = DEFAULT_CONTINUITY,
        latent_temperature: float = DEFAULT_LATENT_TEMPERATURE,
        fitted_prior: FittedPrior | None = None,
    ) -> None:
        for prior in (model.prior_r, model.prior_k):
            if prior.n_components != 2:
                raise ModelLoadError(
                    f"{model_dir}: the engine needs 2 components per mixture "
                    f"(low, high), this model has {prior.n_components}"
                )
        self.model = model
        self.tokenizer = tokenizer
        self.model_dir = Path(model_dir)
        self.threads = threads
        if not 0.0 <= continuity < 1.0:
            raise ValueError(f"continuity must be in [0, 1) (got {continuity})")
        self.continuity = continuity
        if not 0.0 <= latent_temperature <= 2.0:
            raise ValueError(f"latent temperature must be in [0, 2] (got {latent_temperature})")
        self.latent_temperature = latent_temperature
        if fitted_prior is not None:
            try:
                fitted_prior.check_dims(model.config.latent_r, model.config.latent_k)
            except FittedPriorError as exc:
                raise ModelLoadError(f"{model_dir}: {exc}") from exc
            fitted_prior = fitted_prior.to(model.device)
        self.fitted_prior = fitted_prior
        self.bar_len = model.config.bar_len
        self.grammar = BarGrammar(tokenizer.vocab, self.bar_len, model.device)
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike | None = None,
        device: str = "auto",
        threads: int | None = 1,
        continuity: float = DEFAULT_CONTINUITY,
        latent_temperature: float = DEFAULT_LATENT_TEMPERATURE,
        prior: str = "auto",
    ) -> Engine:
        """Load a model folder (``None``: :func:`default_model_dir`) on ``device`` ("auto": CUDA if any).

        ``prior``: one of :data:`PRIOR_CHOICES`. With "auto" a fitted prior that cannot be used
        (unreadable, or fitted to other weights) is logged and the model's own prior is used.

        ``threads``: torch CPU threads while decoding (1 is as fast for single-token steps and
        leaves a core for playback; ``None`` leaves torch's setting alone)."""
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
        return cls(model, tokenizer, folder, threads, continuity, latent_temperature, fitted)

    @property
    def device(self) -> str:
        return self.model.device.type

    @property
    def prior_kind(self) -> str:
        """ "fitted" or "learned": the prior generation and transfer use."""
        return "learned" if self.fitted_prior is None else "fitted"

    # ---- generate -------------------------------------------------------------------------------
    def generate(
        self,
        target: Emotion | Sequence[Emotion],
        bars: int = 16,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[BarEvent]:
        """Yield one :class:`BarEvent` per finished bar, exactly ``bars`` of them (unless cancelled).

        ``target``: one point on the pad, or one per bar (an emotion curve)."""
        targets = self._targets_per_bar(target, bars)
        check_settings(temperature, top_p)
        generator = self._generator(seed)
        with self._decoding():
            z = self._target_latents([targets], generator)  # [1, T, l]
        bar_tokens: list[np.ndarray] = []
        for t, rows in self._decode_bars(
            z,
            temperature=temperature,
            top_p=top_p,
            generator=generator,
            need_note=torch.ones(1, bars, dtype=torch.bool),
            cancel=cancel,
        ):
            bar_tokens.append(rows[0])
            yield BarEvent(t, bars, self._song_from_bars(bar_tokens, None))

    def generate_many(
        self,
        targets: Sequence[Emotion | Sequence[Emotion]],
        bars: int = 16,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        batch_size: int = 32,
    ) -> list[Song]:
        """One piece of ``bars`` bars per target, decoded in batches (for evaluations and benchmarks)."""
        per_piece = [self._targets_per_bar(t, bars) for t in targets]
        check_settings(temperature, top_p)
        generator = self._generator(seed)
        songs: list[Song] = []
        for lo in range(0, len(per_piece), batch_size):
            chunk = per_piece[lo : lo + batch_size]
            with self._decoding():
                z = self._target_latents(chunk, generator)
            rows: list[list[np.ndarray]] = [[] for _ in chunk]
            need = torch.ones(len(chunk), bars, dtype=torch.bool)
            for _, bar_rows in self._decode_bars(
                z, temperature=temperature, top_p=top_p, generator=generator, need_note=need
            ):
                for r, tokens in zip(rows, bar_rows):
                    r.append(tokens)
            songs += [self._song_from_bars(r, None) for r in rows]
        return songs

    # ---- transfer -------------------------------------------------------------------------------
    def transfer(
        self,
        song: Song,
        target: Emotion | Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[BarEvent]:
        """Re-write ``song`` towards ``target``; one :class:`BarEvent` per bar, as many bars as the song."""
        check_settings(temperature, top_p)
        n_bars = self._check_piece(song)
        targets = self._targets_per_bar(target, n_bars)
        dims = self._check_transfer(strength, dims)
        generator = self._generator(seed)
        with self._decoding():
            tokens = self._song_tensor([song], [n_bars])
            z = self._moved_latents(tokens, [targets], strength, dims)
        plan = self._template_plan(tokens, [n_bars])
        bar_tokens: list[np.ndarray] = []
        for t, rows in self._decode_bars(
            z, temperature=temperature, top_p=top_p, generator=generator, cancel=cancel, **plan
        ):
            bar_tokens.append(rows[0])
            yield BarEvent(t, n_bars, self._song_from_bars(bar_tokens, song))

    def transfer_many(
        self,
        songs: Sequence[Song],
        targets: Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        batch_size: int = 32,
    ) -> list[Song]:
        """``transfer`` of each song to its target, decoded in batches (for evaluations)."""
        if len(songs) != len(targets):
            raise EngineError(
                f"need one target per song ({len(songs)} songs, {len(targets)} targets)"
            )
        check_settings(temperature, top_p)
        dims = self._check_transfer(strength, dims)
        generator = self._generator(seed)
        out: list[Song] = []
        for lo in range(0, len(songs), batch_size):
            chunk = list(songs[lo : lo + batch_size])
            lengths = [self._check_piece(s) for s in chunk]
            per_bar = [
                self._targets_per_bar(t, n) for t, n in zip(targets[lo : lo + batch_size], lengths)
            ]
            with self._decoding():
                tokens = self._song_tensor(chunk, lengths)
                z = self._moved_latents(tokens, per_bar, strength, dims)
            rows: list[list[np.ndarray]] = [[] for _ in chunk]
            for _, bar_rows in self._decode_bars(
                z,
                temperature=temperature,
                top_p=top_p,
                generator=generator,
                **self._template_plan(tokens, lengths),
            ):
                for r, t in zip(rows, bar_rows):
                    r.append(t)
            out += [self._song_from_bars(r[:n], s) for r, n, s in zip(rows, lengths, chunk)]
        return out

    def target_latents(
        self, target: Emotion | Sequence[Emotion], bars: int = 16, seed: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The latents (z_r [bars, l_r], z_k [bars, l_k]) ``generate`` with this seed would decode."""
        targets = self._targets_per_bar(target, bars)
        with self._decoding():
            z = self._target_latents([targets], self._generator(seed))[0].cpu().numpy()
        return z[:, : self.model.config.latent_r], z[:, self.model.config.latent_r :]

    def transfer_latents(
        self,
        song: Song,
        target: Emotion | Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The moved latents (z_r [n_bars, l_r], z_k [n_bars, l_k]) a transfer would decode."""
        n_bars = self._check_piece(song)
        targets = self._targets_per_bar(target, n_bars)
        dims = self._check_transfer(strength, dims)
        with self._decoding():
            z = self._moved_latents(self._song_tensor([song], [n_bars]), [targets], strength, dims)
        z = z[0].cpu().numpy()
        return z[:, : self.model.config.latent_r], z[:, self.model.config.latent_r :]

    # ---- recognise, encode, decode ----------------------------------------------------------------
    def recognise(self, song: Song) -> Recognition:
        n_bars = self._check_piece(song)
        with self._decoding():
            tokens = self._song_tensor([song], [n_bars])
            post = self.model.encode(tokens)
            per_bar_r = self.model.prior_r.q_y(post.mu_r[0])[:, 1]  # [T]
            per_bar_k = self.model.prior_k.q_y(post.mu_k[0])[:, 1]
            q_r, q_k = self.model.q_y(post)  # [1, K] each
        return Recognition(
            arousal=per_bar_r.cpu().numpy().astype(np.float64),
            valence=per_bar_k.cpu().numpy().astype(np.float64),
            overall_arousal=float(q_r[0, 1]),
            overall_valence=float(q_k[0, 1]),
        )

    def encode(self, song: Song) -> Encoding:
        n_bars = self._check_piece(song)
        with self._decoding():
            post = self.model.encode(self._song_tensor([song], [n_bars]))
            q_r, q_k = self.model.q_y(post)
        return Encoding(
            z_r=post.mu_r[0].cpu().numpy(),
            z_k=post.mu_k[0].cpu().numpy(),
            q_arousal=q_r[0].cpu().numpy().astype(np.float64),
            q_valence=q_k[0].cpu().numpy().astype(np.float64),
        )

    def decode(
        self,
        z_r: np.ndarray,
        z_k: np.ndarray,
        template: Song | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
    ) -> Song:
        """Decode given latents (one row per bar); with a template, as a transfer of it would."""
        check_settings(temperature, top_p)
        if len(z_r) != len(z_k) or len(z_r) == 0:
            raise EngineError("z_r and z_k need the same number of bars (at least one)")
        n_bars = len(z_r)
        z = torch.as_tensor(
            np.concatenate([z_r, z_k], axis=1), dtype=torch.float32, device=self.model.device
        )[None]  # [1, T, l]
        generator = self._generator(seed)
        if template is not None:
            if self._check_piece(template) != n_bars:
                raise EngineError(f"template has {template.n_bars} bars, latents have {n_bars}")
            with self._decoding():
                plan = self._template_plan(self._song_tensor([template], [n_bars]), [n_bars])
        else:
            plan = {"need_note": torch.ones(1, n_bars, dtype=torch.bool)}
        bars = [
            rows[0]
            for _, rows in self._decode_bars(
                z, temperature=temperature, top_p=top_p, generator=generator, **plan
            )
        ]
        return self._song_from_bars(bars, template)

    def decode_many(
        self,
        latents: Sequence[tuple[np.ndarray, np.ndarray]],
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        batch_size: int = 32,
    ) -> list[Song]:
        """Decode (z_r, z_k) pairs (one row per bar each) in batches, without a template."""
        check_settings(temperature, top_p)
        lengths = [len(z_r) for z_r, _ in latents]
        if any(len(z_r) != len(z_k) or len(z_r) == 0 for z_r, z_k in latents):
            raise EngineError("each z_r and z_k need the same number of bars (at least one)")
        generator = self._generator(seed)
        out: list[Song] = []
        for lo in range(0, len(latents), batch_size):
            chunk, sizes = latents[lo : lo + batch_size], lengths[lo : lo + batch_size]
            z = np.zeros((len(chunk), max(sizes), self.model.config.latent), dtype=np.float32)
            need = torch.zeros(len(chunk), max(sizes), dtype=torch.bool)
            for i, (z_r, z_k) in enumerate(chunk):
                z[i, : sizes[i]] = np.concatenate([z_r, z_k], axis=1)
                need[i, : sizes[i]] = True
            rows: list[list[np.ndarray]] = [[] for _ in chunk]
            z_t = torch.as_tensor(z, device=self.model.device)
            for _, bar_rows in self._decode_bars(
                z_t, temperature=temperature, top_p=top_p, generator=generator, need_note=need
            ):
                for r, tokens in zip(rows, bar_rows):
                    r.append(tokens)
            out += [self._song_from_bars(r[:n], None) for r, n in zip(rows, sizes)]
        return out

    # ---- latents ------------------------------------------------------------------------------------
    def _target_latents(
        self, targets: list[list[Emotion]], generator: torch.Generator
    ) -> torch.Tensor:
        """z [B, T, l_r + l_k] sampled from the mixture each bar's target point selects."""
        parts = []
        weights = torch.tensor(
            [[e.component_weights() for e in row] for row in targets],
            dtype=torch.float32,
            device=self.model.device,
        )  # [B, T, 2]: arousal, valence
        # the key latent keeps its course over bars (a piece keeps its key); rhythm is drawn afresh
        for dim, prior, w, rho in (
            ("arousal", self.model.prior_r, weights[..., 0], 0.0),
            ("valence", self.model.prior_k, weights[..., 1], self.continuity),
        ):
            noise = self._bar_noise((*w.shape, prior.means.shape[1]), generator, rho)
            if self.fitted_prior is not None:
                parts.append(
                    self.fitted_prior.sample(
                        dim,
                        w,
                        noise,
                        per_piece=rho > 0,
                        generator=generator,
                        temperature=self.latent_temperature,
                    )
                )
                continue
            mix = torch.stack([1.0 - w, w], dim=-1)  # [B, T, K]
            mean = mix @ prior.means  # [B, T, l]
            std = (mix @ prior.logvars.exp()).sqrt()
            parts.append(mean + self.latent_temperature * std * noise)
        return torch.cat(parts, dim=-1)

    def _bar_noise(
        self, shape: tuple[int, ...], generator: torch.Generator, rho: float
    ) -> torch.Tensor:
        """Standard normal noise [B, T, l], AR(1) over bars: every bar is N(0, 1), neighbours
        correlate by ``rho``."""
        eps = torch.randn(shape, generator=generator, device=self.model.device)
        keep = (1.0 - rho**2) ** 0.5
        out = [eps[:, 0]]
        for t in range(1, shape[1]):
            out.append(rho * out[-1] + keep * eps[:, t])
        return torch.stack(out, dim=1)

    def _moved_latents(
        self,
        tokens: torch.Tensor,
        targets: list[list[Emotion]],
        strength: float,
        dims: tuple[str, ...],
    ) -> torch.Tensor:
        """z [B, T, l]: the posterior means moved towards the targets (MODEL.md section 4)."""
        post = self.model.encode(tokens)
        bar_mask = tokens[:, :, 0] != PAD  # [B, T]
        q_r, q_k = self.model.q_y(post, bar_mask)  # [B, K]
        t_max = tokens.shape[1]
        padded = [row + [row[-1]] * (t_max - len(row)) for row in targets]
        weights = torch.tensor(
            [[e.component_weights() for e in row] for row in padded],
            dtype=torch.float32,
            device=tokens.device,
        )  # [B, T, 2]
        out = []
        for dim, prior, mu, q, w in (
            ("arousal", self.model.prior_r, post.mu_r, q_r, weights[..., 0]),
            ("valence", self.model.prior_k, post.mu_k, q_k, weights[..., 1]),
        ):
            if dim in dims:
                mix = torch.stack([1.0 - w, w], dim=-1)  # [B, T, K]
                if self.fitted_prior is None:
                    mu_source = (q @ prior.means)[:, None, :]  # [B, 1, l]
                    mu_target = mix @ prior.means  # [B, T, l]
                else:  # each bar's nearest component of each class
                    anchors = self.fitted_prior.anchors(dim, mu)  # [B, T, K, l]
                    mu_source = torch.einsum("bk,btkl->btl", q, anchors)
                    mu_target = torch.einsum("btk,btkl->btl", mix, anchors)
                # at full strength: the target's mean plus the bar's own deviation from the
                # source's, scaled by tau as generation scales its draws
                deviation = mu - mu_source
                mu = mu + strength * (
                    mu_target - mu_source + (self.latent_temperature - 1.0) * deviation
                )
            out.append(mu)
        return torch.cat(out, dim=-1)

    # ---- decoding ---------------------------------------------------------------------------------
    def _decode_bars(
        self,
        z: torch.Tensor,
        temperature: float,
        top_p: float,
        generator: torch.Generator,
        tempo: torch.Tensor | None = None,
        families: torch.Tensor | None = None,
        need_note: torch.Tensor | None = None,
        cancel: threading.Event | None = None,
        hold_tempo: bool = True,
    ) -> Iterator[tuple[int, list[np.ndarray]]]:
        """Decode z [B, T, l] bar by bar; yield (t, one int32 token array per row for bar t).

        ``tempo`` long[B, T]: forced Tempo token per bar; ``families`` bool[B, 5]: allowed
        instrument families; ``need_note`` bool[B, T]: bars that must hold a note. Without
        ``tempo`` and with ``hold_tempo``, the tempo the model picks for the first bar is kept for
        every later bar (a piece has one tempo; the per-bar Tempo token would otherwise wander).
        Stops (returns) at the next token boundary once ``cancel`` is set."""
        b, n_bars, _ = z.shape
        model, grammar = self.model, self.grammar
        device = model.device
        with self._decoding():
            state = model.decoder_start(b)
        for t in range(n_bars):
            with self._decoding():
                g = grammar.start(
                    b,
                    families=families,
                    forced_tempo=None if tempo is None else tempo[:, t],
                    need_note=None if need_note is None else need_note[:, t],
                )
                feed = torch.full((b, 1), BAR, dtype=torch.long, device=device)
                rows: list[list[int]] = [[BAR] for _ in range(b)]
                z_bar = z[:, t]
                while True:
                    if cancel is not None and cancel.is_set():
                        return
                    logits, state = model.decoder_step(feed, z_bar, state)
                    sampled = sample_next(
                        logits[:, -1], grammar.allowed(g), temperature, top_p, generator
                    )
                    tokens = sampled.tolist()
                    grammar.advance(g, tokens)
                    if g.all_done:
                        break
                    for row, token, done in zip(rows, tokens, g.done):
                        if not done:
                            row.append(token)
                    if any(g.done):
                        tokens = [PAD if done else token for token, done in zip(tokens, g.done)]
                        feed = torch.tensor(tokens, dtype=torch.long, device=device)[:, None]
                    else:
                        feed = sampled[:, None]
                state = model.decoder_next_bar(state)
            if t == 0 and tempo is None and hold_tempo:
                first = torch.tensor(
                    [row[1] for row in rows], dtype=torch.long
                )  # each row's Tempo token
                tempo = first[:, None].expand(b, n_bars)
            yield t, [np.asarray(row, dtype=np.int32) for row in rows]

    @contextlib.contextmanager
    def _decoding(self):
        """Inference mode, one engine call at a time, and the engine's CPU thread count."""
        with self._lock, torch.inference_mode():
            if self.threads is None or self.model.device.type != "cpu":
                yield
                return
            before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                yield
            finally:
                torch.set_num_threads(before)

    def _generator(self, seed: int | None) -> torch.Generator:
        generator = torch.Generator(device=self.model.device)
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
        return generator

    # ---- songs <-> tensors ----------------------------------------------------------------------
    def _song_tensor(self, songs: Sequence[Song], lengths: Sequence[int]) -> torch.Tensor:
        """long[B, T_max, L]: each song's bars (cut to L tokens at a note boundary), PAD-filled."""
        t_max = max(lengths)
        out = np.zeros((len(songs), t_max, self.bar_len), dtype=np.int64)
        kinds = self.tokenizer.vocab.kinds
        for i, (song, n) in enumerate(zip(songs, lengths)):
            for t, bar in enumerate(self.tokenizer.encode_bars(song, n)):
                if len(bar) > self.bar_len:
                    ends = [j + 1 for j in range(self.bar_len) if kinds[bar[j]] in (K_DUR, K_TEMPO)]
                    bar = bar[: max(ends)]
                out[i, t, : len(bar)] = bar
        return torch.as_tensor(out, device=self.model.device)

    def _template_plan(self, tokens: torch.Tensor, lengths: Sequence[int]) -> dict:
        """Decoding constraints that keep a source's shape: its tempo per bar, its families, and a
        note in every bar that had one (and in the last bar, so the bar count holds)."""
        kinds = torch.as_tensor(self.tokenizer.vocab.kinds, dtype=torch.long, device=tokens.device)
        fams = torch.as_tensor(
            self.tokenizer.vocab.family_of_id, dtype=torch.long, device=tokens.device
        )
        b, _t_max, _ = tokens.shape
        tempo = tokens[:, :, 1].clone()  # [B, T]: every real bar is "Bar Tempo ..."
        is_pitch = kinds[tokens] == K_PITCH  # [B, T, L]
        families = torch.zeros(b, len(Family), dtype=torch.bool, device=tokens.device)
        for f in Family:
            families[:, int(f)] = (is_pitch & (fams[tokens] == int(f))).flatten(1).any(dim=1)
        need = is_pitch.any(dim=2)  # [B, T]
        for i, n in enumerate(lengths):
            tempo[i, n:] = tempo[i, 0]
            need[i, n - 1] = True
            need[i, n:] = False
        return {"tempo": tempo, "families": families, "need_note": need.cpu()}

    def _song_from_bars(self, bars: list[np.ndarray], template: Song | None) -> Song:
        """Decode bars of tokens; notes end by the last bar; a template's tempo map is kept."""
        ids = np.concatenate(bars) if bars else np.zeros(0, dtype=np.int32)
        song = self.tokenizer.decode(ids, template=template).song
        song = clip_to_bars(song, len(bars))
        if template is not None:
            order = {}
            for i, track in enumerate(template.tracks):
                order.setdefault(track.family, i)
            tracks = sorted(song.tracks, key=lambda t: order.get(t.family, len(order)))
            song = replace(
                song, tracks=tuple(tracks), tempos=template.slice_bars(0, len(bars)).tempos
            )
        return song

    # ---- checks -----------------------------------------------------------------------------------
    @staticmethod
    def _targets_per_bar(target: Emotion | Sequence[Emotion], bars: int) -> list[Emotion]:
        if (
            isinstance(bars, bool)
            or not isinstance(bars, (int, np.integer))
            or not 1 <= bars <= MAX_BARS
        ):
            raise EngineError(f"bars must be an integer in 1..{MAX_BARS}, got {bars!r}")
        if isinstance(target, Emotion):
            return [target] * int(bars)
        targets = list(target)
        if not all(isinstance(e, Emotion) for e in targets):
            raise EngineError("a target is an Emotion or a list of Emotions (one per bar)")
        if len(targets) != bars:
            raise EngineError(
                f"an emotion curve needs one target per bar ({bars}), got {len(targets)}"
            )
        return targets

    @staticmethod
    def _check_piece(song: Song) -> int:
        if song.note_count == 0:
            raise EngineError(f"{song.name or 'the piece'} has no notes")
        if song.n_bars > MAX_BARS:
            raise EngineError(
                f"{song.name or 'the piece'} has {song.n_bars} bars; at most {MAX_BARS}"
            )
        return song.n_bars

    @staticmethod
    def _check_transfer(strength: float, dims: Sequence[str]) -> tuple[str, ...]:
        if not 0.0 <= strength <= 1.0:
            raise EngineError(f"strength must be in [0, 1], got {strength}")
        dims = tuple(dims)
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown or not dims:
            raise EngineError(f"dims must be arousal and/or valence, got {list(dims)}")
        return dims


def clip_to_bars(song: Song, n_bars: int) -> Song:
    """The song with notes starting at or after bar ``n_bars`` dropped and the rest ending by it."""
    end = n_bars * TICKS_PER_BAR
    tracks = []
    for track in song.tracks:
        notes = [replace(n, end=min(n.end, end)) for n in track.notes if n.start < end]
        if notes:
            tracks.append(track.with_notes(notes))
    return song.with_tracks(tracks)
