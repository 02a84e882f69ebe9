"""The ``emostudio train`` child process: its JSON events, pause and kill, and how it ended.

Training runs in a child process so that a crash, an out-of-memory kill or a cancel never takes
the window down. The child prints one JSON event per line on stdout (the schema is
:mod:`emostudio.training.events`); its stderr (logging, tracebacks) goes to ``RUN_DIR/train.log``.
SIGTERM asks it to save a checkpoint and exit 0: that is Pause, and also Cancel (a run is never
thrown away; the last checkpoint stays resumable).

- :func:`parse_event` turns one stdout line into an event dict, or None for any other text;
- :class:`RunProgress` accumulates events into what the Train page shows (progress, times,
  curves, best validation metrics) and reads a resumed run's history from ``metrics.jsonl``;
- :class:`TrainingProcess` starts the child, yields its events (:meth:`TrainingProcess.events` is
  a job for the GUI worker) and ends with an :class:`Outcome`: the state, a clear message and the
  log tail.
"""

from __future__ import annotations

import enum
import json
import logging
import math
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emostudio.training.checkpoint import RESUME_JSON, RESUME_WEIGHTS
from emostudio.training.events import KINDS
from emostudio.wizard.flow import RunState

log = logging.getLogger(__name__)

LOG_FILE = "train.log"
METRICS_FILE = "metrics.jsonl"
LOG_TAIL_LINES = 40
#: Seconds a paused or cancelled child gets to save its checkpoint before it is killed.
STOP_GRACE_S = 120.0
_OOM_MARKERS = ("out of memory", "MemoryError", "std::bad_alloc", "Cannot allocate memory")


def parse_event(line: str) -> dict | None:
    """One line of the child's stdout -> its event dict, or None when it is not an event."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("event") not in KINDS:
        return None
    return value


def format_duration(seconds: float | None) -> str:
    """``3725`` -> ``1 h 02 min``; ``75`` -> ``1 min 15 s``; None -> ``-``."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@dataclass
class RunProgress:
    """What the Train page shows, accumulated from events (no Qt)."""

    max_steps: int = 0
    step: int = 0
    epoch_steps: int = 0
    device: str = ""
    # curves: training loss per logged step, validation metrics per epoch
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # the weighted total
    # the token term, comparable with validation
    token_losses: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_token_loss: list[float] = field(default_factory=list)
    val_token_accuracy: list[float] = field(default_factory=list)
    val_arousal: list[float] = field(default_factory=list)
    val_valence: list[float] = field(default_factory=list)
    best: dict | None = None
    checkpoint_step: int | None = None  # of the last resumable checkpoint
    done_reason: str | None = None
    error: str | None = None
    # times of this invocation of the child
    elapsed_s: float = 0.0
    _first_step: int | None = None
    _first_elapsed: float = 0.0

    def update(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "start":
            self.max_steps = int(ev.get("max_steps", 0))
            self.step = int(ev.get("step", 0))
            self.epoch_steps = int(ev.get("epoch_steps", 0))
            self.device = str(ev.get("device", ""))
            self._first_step, self._first_elapsed, self.elapsed_s = self.step, 0.0, 0.0
            self.done_reason = self.error = None
        elif kind == "step":
            self._add_step(ev)
            self.elapsed_s = float(ev.get("elapsed_s", self.elapsed_s))
        elif kind == "val":
            self._add_val(ev)
        elif kind == "checkpoint" and ev.get("kind") == "last":  # "last" carries the resume state
            self.checkpoint_step = int(ev.get("step", 0))
        elif kind == "done":
            self.step = int(ev.get("step", self.step))
            self.done_reason = ev.get("reason")
            if ev.get("best"):
                self.best = ev["best"]
            self.elapsed_s = float(ev.get("elapsed_s", self.elapsed_s))
        elif kind == "error":
            self.error = str(ev.get("message", "unknown error"))

    def _add_step(self, ev: dict) -> None:
        self.step = int(ev.get("step", self.step))
        loss = ev.get("loss")
        if loss is not None:
            self.steps.append(self.step)
            self.losses.append(float(loss))
            token = (ev.get("losses") or {}).get("token")
            self.token_losses.append(math.nan if token is None else float(token))

    def _add_val(self, ev: dict) -> None:
        metrics = ev.get("metrics") or {}
        self.val_steps.append(int(ev.get("step", self.step)))
        for name, values in (
            ("token_loss", self.val_token_loss),
            ("token_accuracy", self.val_token_accuracy),
            ("arousal_accuracy", self.val_arousal),
            ("valence_accuracy", self.val_valence),
        ):
            value = metrics.get(name)
            values.append(math.nan if value is None else float(value))
        if ev.get("best"):
            self.best = {**metrics, "step": int(ev.get("step", self.step))}

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.max_steps) if self.max_steps else 0.0

    def remaining_s(self) -> float | None:
        """From this invocation's pace (validations included); None before two steps are seen."""
        if self._first_step is None or self.max_steps == 0:
            return None
        done = self.step - self._first_step
        if done <= 0 or self.elapsed_s <= 0:
            return None
        return self.elapsed_s / done * max(0, self.max_steps - self.step)

    @classmethod
    def from_history(cls, run_dir: Path) -> RunProgress:
        """The curves of a run so far (``metrics.jsonl``), to continue them when it resumes."""
        progress = cls()
        path = Path(run_dir) / METRICS_FILE
        if path.is_file():
            with path.open() as handle:
                for line in handle:
                    ev = parse_event(line)
                    if ev is None:
                        continue
                    if ev["event"] == "step":
                        progress._add_step(ev)
                    elif ev["event"] == "val":
                        progress._add_val(ev)
        resume = checkpoint_info(run_dir)
        if resume is not None:
            progress.step = progress.checkpoint_step = resume["step"]
            progress.max_steps = resume["max_steps"]
            progress.best = resume["best"] or progress.best
        return progress


def checkpoint_info(run_dir: Path) -> dict | None:
    """``{"step", "max_steps", "best"}`` of the run's resume state, or None when there is none."""
    run_dir = Path(run_dir)
    if not (run_dir / RESUME_WEIGHTS).is_file():
        return None
    try:
        meta = json.loads((run_dir / RESUME_JSON).read_text())
        return {
            "step": int(meta["step"]),
            "max_steps": int(meta["train"]["max_steps"]),
            "best": meta.get("best_metrics"),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Stop(enum.Enum):
    NONE = "none"
    PAUSE = "pause"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Outcome:
    """How a child process ended, for the Train page."""

    state: RunState
    message: str
    returncode: int | None
    log_tail: tuple[str, ...] = ()
    checkpoint_step: int | None = None


def describe_exit(
    returncode: int | None,
    progress: RunProgress,
    stop: Stop,
    log_tail: Sequence[str],
    run_dir: Path,
) -> Outcome:
    """The state and the sentence the user reads when the child has ended."""
    checkpoint = checkpoint_info(run_dir)
    step = checkpoint["step"] if checkpoint else None
    kept = (
        f"The last checkpoint (step {step}) is kept in {run_dir}; Resume continues from it."
        if checkpoint
        else "No checkpoint had been saved yet; Resume starts the run again."
    )
    tail = tuple(log_tail)
    if returncode == 0 and progress.done_reason == "finished":
        return Outcome(
            RunState.FINISHED, f"Training finished after {progress.step} steps.", 0, tail, step
        )
    if returncode == 0 and progress.done_reason in ("cancelled", "time_budget"):
        if stop is Stop.CANCEL:
            return Outcome(
                RunState.FAILED,
                f"Training cancelled at step {progress.step}. {kept}",
                0,
                tail,
                step,
            )
        return Outcome(RunState.PAUSED, f"Paused at step {progress.step}. {kept}", 0, tail, step)
    text = "\n".join(tail)
    out_of_memory = any(marker in text for marker in _OOM_MARKERS)
    if returncode is not None and returncode < 0:
        name = _signal_name(-returncode)
        if -returncode == signal.SIGKILL:
            why = (
                f"The training process was killed ({name}), most likely because the system ran out "
                "of memory (or it was stopped from outside). Try a smaller size preset."
            )
        else:
            why = f"The training process was killed by signal {name}."
    elif out_of_memory:
        why = "The training process ran out of memory. Try a smaller size preset, or the CPU."
    elif progress.error:
        why = f"Training failed: {progress.error}"
    elif returncode == 0:
        why = "The training process ended without finishing."
    else:
        why = f"The training process crashed (exit code {returncode})."
    return Outcome(RunState.FAILED, f"{why} {kept}", returncode, tail, step)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class TrainingProcess:
    """One invocation of ``emostudio train`` (``command`` from :meth:`RunPlan.command`)."""

    def __init__(
        self, command: Sequence[str], run_dir: str | Path, progress: RunProgress | None = None
    ) -> None:
        self.command = list(command)
        self.run_dir = Path(run_dir)
        self.progress = progress if progress is not None else RunProgress()
        self.stop = Stop.NONE
        self.outcome: Outcome | None = None
        self._process: subprocess.Popen | None = None
        self._log_start = 0
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("this training process was already started")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.run_dir / LOG_FILE
        with log_path.open("ab") as log_file:
            self._log_start = log_file.tell()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            log.info("starting: %s", " ".join(self.command))
            # its own session: a Ctrl-C meant for the window's terminal does not reach the child
            self._process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
                env=env,
                start_new_session=True,
            )

    def pause(self) -> None:
        """SIGTERM: the child saves a checkpoint and exits 0."""
        self._request(Stop.PAUSE)

    def cancel(self) -> None:
        """Like pause (the checkpoint is kept), but the run is reported as cancelled."""
        self._request(Stop.CANCEL)

    def _request(self, stop: Stop) -> None:
        with self._lock:
            if stop is Stop.CANCEL or self.stop is Stop.NONE:
                self.stop = stop
            if self.running:
                self._process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, no checkpoint: what a crash or the OOM killer does (tests, last resort)."""
        if self.running:
            self._process.kill()

    def events(self, cancel: threading.Event | None = None) -> Iterator[dict | str]:
        """Start the child and yield each event dict (and each other stdout line as a str); returns
        the :class:`Outcome`. A set ``cancel`` (the worker's flag) pauses the child."""
        if self._process is None:
            self.start()
        process = self._process
        assert process.stdout is not None
        paused_for_cancel = False
        for line in process.stdout:
            if cancel is not None and cancel.is_set() and not paused_for_cancel:
                self.pause()
                paused_for_cancel = True
            ev = parse_event(line)
            if ev is None:
                if line.strip():
                    yield line.rstrip("\n")
                continue
            self.progress.update(ev)
            yield ev
        try:
            returncode = process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
        self.outcome = describe_exit(
            returncode, self.progress, self.stop, self.log_tail(), self.run_dir
        )
        log.info("training process ended: %s", self.outcome.message)
        return self.outcome

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last lines this invocation wrote to ``train.log``."""
        path = self.run_dir / LOG_FILE
        try:
            with path.open("rb") as handle:
                handle.seek(self._log_start)
                data = handle.read()
        except OSError:
            return []
        return list(deque(data.decode("utf-8", "replace").splitlines(), maxlen=lines))

    def wait(self, timeout: float | None = None) -> int | None:
        if self._process is None:
            return None
        return self._process.wait(timeout=timeout)
