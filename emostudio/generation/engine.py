"""The engine: generate for a target emotion, transfer a piece's emotion, recognise it.

Everything here follows MODEL.md section 4 on top of the model's inference API
(:mod:`emostudio.model`); the latent arithmetic is explained in
:mod:`emostudio.generation.latents`:

- **generate**: each bar's z drawn from the mixture its target point selects (learned or fitted
  prior), decoded bar by bar with the KV cache;
- **transfer**: the piece's posterior means moved towards the target, decoded with the source as
  template (its bar count, tempo per bar and instrument families; its tempo map, time signatures
  and instruments on the result);
- **recognise**: q(y|z) of each bar's posterior mean, and q(y|x) of the whole piece.

The engine is a façade: the window of tokens and the song rebuilt from bars are
:mod:`emostudio.tokens.window`, the latent arithmetic :mod:`emostudio.generation.latents`, the
bar-by-bar decoder :mod:`emostudio.generation.decode`. Every call runs one batched path (a single
piece is a batch of one) with one :class:`~emostudio.decoding.DecodingSettings` (the engine's own
unless the call passes one). (Its length, over 400 lines, is the eleven public calls' signatures
and docstrings; the work is in those modules.)

Tensors stay inside the generation package: callers get :class:`~emostudio.midi.song.Song` s, numpy arrays
and small dataclasses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emostudio.decoding import (
    MAX_BARS,
    MAX_VARIATIONS,
    DecodingSettings,
    EngineError,
    check_piece,
)
from emostudio.emotion import Emotion
from emostudio.evaluation.structure import bar_jumps
from emostudio.generation import edit
from emostudio.generation.decode import DecodePlan, decode_bars, template_plan
from emostudio.generation.edit import METHODS
from emostudio.generation.form import (
    DEFAULT_CADENCE,
    DEFAULT_VARIATION,
    FormError,
    apply_form,
    plan_form,
)
from emostudio.generation.grammar import BarGrammar
from emostudio.generation.latents import (
    DIMENSIONS,
    blend,
    check_bars,
    check_transfer,
    cycled,
    moved_latents,
    target_latents,
    targets_per_bar,
)
from emostudio.generation.results import BarEvent, Encoding, Recognition
from emostudio.generation.splice import replace_bars
from emostudio.midi.song import Song
from emostudio.model import CDGMVAE
from emostudio.model.fast_decode import FastDecoder
from emostudio.model.fitted_prior import FittedPrior, FittedPriorError
from emostudio.model.store import ModelLoadError, load_fitted_prior, load_model, resolve_device
from emostudio.shipped import default_model_path
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import PAD
from emostudio.tokens.window import SongBuilder, encode_window
from emostudio.transform import ALL_ELEMENTS, DEFAULT_RULES, Element

log = logging.getLogger(__name__)

#: environment variable naming the default model folder
MODEL_DIR_ENV = "EMOSTUDIO_MODEL_DIR"
#: which prior generation samples from: the fitted one when the folder has a usable one ("auto"),
#: the fitted one or an error ("fitted"), or the model's own ("learned")
PRIOR_CHOICES = ("auto", "fitted", "learned")
#: the piece's bars continue and fill take as context (a phrase): teacher-forced, and for continue
#: the latents its new bars go round
CONTEXT_BARS = 4
#: fill decodes this many candidates per result and keeps the one with the smallest jumps at its
#: joins (structure.bar_jumps' bar distance)
FILL_CANDIDATES = 3
#: what ``transfer_element`` can take from a donor piece: its rhythm latents (z_r) or key latents (z_k)
DONOR_ELEMENTS = ("rhythm", "key")


def default_model_dir() -> Path:
    """``$EMOSTUDIO_MODEL_DIR``, else the shipped model (:func:`emostudio.shipped.default_model_path`)."""
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    return default_model_path()


@dataclass(frozen=True)
class _Batch:
    """One batch for the decoder: latents, constraints, each row's bar count and template, and
    the first bar that goes into the result (the bars before it are teacher-forced context)."""

    z: torch.Tensor  # [B, T, l]
    plan: DecodePlan
    lengths: list[int]
    templates: list[Song | None]
    first: int = 0


def _bar_events(result: Song, n_bars: int) -> Iterator[BarEvent]:
    """A finished result as one :class:`BarEvent` per bar (bars 0..t), the last one ``result`` itself."""
    for t in range(n_bars - 1):
        yield BarEvent(t, n_bars, result.slice_bars(0, t + 1))
    yield BarEvent(n_bars - 1, n_bars, result)


class Engine:
    """A loaded model with its tokenizer, ready to generate, transfer and recognise.

    ``settings``: the :class:`~emostudio.decoding.DecodingSettings` a call uses unless it passes
    its own."""

    def __init__(
        self,
        model: CDGMVAE,
        tokenizer: Tokenizer,
        model_dir: Path,
        threads: int | None = 1,
        settings: DecodingSettings | None = None,
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
        self.settings = settings if settings is not None else DecodingSettings()
        if fitted_prior is not None:
            try:
                fitted_prior.check_dims(model.config.latent_r, model.config.latent_k)
            except FittedPriorError as exc:
                raise ModelLoadError(f"{model_dir}: {exc}") from exc
            fitted_prior = fitted_prior.to(model.device)
        self.fitted_prior = fitted_prior
        self.bar_len = model.config.bar_len
        self.grammar = BarGrammar(tokenizer.vocab, self.bar_len, model.device)
        self.steps = FastDecoder(model)  # the decoder step; decode.ModelSteps is the reference
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike | None = None,
        device: str = "auto",
        threads: int | None = 1,
        settings: DecodingSettings | None = None,
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
        return cls(model, tokenizer, folder, threads, settings, fitted)

    @property
    def device(self) -> str:
        return self.model.device.type

    @property
    def prior_kind(self) -> str:
        """ "fitted" or "learned": the prior generation and transfer use."""
        return "learned" if self.fitted_prior is None else "fitted"

    # ---- the public calls: each a single piece (a batch of one) or a list in batches ------------
    def generate(
        self,
        target: Emotion | Sequence[Emotion],
        bars: int = 16,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        cancel: threading.Event | None = None,
        form: str = "none",
    ) -> Iterator[BarEvent]:
        """Yield one :class:`BarEvent` per finished bar, exactly ``bars`` of them (unless cancelled).

        ``target``: one point on the pad, or one per bar (an emotion curve). ``form``: a key of
        :data:`~emostudio.generation.form.FORMS` ("none": through-composed); a returning bar
        reuses its source bar's latents (:func:`~emostudio.generation.form.apply_form`, the
        measured default variation), and one whose variation is 0 repeats the source bar's tokens
        (teacher-forced, so the bars after it decode from that memory)."""
        batches = self._generate_batches([target], bars, seed, settings, 1, form)
        yield from self._stream(batches, cancel)

    def generate_many(
        self,
        targets: Sequence[Emotion | Sequence[Emotion]],
        bars: int = 16,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        batch_size: int = 32,
        form: str = "none",
    ) -> list[Song]:
        """One piece of ``bars`` bars per target, decoded in batches (for evaluations, benchmarks
        and variations: the same target K times)."""
        return self._finish(self._generate_batches(targets, bars, seed, settings, batch_size, form))

    def continue_piece(
        self,
        song: Song,
        bars: int,
        target: Emotion | None = None,
        variations: int = 1,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
    ) -> list[Song]:
        """``variations`` results, each the piece followed by ``bars`` new bars (decoded as one batch).

        The piece's last :data:`CONTEXT_BARS` bars are the context: their tokens are teacher-forced
        (the decoder's memory) and their posterior means go round as the new bars' latents, moved
        from the piece's towards ``target`` (reaching it at the last new bar; ``None``: kept). The
        new bars keep the last bar's tempo and the piece's instrument families."""
        n = check_piece(song)
        bars = check_bars(bars)
        k = _check_variations(variations)
        if n + bars > MAX_BARS:
            raise EngineError(f"the piece and its continuation exceed {MAX_BARS} bars")
        s = settings or self.settings
        ctx = min(CONTEXT_BARS, n)
        with self._decoding():
            tokens = self._window([song], [n])
            # the context and the bar before it (its memory) are encoded, not the whole piece
            z0, z1 = self._piece_latents(tokens[:, max(0, n - ctx - 1) :], target, s)
            z0, z1 = z0[-ctx:], z1[-ctx:]
            weights = [(j + 1) / bars for j in range(bars)]
            new = blend(cycled(z0, bars), cycled(z1, bars), weights)
            z = torch.cat([z0, new])[None].expand(k, -1, -1)
        shape = template_plan(tokens, [n], self.tokenizer.vocab)
        assert shape.tempo is not None and shape.families is not None
        tempo = torch.cat([shape.tempo[0, n - ctx :], shape.tempo[0, n - 1].repeat(bars)])
        need = torch.zeros(ctx + bars, dtype=torch.bool)
        need[ctx:] = True
        plan = DecodePlan(
            tempo=tempo[None].expand(k, -1),
            families=shape.families.expand(k, -1),
            need_note=need[None].expand(k, -1),
            given=[self._given(tokens[0], n - ctx, ctx)] * k,
        )
        batch = _Batch(z, plan, [ctx + bars] * k, [song] * k, first=ctx)
        new_bars = self._finish(iter([(s, self._generator(seed), batch)]))
        return [replace_bars(song, n, bars, part) for part in new_bars]

    def fill(
        self,
        song: Song,
        first: int,
        last: int,
        target: Emotion | None = None,
        variations: int = 1,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        candidates: int = FILL_CANDIDATES,
    ) -> list[Song]:
        """``variations`` results, each the piece with bars ``first``..``last`` (0-based,
        inclusive) re-written; every other bar keeps its notes.

        Left side: its last :data:`CONTEXT_BARS` bars are teacher-forced (the decoder's memory).
        The new bars' latents move from the left neighbour's posterior mean to the right
        neighbour's (moved towards ``target`` when given); of ``candidates`` decodings per result
        the one with the smallest bar distance at its joins is kept. Tempo per bar and instrument
        families are the piece's."""
        n = check_piece(song)
        if not 0 <= first <= last < n:
            raise EngineError(f"bars to fill must lie in 1..{n} (got {first + 1}-{last + 1})")
        k = _check_variations(variations)
        if candidates < 1:
            raise EngineError(f"candidates must be at least 1 (got {candidates})")
        s = settings or self.settings
        m = last - first + 1
        ctx = min(CONTEXT_BARS, first)
        with self._decoding():
            tokens = self._window([song], [n])
            lo = max(0, first - ctx - 1)  # encoded: the context, its memory, the span, its right
            z0, z1 = self._piece_latents(tokens[:, lo : last + 2], target, s)
            left = z1[first - 1 - lo] if first > 0 else None
            right = z1[last + 1 - lo] if last + 1 < n else None
            if left is None and right is None:
                new = z1[first - lo : last + 1 - lo]  # the whole piece: its own latents, moved
            else:
                a = left if left is not None else right
                b = right if right is not None else left
                assert a is not None and b is not None
                new = blend(a, b, [(j + 1) / (m + 1) for j in range(m)])
            rows = k * candidates
            z = torch.cat([z0[first - ctx - lo : first - lo], new])[None].expand(rows, -1, -1)
        shape = template_plan(tokens, [n], self.tokenizer.vocab)
        assert shape.tempo is not None and shape.families is not None
        need = torch.zeros(ctx + m, dtype=torch.bool)
        need[ctx:] = True
        plan = DecodePlan(
            tempo=shape.tempo[:, first - ctx : last + 1].expand(rows, -1),
            families=shape.families.expand(rows, -1),
            need_note=need[None].expand(rows, -1),
            given=[self._given(tokens[0], first - ctx, ctx)] * rows,
        )
        batch = _Batch(z, plan, [ctx + m] * rows, [song] * rows, first=ctx)
        filled = [
            replace_bars(song, first, m, part)
            for part in self._finish(iter([(s, self._generator(seed), batch)]))
        ]
        return [
            min(filled[i : i + candidates], key=lambda f: _seam_distance(f, first, last))
            for i in range(0, rows, candidates)
        ]

    def interpolate(
        self,
        song_a: Song,
        song_b: Song,
        bars: int,
        variations: int = 1,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
    ) -> list[Song]:
        """``variations`` pieces of ``bars`` bars whose latents move from ``song_a``'s (its
        posterior means going round) to ``song_b``'s: the first bar is A's, the last B's."""
        bars = check_bars(bars)
        k = _check_variations(variations)
        n_a, n_b = check_piece(song_a), check_piece(song_b)
        with self._decoding():
            z_a = self._posterior(self._window([song_a], [n_a]))[0]
            z_b = self._posterior(self._window([song_b], [n_b]))[0]
            weights = [j / (bars - 1) if bars > 1 else 0.5 for j in range(bars)]
            z = blend(cycled(z_a, bars), cycled(z_b, bars), weights)[None].expand(k, -1, -1)
        lengths = [bars] * k
        batch = _Batch(z.contiguous(), DecodePlan.free(lengths), lengths, [None] * k)
        return self._finish(iter([(settings or self.settings, self._generator(seed), batch)]))

    def transfer(
        self,
        song: Song,
        target: Emotion | Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        cancel: threading.Event | None = None,
        method: str = "edit",
        keep: Collection[Element] = frozenset(),
    ) -> Iterator[BarEvent]:
        """Move ``song`` towards ``target``; :class:`BarEvent` s ending with the whole result.

        ``method``: "edit" (the shipped one: the rules edit the piece's own notes, steered by the
        model, :mod:`emostudio.generation.edit`; the whole result is made at once, then handed out
        bar by bar, the last event's song being the result) or "rewrite" (the moved latents decoded
        with the song as template, bar by bar). ``keep``: the elements that
        stay exactly (edit only; a rewrite keeps the tempo map and nothing else). ``strength`` 0
        returns ``song`` itself, whatever the method."""
        method, free = self._check_method(method, keep, strength, dims)
        n_bars = check_piece(song)
        if strength == 0.0:
            yield from _bar_events(song, n_bars)
            return
        if method == "edit":
            (result,) = self._edit([song], [target], strength, tuple(dims), free)
            yield from _bar_events(result, n_bars)
            return
        batches = self._transfer_batches([song], [target], strength, dims, seed, settings, 1)
        yield from self._stream(batches, cancel)

    def transfer_many(
        self,
        songs: Sequence[Song],
        targets: Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        batch_size: int = 32,
        method: str = "edit",
        keep: Collection[Element] = frozenset(),
    ) -> list[Song]:
        """``transfer`` of each song to its target (a rewrite decoded in batches; for evaluations)."""
        if len(songs) != len(targets):
            raise EngineError(
                f"need one target per song ({len(songs)} songs, {len(targets)} targets)"
            )
        method, free = self._check_method(method, keep, strength, dims)
        if strength == 0.0:
            for song in songs:
                check_piece(song)
            return list(songs)
        if method == "edit":
            return self._edit(songs, targets, strength, tuple(dims), free)
        return self._finish(
            self._transfer_batches(songs, targets, strength, dims, seed, settings, batch_size)
        )

    def transfer_element(
        self,
        song: Song,
        donor: Song,
        element: str,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[BarEvent]:
        """``song`` with the ``donor``'s "rhythm" (z_r) or "key" (z_k) latents; one event per bar.

        The donor's posterior means (its bars cycled, or cut, to the song's length) replace the
        song's of that latent, the song's other latent stays; decoded with the song as template."""
        if element not in DONOR_ELEMENTS:
            raise EngineError(
                f"element must be one of {', '.join(DONOR_ELEMENTS)}, got {element!r}"
            )
        n_bars = check_piece(song)
        mine, theirs = self.encode(song), self.encode(donor)
        cycle = np.arange(n_bars) % len(theirs.z_r)
        z_r = theirs.z_r[cycle] if element == "rhythm" else mine.z_r
        z_k = theirs.z_k[cycle] if element == "key" else mine.z_k
        batches = self._decode_batches([(z_r, z_k)], [song], seed, settings, 1)
        yield from self._stream(batches, cancel)

    def decode(
        self,
        z_r: np.ndarray,
        z_k: np.ndarray,
        template: Song | None = None,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
    ) -> Song:
        """Decode given latents (one row per bar); with a template, as a transfer of it would."""
        templates = None if template is None else [template]
        return self._finish(self._decode_batches([(z_r, z_k)], templates, seed, settings, 1))[0]

    def decode_many(
        self,
        latents: Sequence[tuple[np.ndarray, np.ndarray]],
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        batch_size: int = 32,
        templates: Sequence[Song] | None = None,
    ) -> list[Song]:
        """Decode (z_r, z_k) pairs (one row per bar each) in batches; with ``templates`` (one per
        pair, its bar count the latents'), as a transfer of each would."""
        return self._finish(self._decode_batches(latents, templates, seed, settings, batch_size))

    def target_latents(
        self,
        target: Emotion | Sequence[Emotion],
        bars: int = 16,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The latents (z_r [bars, l_r], z_k [bars, l_k]) ``generate`` with this seed would decode."""
        s = settings or self.settings
        targets = targets_per_bar(target, bars)
        with self._decoding():
            z = self._draw([targets], self._generator(seed), s)
        return self._split(z[0])

    def transfer_latents(
        self,
        song: Song,
        target: Emotion | Sequence[Emotion],
        strength: float = 1.0,
        dims: Sequence[str] = DIMENSIONS,
        settings: DecodingSettings | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The moved latents (z_r [n_bars, l_r], z_k [n_bars, l_k]) a transfer would decode."""
        s = settings or self.settings
        n_bars = check_piece(song)
        targets = targets_per_bar(target, n_bars)
        dims = check_transfer(strength, dims)
        with self._decoding():
            z = self._move(self._window([song], [n_bars]), [targets], strength, dims, s)
        return self._split(z[0])

    def recognise(self, song: Song) -> Recognition:
        return self.recognise_many([song])[0]

    def recognise_many(self, songs: Sequence[Song], batch_size: int = 32) -> list[Recognition]:
        """``recognise`` of each song, encoded in batches."""
        out: list[Recognition] = []
        for lo in range(0, len(songs), batch_size):
            chunk = list(songs[lo : lo + batch_size])
            lengths = [check_piece(song) for song in chunk]
            with self._decoding():
                post = self.model.encode(self._window(chunk, lengths))
                per_bar_r = self.model.prior_r.q_y(post.mu_r)[..., 1].cpu().numpy()  # [B, T]
                per_bar_k = self.model.prior_k.q_y(post.mu_k)[..., 1].cpu().numpy()
                q_r, q_k = self.model.q_y(post)  # [B, K] each
            out += [
                Recognition(
                    arousal=per_bar_r[i, :n].astype(np.float64),
                    valence=per_bar_k[i, :n].astype(np.float64),
                    overall_arousal=float(q_r[i, 1]),
                    overall_valence=float(q_k[i, 1]),
                )
                for i, n in enumerate(lengths)
            ]
        return out

    def encode(self, song: Song) -> Encoding:
        n_bars = check_piece(song)
        with self._decoding():
            post = self.model.encode(self._window([song], [n_bars]))
            q_r, q_k = self.model.q_y(post)
        return Encoding(
            z_r=post.mu_r[0].cpu().numpy(),
            z_k=post.mu_k[0].cpu().numpy(),
            q_arousal=q_r[0].cpu().numpy().astype(np.float64),
            q_valence=q_k[0].cpu().numpy().astype(np.float64),
        )

    # ---- batches: latents and constraints for each kind of call ---------------------------------
    def _generate_batches(
        self,
        targets: Sequence[Emotion | Sequence[Emotion]],
        bars: int,
        seed: int | None,
        settings: DecodingSettings | None,
        batch_size: int,
        form: str = "none",
    ) -> Iterator[tuple[DecodingSettings, torch.Generator, _Batch]]:
        s = settings or self.settings
        per_piece = [targets_per_bar(t, bars) for t in targets]
        try:
            bar_plans = plan_form(form, bars, DEFAULT_VARIATION)
        except FormError as exc:
            raise EngineError(str(exc)) from exc
        repeats = {
            t: p.source
            for t, p in enumerate(bar_plans)
            if p.source is not None and p.variation == 0
        }
        generator = self._generator(seed)
        for lo in range(0, len(per_piece), batch_size):
            chunk = per_piece[lo : lo + batch_size]
            with self._decoding():
                z = self._draw(chunk, generator, s)
            if form != "none":
                z = self._formed(z, bar_plans)
            lengths = [bars] * len(chunk)
            plan = dataclasses.replace(DecodePlan.free(lengths), repeats=repeats)
            yield s, generator, _Batch(z, plan, lengths, [None] * len(chunk))

    def _transfer_batches(
        self,
        songs: Sequence[Song],
        targets: Sequence[Emotion | Sequence[Emotion]],
        strength: float,
        dims: Sequence[str],
        seed: int | None,
        settings: DecodingSettings | None,
        batch_size: int,
    ) -> Iterator[tuple[DecodingSettings, torch.Generator, _Batch]]:
        s = settings or self.settings
        dims = check_transfer(strength, dims)
        generator = self._generator(seed)
        for lo in range(0, len(songs), batch_size):
            chunk = list(songs[lo : lo + batch_size])
            lengths = [check_piece(song) for song in chunk]
            per_bar = [
                targets_per_bar(t, n) for t, n in zip(targets[lo : lo + batch_size], lengths)
            ]
            with self._decoding():
                tokens = self._window(chunk, lengths)
                z = self._move(tokens, per_bar, strength, dims, s)
            plan = template_plan(tokens, lengths, self.tokenizer.vocab)
            yield s, generator, _Batch(z, plan, lengths, list(chunk))

    def _decode_batches(
        self,
        latents: Sequence[tuple[np.ndarray, np.ndarray]],
        templates: Sequence[Song] | None,
        seed: int | None,
        settings: DecodingSettings | None,
        batch_size: int,
    ) -> Iterator[tuple[DecodingSettings, torch.Generator, _Batch]]:
        s = settings or self.settings
        lengths = [len(z_r) for z_r, _ in latents]
        if any(len(z_r) != len(z_k) or len(z_r) == 0 for z_r, z_k in latents):
            raise EngineError("each z_r and z_k need the same number of bars (at least one)")
        if templates is not None:
            for template, n in zip(templates, lengths):
                if check_piece(template) != n:
                    raise EngineError(f"template has {template.n_bars} bars, latents have {n}")
        generator = self._generator(seed)
        for lo in range(0, len(latents), batch_size):
            chunk, sizes = latents[lo : lo + batch_size], lengths[lo : lo + batch_size]
            z = np.zeros((len(chunk), max(sizes), self.model.config.latent), dtype=np.float32)
            for i, (z_r, z_k) in enumerate(chunk):
                z[i, : sizes[i]] = np.concatenate([z_r, z_k], axis=1)
            z_t = torch.as_tensor(z, device=self.model.device)
            if templates is None:
                yield s, generator, _Batch(z_t, DecodePlan.free(sizes), sizes, [None] * len(chunk))
                continue
            sources = list(templates[lo : lo + batch_size])
            with self._decoding():
                plan = template_plan(self._window(sources, sizes), sizes, self.tokenizer.vocab)
            yield s, generator, _Batch(z_t, plan, sizes, list(sources))

    # ---- the one decoding path ----------------------------------------------------------------
    def _decode(
        self,
        batch: _Batch,
        settings: DecodingSettings,
        generator: torch.Generator,
        cancel: threading.Event | None = None,
    ) -> Iterator[tuple[int, list[SongBuilder]]]:
        """Decode a batch bar by bar; after bar t, yield (t, each row's song builder)."""
        builders = [SongBuilder(self.tokenizer, template) for template in batch.templates]
        for t, rows in decode_bars(
            self.steps,
            self.grammar,
            batch.z,
            batch.plan,
            settings.temperature,
            settings.top_p,
            generator,
            self._decoding,
            cancel,
        ):
            if t < batch.first:
                continue
            for builder, n, tokens in zip(builders, batch.lengths, rows):
                if t < n:
                    builder.add(tokens)
            yield t, builders

    def _stream(
        self,
        batches: Iterator[tuple[DecodingSettings, torch.Generator, _Batch]],
        cancel: threading.Event | None,
    ) -> Iterator[BarEvent]:
        """A batch of one as :class:`BarEvent` s: each bar decoded, then the song grown by it."""
        for settings, generator, batch in batches:
            (total,) = batch.lengths
            for t, (builder,) in self._decode(batch, settings, generator, cancel):
                yield BarEvent(t, total, builder.song())

    def _finish(
        self, batches: Iterator[tuple[DecodingSettings, torch.Generator, _Batch]]
    ) -> list[Song]:
        """Every batch decoded to the end; the songs in order."""
        songs: list[Song] = []
        for settings, generator, batch in batches:
            builders: list[SongBuilder] = []
            for _, builders in self._decode(batch, settings, generator):  # noqa: B007
                pass
            songs += [b.song() for b in builders]
        return songs

    # ---- helpers ------------------------------------------------------------------------------
    def _check_method(
        self, method: str, keep: Collection[Element], strength: float, dims: Sequence[str]
    ) -> tuple[str, frozenset[Element]]:
        """The method and the free elements; an :class:`EngineError` for a bad combination."""
        check_transfer(strength, dims)
        if method not in METHODS:
            raise EngineError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        kept = frozenset(keep)
        if method == "rewrite" and kept - {Element.TEMPO}:
            names = ", ".join(sorted(e.value for e in kept - {Element.TEMPO}))
            raise EngineError(f"a rewrite cannot keep {names}: use the edit method")
        return method, ALL_ELEMENTS - kept

    def _edit(
        self,
        songs: Sequence[Song],
        targets: Sequence[Emotion | Sequence[Emotion]],
        strength: float,
        dims: tuple[str, ...],
        free: frozenset[Element],
    ) -> list[Song]:
        """The edit transfer (:mod:`emostudio.generation.edit`): recognise, edit, steer; batched."""
        lengths = [check_piece(song) for song in songs]
        sources = [r.emotion for r in self.recognise_many(songs)]
        aimed = [
            edit.aimed_targets(src, targets_per_bar(t, n), dims)
            for src, t, n in zip(sources, targets, lengths)
        ]
        candidates = [
            [
                edit.edit_per_bar(song, src, aim, strength, free, edit.scaled(DEFAULT_RULES, scale))
                for scale in edit.EDIT_SCALES
            ]
            for song, src, aim in zip(songs, sources, aimed)
        ]
        # a piece whose candidates are all one song (nothing free, or nothing to move) needs no steer
        steered = [i for i, c in enumerate(candidates) if len({id(x) for x in c}) > 1]
        flat = [x for i in steered for x in candidates[i]]
        recognitions = iter(self.recognise_many(flat)) if flat else iter(())
        out = [c[0] for c in candidates]
        for i in steered:
            recs = [next(recognitions) for _ in edit.EDIT_SCALES]
            choice = edit.choose(songs[i], candidates[i], edit.EDIT_SCALES, recs, aimed[i], dims)
            log.debug(
                "edit transfer: scales %s (P %.3f, keep %.3f)",
                choice.scale,
                choice.p_target,
                choice.keep,
            )
            out[i] = choice.song
        return out

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

    def _draw(
        self, targets: list[list[Emotion]], generator: torch.Generator, s: DecodingSettings
    ) -> torch.Tensor:
        """:func:`~emostudio.generation.latents.target_latents` with this engine's model and prior."""
        return target_latents(
            self.model, self.fitted_prior, targets, generator, s.continuity, s.latent_temperature
        )

    def _move(
        self,
        tokens: torch.Tensor,
        targets: list[list[Emotion]],
        strength: float,
        dims: tuple[str, ...],
        s: DecodingSettings,
    ) -> torch.Tensor:
        """:func:`~emostudio.generation.latents.moved_latents` with this engine's model and prior."""
        return moved_latents(
            self.model, self.fitted_prior, tokens, targets, strength, dims, s.latent_temperature
        )

    def _formed(self, z: torch.Tensor, bar_plans) -> torch.Tensor:
        """z [B, T, l] following a form's bar plans (:func:`~emostudio.generation.form.apply_form`)."""
        l_r = self.model.config.latent_r
        rows = []
        for row in z.cpu().numpy():
            z_r, z_k = apply_form(row[:, :l_r], row[:, l_r:], bar_plans, DEFAULT_CADENCE)
            rows.append(np.concatenate([z_r, z_k], axis=1))
        return torch.as_tensor(np.stack(rows), device=z.device)

    def _posterior(self, tokens: torch.Tensor) -> torch.Tensor:
        """The posterior means z [B, T, l] of a window."""
        post = self.model.encode(tokens)
        return torch.cat([post.mu_r, post.mu_k], dim=-1)

    def _piece_latents(
        self, tokens: torch.Tensor, target: Emotion | None, s: DecodingSettings
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A one-piece window's posterior means z [T, l], and them moved all the way to ``target``
        (the same when ``target`` is None)."""
        z0 = self._posterior(tokens)[0]
        if target is None:
            return z0, z0
        targets = [[target] * tokens.shape[1]]
        return z0, self._move(tokens, targets, 1.0, DIMENSIONS, s)[0]

    def _given(self, bars: torch.Tensor, start: int, count: int) -> dict[int, np.ndarray]:
        """Bars ``start`` .. ``start + count - 1`` of a window row [T, L] as teacher-forced bars
        0 .. count - 1 (their PAD dropped)."""
        out = {}
        for j in range(count):
            row = bars[start + j].cpu().numpy()
            out[j] = row[row != PAD]
        return out

    def _window(self, songs: Sequence[Song], lengths: Sequence[int]) -> torch.Tensor:
        """long[B, T_max, L] on the model's device (:func:`~emostudio.tokens.window.encode_window`)."""
        tokens = encode_window(self.tokenizer, songs, lengths, self.bar_len)
        return torch.as_tensor(tokens, device=self.model.device)

    def _split(self, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """z [T, l] -> (z_r, z_k) numpy arrays."""
        z_np = z.cpu().numpy()
        l_r = self.model.config.latent_r
        return z_np[:, :l_r], z_np[:, l_r:]


def _check_variations(variations: int) -> int:
    if isinstance(variations, bool) or not 1 <= int(variations) <= MAX_VARIATIONS:
        raise EngineError(f"variations must be in 1..{MAX_VARIATIONS} (got {variations})")
    return int(variations)


def _seam_distance(song: Song, first: int, last: int) -> float:
    """The bar distance (structure.bar_jumps) at a filled span's joins with its neighbours."""
    jumps = bar_jumps(song)
    if jumps is None:
        return float("inf")
    joins = [j for j in (first - 1, last) if 0 <= j < len(jumps)]
    return float(sum(jumps[j, 0] for j in joins))
