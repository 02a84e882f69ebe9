"""The wizard's pages, the choices made on them, and what stops the user from going on.

:class:`WizardFlow` is the whole state of one wizard session, without Qt: the pages only show it,
write the user's choices into it and ask :meth:`WizardFlow.blocker` whether Next is allowed (and
why not). The order is Data -> Model -> Train -> Finish; a previous run can be resumed, which
starts on the Train page.

The rules, each with the sentence the user reads:

- Data: at least one folder, each existing; label files that can be read; the scan finished; at
  least one readable MIDI file and :data:`MIN_BARS` bars of music.
- Model: training from scratch needs :data:`MIN_LABELLED_PER_QUADRANT` labelled clips in every
  quadrant (the emotion components are anchored by labels); otherwise only fine-tuning an existing
  model is offered, which needs one. CUDA only where it is present.
- Train: Next only once the run has produced its model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emostudio.emotion import QUADRANT_NAMES
from emostudio.wizard.labels import LabelSet

#: From scratch, each quadrant needs this many labelled clips (accepted by the scan).
MIN_LABELLED_PER_QUADRANT = 8
#: Less readable music than this cannot fill a training batch of windows of bars.
MIN_BARS = 32


def _default_presets() -> Mapping[str, Mapping]:
    from emostudio.wizard.plan import PRESETS

    return PRESETS


class Page(enum.IntEnum):
    DATA = 0
    MODEL = 1
    TRAIN = 2
    FINISH = 3

    @property
    def title(self) -> str:
        return ("Data", "Model", "Train", "Finish")[self]


class Start(enum.Enum):
    SCRATCH = "scratch"
    FINETUNE = "finetune"


class RunState(enum.Enum):
    NOT_STARTED = "not started"
    RUNNING = "running"
    PAUSED = "paused"  # a checkpoint was saved; Resume continues
    FAILED = "failed"  # crashed, killed or cancelled; the last checkpoint (if any) is kept
    FINISHED = "finished"


class FlowError(RuntimeError):
    """Moving to a page that is not allowed yet; ``str()`` is the reason the user reads."""


@dataclass(frozen=True)
class Rejection:
    path: Path
    reason: str


@dataclass(frozen=True)
class DataSummary:
    """What the scan of the chosen folders found (from the corpus pipeline's report)."""

    cache_dir: Path
    files: int  # MIDI files looked at
    accepted: int
    rejected: tuple[Rejection, ...]
    hours: float
    bars: int
    tokens: int
    labelled: Mapping[int, int]  # quadrant 1..4 -> accepted labelled files

    @property
    def n_labelled(self) -> int:
        return sum(self.labelled.values())

    def lines(self) -> list[str]:
        """The summary as the Data page shows it."""
        counts = ", ".join(
            f"Q{q} {QUADRANT_NAMES[q]} {self.labelled.get(q, 0)}" for q in QUADRANT_NAMES
        )
        return [
            f"{self.accepted} of {self.files} MIDI files accepted, {len(self.rejected)} rejected",
            f"{self.hours:.2f} hours of music, {self.bars} bars, {self.tokens} tokens",
            f"labelled: {self.n_labelled} ({counts})",
        ]


@dataclass
class WizardFlow:
    """The state of one wizard session. Pages write the fields; :meth:`blocker` judges them."""

    #: Model folders that can be fine-tuned (the default model, the one loaded in the window).
    base_models: Sequence[Path] = ()
    cuda_available: bool = False

    folders: list[Path] = field(default_factory=list)
    csv_file: Path | None = None
    labels: LabelSet | None = None
    scan: DataSummary | None = None
    scan_error: str | None = None
    scanning: bool = False

    start: Start = Start.SCRATCH
    base_model: Path | None = None
    #: size presets offered: name -> ModelConfig values (emostudio.wizard.plan.PRESETS by default)
    presets: Mapping[str, Mapping] = field(default_factory=lambda: dict(_default_presets()))
    preset: str = "small"
    #: TrainConfig values that replace the wizard's training defaults (tests use tiny batches)
    train_defaults: Mapping[str, object] = field(default_factory=dict)
    device: str = "cpu"
    epochs: int = 30
    seconds_per_epoch: float | None = None

    run_dir: Path | None = None
    run_state: RunState = RunState.NOT_STARTED
    page: Page = Page.DATA

    # ---- data ------------------------------------------------------------------------------------
    def set_folders(
        self, folders: Sequence[str | Path], csv_file: str | Path | None = None
    ) -> None:
        """New folder choice: forgets labels and scan, which belong to the old choice."""
        self.folders = [Path(f) for f in folders]
        self.csv_file = Path(csv_file) if csv_file is not None else None
        self.labels = None
        self.scan = None
        self.scan_error = None

    def data_blocker(self) -> str | None:
        if not self.folders:
            return "Choose at least one folder of MIDI files."
        missing = [f for f in self.folders if not f.is_dir()]
        if missing:
            return f"Folder not found: {missing[0]}"
        if self.labels is not None and self.labels.fatal:
            return f"Cannot use the labels: {self.labels.fatal}"
        if self.scanning:
            return "Scanning the folders..."
        if self.scan_error is not None:
            return f"The scan failed: {self.scan_error}"
        if self.scan is None or self.labels is None:
            return "Scan the folders first."
        if self.scan.files == 0:
            names = ", ".join(f.name or str(f) for f in self.folders)
            return f"No MIDI files (.mid, .midi) in {names}."
        if self.scan.accepted == 0:
            first = self.scan.rejected[0].reason if self.scan.rejected else "unreadable"
            return f"None of the {self.scan.files} MIDI files can be used (e.g. {first})."
        if self.scan.bars < MIN_BARS:
            return (
                f"Only {self.scan.bars} bars of usable music; training needs at least {MIN_BARS}."
            )
        if not self.allowed_starts():
            return (
                "These files are unlabelled (or too few are labelled) and there is no model to "
                "fine-tune: add labels (a CSV, one sub-folder per emotion or Q1_... names) or "
                "load a model first."
            )
        return None

    # ---- model -----------------------------------------------------------------------------------
    def scratch_blocker(self) -> str | None:
        """Why training from scratch is impossible with this data (None when it is possible)."""
        if self.scan is None:
            return "Scan the folders first."
        short = [
            q for q in QUADRANT_NAMES if self.scan.labelled.get(q, 0) < MIN_LABELLED_PER_QUADRANT
        ]
        if not short:
            return None
        if self.scan.n_labelled == 0:
            return (
                "The data is unlabelled: a new model needs labelled clips to anchor its emotion "
                "components. Fine-tune an existing model instead."
            )
        q = short[0]
        return (
            f"Training from scratch needs at least {MIN_LABELLED_PER_QUADRANT} labelled clips in "
            f"each quadrant; Q{q} {QUADRANT_NAMES[q]} has {self.scan.labelled.get(q, 0)}. "
            "Add labels or fine-tune an existing model."
        )

    def allowed_starts(self) -> tuple[Start, ...]:
        starts = []
        if self.scratch_blocker() is None:
            starts.append(Start.SCRATCH)
        if self.base_models:
            starts.append(Start.FINETUNE)
        return tuple(starts)

    def choose_start(self, start: Start, base_model: Path | None = None) -> None:
        self.start = start
        if start is Start.FINETUNE:
            self.base_model = base_model or (self.base_models[0] if self.base_models else None)
        else:
            self.base_model = None
        self.seconds_per_epoch = None  # measured for another setting

    def model_blocker(self) -> str | None:
        if self.start is Start.SCRATCH:
            reason = self.scratch_blocker()
            if reason:
                return reason
        else:
            if self.base_model is None:
                return "Choose a model to fine-tune."
            if not (self.base_model / "config.json").is_file():
                return f"Not a model folder (no config.json): {self.base_model}"
        if self.start is Start.SCRATCH and self.preset not in self.presets:
            return f"Unknown size preset {self.preset!r}."
        if self.epochs < 1:
            return "Train for at least one epoch."
        if self.device == "cuda" and not self.cuda_available:
            return "CUDA is not available on this machine; choose CPU."
        if self.device not in ("cpu", "cuda"):
            return f"Unknown device {self.device!r}."
        return None

    # ---- train -----------------------------------------------------------------------------------
    def train_blocker(self) -> str | None:
        if self.run_state is RunState.FINISHED:
            return None
        return {
            RunState.NOT_STARTED: "Start the training first.",
            RunState.RUNNING: "Training is running.",
            RunState.PAUSED: "Training is paused: resume it to finish the model.",
            RunState.FAILED: "Training stopped before it finished: resume it from its checkpoint.",
        }[self.run_state]

    # ---- navigation ------------------------------------------------------------------------------
    def blocker(self, page: Page | None = None) -> str | None:
        """Why Next is not allowed on ``page`` (the current page by default)."""
        page = self.page if page is None else page
        if page is Page.DATA:
            return self.data_blocker()
        if page is Page.MODEL:
            return self.model_blocker()
        if page is Page.TRAIN:
            return self.train_blocker()
        return "This is the last page."

    def can_go_back(self) -> bool:
        """Back from Model always; from Train only before the run exists (its settings are then
        fixed: a new model means a new wizard); never from Data or Finish."""
        if self.page is Page.MODEL:
            return True
        return self.page is Page.TRAIN and self.run_state is RunState.NOT_STARTED

    def next(self) -> Page:
        reason = self.blocker()
        if reason:
            raise FlowError(reason)
        self.page = Page(self.page + 1)
        return self.page

    def back(self) -> Page:
        if not self.can_go_back():
            raise FlowError(f"Cannot go back from {self.page.title} now.")
        self.page = Page(self.page - 1)
        return self.page

    def resume_run(self, run_dir: Path) -> Page:
        """Continue a run folder from an earlier session: straight to the Train page."""
        self.run_dir = Path(run_dir)
        self.run_state = RunState.PAUSED
        self.page = Page.TRAIN
        return self.page
