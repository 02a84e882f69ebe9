"""The engine: generate for a target emotion, transfer a piece's emotion, recognise it.

Everything here follows MODEL.md section 4 on top of the model's inference API
(:mod:`emostudio.model`). The engine is a façade: it holds the loaded model, its decoding scope
(one call at a time, its CPU thread count), the seeded generators and the default settings; each
public call validates its arguments and delegates to a module of this package:
:mod:`~emostudio.generation.batches` (the one batched decoding path; generate, decode given
latents), :mod:`~emostudio.generation.transfer` (edit and rewrite, an element from a donor),
:mod:`~emostudio.generation.pieces` (continue, fill, interpolate),
:mod:`~emostudio.generation.recognition` and :mod:`~emostudio.generation.loading`. A single piece
is a batch of one, decoded with one :class:`~emostudio.decoding.DecodingSettings` (the engine's
own unless the call passes one). Its length is the public calls' signatures and
docstrings.

Tensors stay inside the generation package: callers get :class:`~emostudio.midi.song.Song` s, numpy arrays
and small dataclasses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from emostudio.decoding import MAX_BARS, DecodingSettings, EngineError, check_piece
from emostudio.emotion import Emotion
from emostudio.generation import batches, pieces, recognition, transfer
from emostudio.generation.form import pitch_class_table
from emostudio.generation.grammar import BarGrammar
from emostudio.generation.latents import DIMENSIONS, check_bars, targets_per_bar
from emostudio.generation.loading import load_parts
from emostudio.generation.results import BarEvent, Encoding, Recognition
from emostudio.midi.song import Song
from emostudio.model import CDGMVAE
from emostudio.model.fast_decode import FastDecoder
from emostudio.model.fitted_prior import FittedPrior, FittedPriorError
from emostudio.model.store import ModelLoadError
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.window import encode_window
from emostudio.transform import Element

log = logging.getLogger(__name__)

#: the most CPU threads the encoders take (where the machine has the cores and the engine's
#: decoding count is not None): their products gain from a second core (measured on 2-core
#: machines, BENCHMARKS.md "The encoders on two threads"; more cores were not measured)
ENCODE_THREADS = 2


def _on_gpu(device: str) -> bool:
    """Whether ``device`` ("auto", "cpu", "cuda[:N]") puts the model on a GPU."""
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


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
        # the encoders' CPU threads (recognise, encode, and the encoding inside transfer,
        # continue and fill): a few large products that a second core speeds up 1.2-1.5x, unlike
        # the one-token decode (BENCHMARKS.md); None: the decoding thread count
        self.encode_threads = (
            None if threads is None else max(threads, min(ENCODE_THREADS, os.cpu_count() or 1))
        )
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
        self.pitch_class_of = pitch_class_table(tokenizer.vocab)  # a cadence's key finding
        self.steps = FastDecoder(model)  # the decoder step; decode.ModelSteps is the reference
        self._lock = threading.Lock()
        self.note = ""  # why the model is not where it was asked to be (see load)

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike | None = None,
        device: str = "auto",
        threads: int | None = 1,
        settings: DecodingSettings | None = None,
        prior: str = "auto",
    ) -> Engine:
        """Load a model folder on ``device`` ("auto": CUDA if any) with the prior ``prior``
        selects (:func:`~emostudio.generation.loading.load_parts`: ``None`` is the default model,
        "auto" a usable fitted prior or else the model's own).

        ``threads``: torch CPU threads while decoding (1 is as fast for single-token steps and
        leaves a core for playback; ``None`` leaves torch's setting alone). The encoders take
        :attr:`encode_threads`: up to :data:`ENCODE_THREADS` where the machine has the cores.

        A GPU that cannot take the model (CUDA errors are ``RuntimeError`` s: out of memory, a
        driver that fails) is a one-line :class:`ModelLoadError` when "cuda" was asked for; with
        "auto" the model loads on the CPU instead and ``engine.note`` says why."""
        try:
            model, tokenizer, folder, fitted = load_parts(model_dir, device, prior)
            return cls(model, tokenizer, folder, threads, settings, fitted)
        except RuntimeError as exc:
            if not _on_gpu(device):
                raise
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if device != "auto":
                raise ModelLoadError(
                    f"the GPU cannot take the model ({reason}); choose the CPU (--device cpu)"
                ) from exc
            torch.cuda.empty_cache()
        model, tokenizer, folder, fitted = load_parts(model_dir, "cpu", prior)
        engine = cls(model, tokenizer, folder, threads, settings, fitted)
        engine.note = f"the GPU cannot take the model ({reason})"
        log.warning("%s: loaded on the CPU: %s", folder, engine.note)
        return engine

    @property
    def device(self) -> str:
        return self.model.device.type

    @property
    def prior_kind(self) -> str:
        """ "fitted" or "learned": the prior generation and transfer use."""
        return "learned" if self.fitted_prior is None else "fitted"

    # ---- the public calls: each validates, then delegates to one batched path ------------------
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
        s = settings or self.settings
        jobs = batches.generate_batches(self, [target], bars, seed, s, 1, form)
        yield from batches.stream(self, jobs, cancel)

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
        s = settings or self.settings
        jobs = batches.generate_batches(self, targets, bars, seed, s, batch_size, form)
        return batches.finish(self, jobs)

    def continue_piece(
        self,
        song: Song,
        bars: int,
        target: Emotion | None = None,
        variations: int = 1,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        candidates: int = pieces.CONTINUE_CANDIDATES,
    ) -> list[Song]:
        """``variations`` results, each the piece followed by ``bars`` new bars that move from
        its last bars towards ``target`` (``None``: kept), the first new bar the smoothest join of
        ``candidates``; :func:`~emostudio.generation.pieces.continued`."""
        n = check_piece(song)
        bars = check_bars(bars)
        k = pieces.check_variations(variations)
        if n + bars > MAX_BARS:
            raise EngineError(f"the piece and its continuation exceed {MAX_BARS} bars")
        if candidates < 1:
            raise EngineError(f"candidates must be at least 1 (got {candidates})")
        s = settings or self.settings
        return pieces.continued(self, song, n, bars, target, k, seed, s, candidates)

    def fill(
        self,
        song: Song,
        first: int,
        last: int,
        target: Emotion | None = None,
        variations: int = 1,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
        candidates: int = pieces.FILL_CANDIDATES,
    ) -> list[Song]:
        """``variations`` results, each the piece with bars ``first``..``last`` (0-based,
        inclusive) re-written towards ``target`` (``None``: between its neighbours); every other
        bar keeps its notes. :func:`~emostudio.generation.pieces.filled`."""
        n = check_piece(song)
        if not 0 <= first <= last < n:
            raise EngineError(f"bars to fill must lie in 1..{n} (got {first + 1}-{last + 1})")
        k = pieces.check_variations(variations)
        if candidates < 1:
            raise EngineError(f"candidates must be at least 1 (got {candidates})")
        s = settings or self.settings
        return pieces.filled(self, song, n, first, last, target, k, seed, s, candidates)

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
        k = pieces.check_variations(variations)
        n_a, n_b = check_piece(song_a), check_piece(song_b)
        s = settings or self.settings
        return pieces.interpolated(self, song_a, n_a, song_b, n_b, bars, k, seed, s)

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

        ``method``: "edit" (the shipped one: the rules edit the piece's own notes from the
        model's hearing of it, :mod:`emostudio.generation.edit`; the whole result is made at once, then handed out
        bar by bar, the last event's song being the result) or "rewrite" (the moved latents decoded
        with the song as template, bar by bar). ``keep``: the elements that
        stay exactly (edit only; a rewrite keeps the tempo map and nothing else). ``strength`` 0
        returns ``song`` itself, whatever the method."""
        method, free = transfer.check_method(method, keep, strength, dims)
        n_bars = check_piece(song)
        if strength == 0.0:
            yield from batches.bar_events(song, n_bars)
            return
        if method == "edit":
            (result,) = transfer.edited(self, [song], [target], strength, tuple(dims), free)
            yield from batches.bar_events(result, n_bars)
            return
        s = settings or self.settings
        jobs = transfer.rewrite_batches(self, [song], [target], strength, dims, seed, s, 1)
        yield from batches.stream(self, jobs, cancel)

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
        method, free = transfer.check_method(method, keep, strength, dims)
        if strength == 0.0:
            for song in songs:
                check_piece(song)
            return list(songs)
        if method == "edit":
            return transfer.edited(self, songs, targets, strength, tuple(dims), free)
        s = settings or self.settings
        jobs = transfer.rewrite_batches(self, songs, targets, strength, dims, seed, s, batch_size)
        return batches.finish(self, jobs)

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
        latents = transfer.donor_latents(self, song, donor, element)
        s = settings or self.settings
        jobs = batches.decode_batches(self, [latents], [song], seed, s, 1)
        yield from batches.stream(self, jobs, cancel)

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
        return self.decode_many([(z_r, z_k)], seed, settings, 1, templates)[0]

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
        s = settings or self.settings
        jobs = batches.decode_batches(self, latents, templates, seed, s, batch_size)
        return batches.finish(self, jobs)

    def target_latents(
        self,
        target: Emotion | Sequence[Emotion],
        bars: int = 16,
        seed: int | None = None,
        settings: DecodingSettings | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The latents (z_r [bars, l_r], z_k [bars, l_k]) ``generate`` with this seed would decode."""
        s = settings or self.settings
        return batches.target_split(self, targets_per_bar(target, bars), self._generator(seed), s)

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
        return transfer.rewrite_latents(self, song, target, strength, dims, s)

    def recognise(self, song: Song) -> Recognition:
        return self.recognise_many([song])[0]

    def recognise_many(self, songs: Sequence[Song], batch_size: int = 32) -> list[Recognition]:
        """``recognise`` of each song, encoded in batches."""
        return recognition.recognised(self, songs, batch_size)

    def encode(self, song: Song) -> Encoding:
        return recognition.encoded(self, song)

    # ---- the scope every call decodes in ------------------------------------------------------
    @contextlib.contextmanager
    def _decoding(self):
        """Inference mode, one engine call at a time, and the engine's CPU thread count."""
        with self._lock, torch.inference_mode(), self._threads(self.threads):
            yield

    def _encoding(self) -> contextlib.AbstractContextManager:
        """Inside a :meth:`_decoding` scope: :attr:`encode_threads` CPU threads for the encoder
        calls it wraps, then the decoding count again."""
        return self._threads(self.encode_threads)

    @contextlib.contextmanager
    def _threads(self, n: int | None):
        """``n`` torch CPU threads while the scope runs, then the count before (``None``, or a
        model not on the CPU: left alone)."""
        if n is None or self.model.device.type != "cpu" or n == torch.get_num_threads():
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(n)
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

    def _window(self, songs: Sequence[Song], lengths: Sequence[int]) -> torch.Tensor:
        """long[B, T_max, L] on the model's device (:func:`~emostudio.tokens.window.encode_window`)."""
        tokens = encode_window(self.tokenizer, songs, lengths, self.bar_len)
        return torch.as_tensor(tokens, device=self.model.device)

    #: a window row's bars as teacher-forced bars (:func:`~emostudio.generation.batches.given_bars`)
    _given = staticmethod(batches.given_bars)
