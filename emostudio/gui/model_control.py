"""The model's side of the window: load an engine, and run generations, transfers and recognitions.

One model job runs at a time (the engine decodes one piece at a time); recognitions asked for
while the model is busy wait in a queue. Each job is a :mod:`emostudio.gui.jobs` generator run by
the window's :class:`~emostudio.gui.worker.Workers`; this object turns its events into changes of
the :class:`~emostudio.gui.document.Document` and into signals the window shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from emostudio.decoding import MAX_BARS
from emostudio.emotion import Emotion
from emostudio.gui import edits, jobs
from emostudio.gui.curve import curve_to_bars
from emostudio.gui.document import Document, Take
from emostudio.gui.transform_panel import TransformOptions
from emostudio.gui.worker import Worker, Workers
from emostudio.midi import Song
from emostudio.progress import Progress


class ModelControl(QObject):
    message = Signal(str, bool)  # text, is an error
    loading = Signal(str)  # what is being loaded
    ready = Signal(object)  # the Engine
    failed = Signal(str)  # why the model could not be loaded (the previous one, if any, stays)
    cuda_checked = Signal(bool)  # whether CUDA is available
    busy_changed = Signal(bool)
    job_started = Signal(object, int)  # Take, bars to make
    job_progress = Signal(int, int)  # bars done, bars in all
    first_bars = Signal(object)  # Take: its first bars exist (playback may start)
    take_done = Signal(object)  # Take: complete (also after a cancel that kept bars)

    def __init__(
        self,
        document: Document,
        workers: Workers,
        model_dir: Path | None = None,
        device: str = "auto",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.workers = workers
        self.engine = None  # emostudio.generation.Engine, once loaded
        self.model_dir = model_dir  # None: the shipped default model
        self.device = device
        self._job: Worker | None = None
        self._pending: list[tuple[Take | None, Song]] = []  # recognitions waiting for the model
        # (generate or transfer, its options) waiting for a recognition to end
        self._deferred = None
        document.input_changed.connect(self._on_input_changed)

    @property
    def busy(self) -> bool:
        return self._job is not None

    # ---- loading ---------------------------------------------------------------------------
    def load(self, model_dir: Path | None = None) -> Worker:
        """Load a model folder (None: the default) in the background; the current one stays meanwhile."""
        where = str(model_dir) if model_dir else "the default model"
        self.loading.emit(where)
        self.message.emit(f"loading model… ({where}, device {self.device})", False)

        def loaded(result: jobs.LoadedModel) -> None:
            self.engine, self.model_dir = result.engine, model_dir
            self.cuda_checked.emit(result.cuda_available)
            self.ready.emit(self.engine)
            name = Path(self.engine.model_dir).name
            note = f" ({self.engine.note})" if self.engine.note else ""
            self.message.emit(f"ready: model {name} on {self.engine.device}{note}", False)
            if self.document.input_song is not None:
                self.recognise(None, self.document.input_song)
            self.hear_takes()

        def failed(reason: str) -> None:
            kept = " (the previous model is still in use)" if self.engine is not None else ""
            self.failed.emit(reason)
            self.message.emit(f"cannot load the model: {reason}{kept}", True)

        return self.workers.run(
            jobs.load_model_job(model_dir, self.device),
            "load model",
            on_result=loaded,
            on_error=failed,
        )

    def set_device(self, device: str) -> Worker | None:
        """Run on ``device`` from now on: the model is loaded again there."""
        self.device = device
        if self.engine is not None or self.model_dir is not None:
            return self.load(self.model_dir)
        return None

    # ---- generate / transfer -----------------------------------------------------------------
    def target_for(self, n_bars: int) -> Emotion | list[Emotion]:
        """The pad's target: the drawn curve spread over ``n_bars`` bars, else the point."""
        if self.document.curve:
            return curve_to_bars(self.document.curve, n_bars)
        return self.document.target

    def start_when_free(self, request, o: TransformOptions, waiting: str) -> Worker | None:
        """``request(o)`` now, or as soon as the job running ends (a pick on the pad or a new λ
        while a piece is being made: the latest waits, earlier waiting ones are dropped);
        ``waiting``: what the status bar says meanwhile."""
        if self.engine is not None and self._job is not None:
            self._deferred = (request, o)
            self.message.emit(waiting, False)
            return None
        return request(o)

    def generate(self, o: TransformOptions) -> Worker | None:
        if not self._can_start(self.generate, o):
            return None
        target = self.target_for(o.bars)
        if o.variations > 1:
            takes = self._new_takes("generate", target, describe(o, transfer=False), o.variations)
            job = jobs.variations_job(
                self.engine, target, o.bars, self._settings(o), o.seed, o.form, o.variations
            )
            return self._run_takes(takes, job, o.bars, "generate")
        take = self.document.new_take("generate", target, describe(o, transfer=False))
        return self._run_take(
            take,
            jobs.generate_job(self.engine, target, o.bars, self._settings(o), o.seed, o.form),
            o.bars,
            "generate",
        )

    def fill(self, first: int, last: int, o: TransformOptions) -> Worker | None:
        """Re-write bars ``first``..``last`` (0-based) of the current take, or of the input when
        there is none, keeping every other bar: ``o.variations`` new takes."""
        if not self._can_start(lambda options: self.fill(first, last, options), o):
            return None
        song = self.document.working_piece()
        if song is None:
            self.message.emit("generate or open a piece, then select bars to fill", True)
            return None
        if last >= song.n_bars:
            self.message.emit(f"the piece has {song.n_bars} bars: select bars inside it", True)
            return None
        details = f"bars {first + 1}-{last + 1} re-written; {describe(o, transfer=False)}"
        takes = self._new_takes("fill", self.document.target, details, o.variations)
        for take in takes:
            self.document.rename_take(take, f"{take.number} · fill bars {first + 1}-{last + 1}")
        job = jobs.fill_job(self.engine, song, first, last, self._settings(o), o.seed, o.variations)
        return self._run_takes(takes, job, song.n_bars, "fill", new_bars=(first, last + 1))

    def continue_piece(self, o: TransformOptions) -> Worker | None:
        """``o.bars`` new bars after the current take, or after the input when there is none,
        moving towards the pad's target: ``o.variations`` new takes, each the whole piece."""
        if not self._can_start(self.continue_piece, o):
            return None
        song = self.document.working_piece()
        if song is None or song.note_count == 0:
            self.message.emit("generate or open a piece to continue", True)
            return None
        if song.n_bars + o.bars > MAX_BARS:
            self.message.emit(f"the piece and {o.bars} more bars exceed {MAX_BARS} bars", True)
            return None
        target = self.document.target
        details = f"{o.bars} bars after bar {song.n_bars}; {describe(o, transfer=False)}"
        takes = self._new_takes("continue", target, details, o.variations)
        for take in takes:
            self.document.rename_take(take, f"{take.number} · continued +{o.bars} bars")
        job = jobs.continue_job(
            self.engine, song, o.bars, target, self._settings(o), o.seed, o.variations
        )
        n = song.n_bars
        return self._run_takes(takes, job, n + o.bars, "continue", new_bars=(n, n + o.bars))

    def transfer(self, o: TransformOptions) -> Worker | None:
        if not self._can_start(self.transfer, o):
            return None
        song = self.document.input_song
        if song is None:
            self.message.emit("open or drop a MIDI file to transfer first", True)
            return None
        if not o.dims:
            self.message.emit("tick arousal and/or valence to transfer", True)
            return None
        n_bars = min(jobs.LONG_PIECE_BARS if o.whole_piece else o.bars, max(1, song.n_bars))
        target = self.target_for(n_bars)
        take = self.document.new_take("transfer", target, describe(o, transfer=True))
        job = jobs.transfer_job(
            self.engine,
            song,
            target,
            o.strength,
            o.dims,
            self._settings(o),
            o.seed,
            n_bars,
            o.method,
            o.keep,
        )
        return self._run_take(take, job, n_bars, "transfer")

    def take_element(self, element: str, o: TransformOptions) -> Worker | None:
        """The input with the donor piece's "rhythm" or "key" (its latents; the input's others)."""
        if not self._can_start(lambda opts: self.take_element(element, opts), o):
            return None
        song, donor = self.document.input_song, self.document.donor_song
        if song is None or donor is None:
            self.message.emit("open an input and a donor piece first", True)
            return None
        n_bars = min(jobs.LONG_PIECE_BARS if o.whole_piece else o.bars, max(1, song.n_bars))
        name = self.document.donor_path.stem if self.document.donor_path else "the donor"
        seed = "random seed" if o.seed is None else f"seed {o.seed}"
        bars = "whole piece" if o.whole_piece else f"first {o.bars} bars"
        details = f"the {element} of {name}; {bars}, temperature {o.temperature:g}, {seed}"
        take = self.document.new_take("transfer", self.document.target, details)
        job = jobs.element_job(self.engine, song, donor, element, self._settings(o), o.seed, n_bars)
        return self._run_take(take, job, n_bars, f"taking the {element}")

    def _settings(self, o: TransformOptions):
        """The engine's decoding settings with the panel's temperature, cadence, bass and pedal."""
        return self.engine.settings.replace(
            temperature=o.temperature, cadence=o.cadence, bass=o.bass, pedal=o.pedal
        )

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.message.emit("cancelling…", False)

    def _can_start(self, request, options: TransformOptions) -> bool:
        """Whether a take job may start now. While the model is only listening to a piece (a few
        seconds at most), the request waits for it and starts right after."""
        if self.engine is None:
            self.message.emit(
                "no model yet: wait for it to load, or load one from the Model menu", True
            )
            return False
        if self._job is not None:
            if self._job.name == "recognise" and self._deferred is None:
                self._deferred = (request, options)
                self.message.emit("starting as soon as the model has listened to the piece…", False)
            else:
                self.message.emit("the model is busy: wait, or Cancel (Esc)", True)
            return False
        return True

    def _run_take(self, take: Take, job, total: int, verb: str) -> Worker:
        self.job_started.emit(take, total)
        self.message.emit(f"{verb}: {take.name}…", False)
        announced = False

        def progress(p: Progress) -> None:
            nonlocal announced
            self.job_progress.emit(p.done, p.total)
            if p.song is not None:
                self.document.update_take(take, song=p.song)
                if not announced:
                    announced = True
                    self.first_bars.emit(take)

        def result(song: Song | None) -> None:
            if song is not None:
                self.document.update_take(take, song=song)

        def finished() -> None:
            cancelled = worker.cancelled
            if take.song is None or take.song.note_count == 0:
                self.document.remove_take(take)
                what = "cancelled" if cancelled else "made no notes"
                self.message.emit(f"{verb} {what}: no take kept", not cancelled)
            else:
                self.document.update_take(take, complete=True)
                edits.made_takes(self.document, [take], verb)
                self.take_done.emit(take)
                note = "cancelled, the bars done so far are kept" if cancelled else "done"
                self.message.emit(
                    f"{take.name}: {note} ({take.song.n_bars} bars, {take.song.note_count} notes)",
                    False,
                )
                self._pending.append((take, take.song))
            self._job_done()

        worker = self.workers.run(
            job,
            verb,
            on_progress=progress,
            on_result=result,
            on_error=lambda reason: self.message.emit(f"{verb} failed: {reason}", True),
            latest_progress_only=True,  # each carries the take's song so far
            before_start=self._as_the_job(finished),
            after_paint=True,  # the take's start is on screen before the job runs
        )
        return worker

    def _new_takes(self, kind: str, target, details: str, count: int) -> list[Take]:
        """``count`` new takes (variations i of count when more than one), the first current."""
        takes = []
        for i in range(count):
            note = f"; variation {i + 1} of {count}" if count > 1 else ""
            takes.append(self.document.new_take(kind, target, details + note))
        self.document.set_current(takes[0])
        return takes

    def _run_takes(
        self,
        takes: list[Take],
        job,
        total: int,
        verb: str,
        new_bars: tuple[int, int] | None = None,
    ) -> Worker:
        """A job that returns one song per take (variations decoded as one batch); ``new_bars``
        (first, end): the bars it writes into a piece, which the takes' recognitions hear."""
        self.job_started.emit(takes[0], total)
        self.message.emit(f"{verb}: {len(takes)} take(s)…", False)

        def result(songs: list[Song] | None) -> None:
            for take, song in zip(takes, songs or []):
                self.document.update_take(take, song=song)

        def finished() -> None:
            kept = [t for t in takes if t.song is not None and t.song.note_count]
            for take in takes:
                if take not in kept:
                    self.document.remove_take(take)
            for take in kept:
                assert take.song is not None
                take.new_bars = new_bars
                self.document.update_take(take, complete=True)
                self.take_done.emit(take)
                self._pending.append((take, take.heard_song))
            if kept:
                edits.made_takes(self.document, kept, verb)
                self.message.emit(f"{verb}: {len(kept)} take(s) done", False)
            else:
                what = "cancelled" if worker.cancelled else "made no notes"
                self.message.emit(f"{verb} {what}: no take kept", not worker.cancelled)
            self._job_done()

        worker = self.workers.run(
            job,
            verb,
            on_result=result,
            on_error=lambda reason: self.message.emit(f"{verb} failed: {reason}", True),
            before_start=self._as_the_job(finished),
            after_paint=True,  # the take's start is on screen before the job runs
        )
        return worker

    # ---- recognise ---------------------------------------------------------------------------
    def recognise(self, take: Take | None, song: Song) -> None:
        """Hear the emotion of the input (``take`` None) or of a take; queued while the model is busy."""
        if self.engine is None:
            return
        if self._job is not None:
            self._pending.append((take, song))
            return

        def heard(recognition) -> None:
            if take is None:
                if song is self.document.input_song:
                    self.document.set_input_recognition(recognition)
            elif take in self.document.takes:
                self.document.set_take_recognition(take, recognition)

        self.workers.run(
            jobs.recognise_job(self.engine, song),
            "recognise",
            on_result=heard,
            on_error=lambda reason: self.message.emit(
                f"cannot recognise the emotion: {reason}", True
            ),
            before_start=self._as_the_job(self._job_done),
        )

    def hear_takes(self) -> None:
        """Recognise the finished takes not heard yet (restored ones, or made before a model)."""
        waiting = {id(t) for t, _ in self._pending}
        for take in self.document.takes:
            if take.finished and take.recognition is None and id(take) not in waiting:
                self.recognise(take, take.heard_song)

    def _on_input_changed(self) -> None:
        if self.document.input_song is not None:
            self.recognise(None, self.document.input_song)

    def _as_the_job(self, finished: Callable[[], None]) -> Callable[[Worker], None]:
        """A worker's ``before_start`` hook: it becomes the model's job (the window shows it
        busy) and ``finished`` follows its end."""

        def hook(worker: Worker) -> None:
            worker.finished.connect(finished)
            self._job_started(worker)

        return hook

    def _job_started(self, worker: Worker) -> None:
        self._job = worker
        self.busy_changed.emit(True)

    def _job_done(self) -> None:
        self._job = None
        if self._deferred is not None:
            request, options = self._deferred
            self._deferred = None
            if request(options) is not None:
                return
        if self._pending:
            take, song = self._pending.pop(0)
            self.recognise(take, song)
        if self._job is None:
            self.busy_changed.emit(False)


def describe(o: TransformOptions, transfer: bool) -> str:
    """The settings a take was made with, for its tooltip."""
    seed = "random seed" if o.seed is None else f"seed {o.seed}"
    bass = f", bass {o.bass:g}" if o.bass > 0 else ""
    if transfer:
        bars = "whole piece" if o.whole_piece else f"first {o.bars} bars"
        kept = f", keeping {', '.join(o.keep)}" if o.keep else ""
        return (
            f"{o.method} λ {o.strength:.2f} on {' + '.join(o.dims)}{kept}; {bars}, "
            f"temperature {o.temperature:g}{bass}, {seed}"
        )
    cadence = f", cadence {o.cadence:g}" if o.cadence > 0 else ""
    return f"{o.bars} bars, form {o.form}{cadence}, temperature {o.temperature:g}{bass}, {seed}"
