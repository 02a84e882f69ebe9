"""The one worker: runs a job generator off the GUI thread and reports its events on the GUI thread.

A *job* is a callable ``job(cancel: threading.Event)`` returning a generator: every value it yields
is a progress event, the value it returns is the result. Model loading, generation, transfer,
recognition, file loading and WAV rendering are all jobs (see :mod:`emostudio.gui.jobs`), so the
window never runs long work itself and never spins ``processEvents()``.

The generator runs in a :class:`QThreadPool` thread. Its events cross to the GUI thread through a
private signal connected with a queued connection to a slot of the worker (which lives on the GUI
thread), and only there are the public ``progress`` / ``result`` / ``error`` / ``finished`` signals
emitted, so whatever is connected to them runs on the GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)

Job = Callable[[threading.Event], Generator[Any, None, Any]]


def one_line(exc: BaseException) -> str:
    """An exception as one line for the status bar: its message, or its type when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Worker(QObject):
    """One run of one job. Create it, connect its signals, then :meth:`start` it (once)."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(str)
    finished = Signal()  # always last, after result or error (also after a cancel)

    _relay = Signal(str, object)  # emitted on the pool thread: (kind, payload)

    def __init__(
        self,
        job: Job,
        name: str = "job",
        parent: QObject | None = None,
        latest_progress_only: bool = False,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = threading.Event()
        self._job = job
        self._running = False
        self._relay.connect(self._deliver, Qt.QueuedConnection)
        # progress that supersedes the one before (a take's song so far): a burst of events is
        # delivered as its latest, once the event loop has had its turn (each drew the take
        # again: an edit transfer's 17 bars arrive within milliseconds and kept the window from
        # its timers for 40-90 ms)
        self._latest_only = latest_progress_only
        self._latest: list[object] = []  # the progress waiting to be delivered (0 or 1)

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def start(self, pool: QThreadPool) -> None:
        if self._running:
            raise RuntimeError(f"worker {self.name!r} already started")
        self._running = True
        pool.start(_Runnable(self._run))

    def cancel(self) -> None:
        """Ask the job to stop at its next check of the cancel flag; ``finished`` follows."""
        self.cancel_event.set()

    def _run(self) -> None:  # on a pool thread
        try:
            events = self._job(self.cancel_event)
            while True:
                try:
                    event = next(events)
                except StopIteration as stop:
                    self._relay.emit("result", stop.value)
                    break
                self._relay.emit("progress", event)
        except Exception as exc:  # any failure of the job is reported, never raised into Qt
            # emostudio's own errors and OS errors are user-facing (a bad file, no sound card): the
            # window shows and logs them; anything else is a bug and keeps its traceback in the log
            if type(exc).__module__.startswith("emostudio") or isinstance(exc, OSError):
                log.debug("%s failed: %s", self.name, one_line(exc))
            else:
                log.warning("%s failed", self.name, exc_info=True)
            self._relay.emit("error", one_line(exc))
        finally:
            self._relay.emit("finished", None)

    @Slot(str, object)
    def _deliver(self, kind: str, payload: object) -> None:  # on the GUI thread
        if kind == "progress" and self._latest_only:
            if not self._latest:
                QTimer.singleShot(0, self, self._deliver_latest)
            self._latest[:] = [payload]
            return
        self._deliver_latest()  # progress goes before what follows it
        if kind == "progress":
            self.progress.emit(payload)
        elif kind == "result":
            self.result.emit(payload)
        elif kind == "error":
            self.error.emit(payload)
        else:
            self._running = False
            self.finished.emit()

    def _deliver_latest(self) -> None:
        if self._latest:
            payload = self._latest.pop()
            self.progress.emit(payload)


#: How much nicer than the GUI thread a worker thread is (Linux: per-thread niceness). Under CPU
#: contention the scheduler then runs the GUI thread first; alone on a core, the worker loses nothing.
WORKER_NICENESS = 5


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self._fn = fn

    def run(self) -> None:
        _lower_this_threads_priority()
        self._fn()


def _lower_this_threads_priority() -> None:
    if not hasattr(os, "setpriority"):  # not on Windows
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if WORKER_NICENESS and current < WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, WORKER_NICENESS)
    except OSError:  # not allowed here: run at the normal priority
        pass


class Workers(QObject):
    """The window's workers: starts them on its own pool and keeps them alive until they finish."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._active: set[Worker] = set()

    def run(
        self,
        job: Job,
        name: str,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        latest_progress_only: bool = False,
        before_start: Callable[[Worker], None] | None = None,
        after_paint: bool = False,
    ) -> Worker:
        """Start ``job``; ``latest_progress_only``: each progress event supersedes the ones
        before it, so a burst is delivered as its latest (see :class:`Worker`);
        ``before_start(worker)``: the window's own changes for the job, made before the job
        runs (once it runs, its Python code shares the interpreter lock with this thread, and
        every Qt call here waits for its turn); ``after_paint``: the job starts in the event
        loop's next pass, once the window has painted those changes (a job running meanwhile
        slowed that paint to 30-50 ms)."""
        worker = Worker(job, name, self, latest_progress_only)
        for signal, slot in (
            (worker.progress, on_progress),
            (worker.result, on_result),
            (worker.error, on_error),
            (worker.finished, on_finished),
        ):
            if slot is not None:
                signal.connect(slot)
        worker.finished.connect(lambda: self._active.discard(worker))
        self._active.add(worker)
        if before_start is not None:
            before_start(worker)
        if after_paint:
            QTimer.singleShot(0, self, lambda: worker.start(self.pool))
        else:
            worker.start(self.pool)
        return worker

    @property
    def active(self) -> list[Worker]:
        return sorted(self._active, key=lambda w: w.name)

    def cancel_all(self) -> None:
        for worker in self._active:
            worker.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has returned (used on close and in tests); False on timeout."""
        return self.pool.waitForDone(msecs)


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
    """A job of one plain call without progress (e.g. reading a file)."""

    def job(cancel: threading.Event) -> Generator[Any, None, Any]:
        return fn(*args, **kwargs)
        yield  # unreachable: it makes ``job`` a generator function

    return job
