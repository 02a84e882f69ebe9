"""Data page: folders, label file, the background scan and what it found; or an earlier run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.corpus import Progress
from emostudio.gui.worker import Worker, Workers
from emostudio.wizard.flow import WizardFlow
from emostudio.wizard.labels import LabelSet
from emostudio.wizard.runs import RunInfo, list_runs
from emostudio.wizard.scan import ScanResult, scan

STAGES = {"hash": "checking files", "process": "reading MIDI", "write": "writing the cache"}


class DataPage(QWidget):
    changed = Signal()
    resume_requested = Signal(object)  # RunInfo

    def __init__(
        self,
        flow: WizardFlow,
        workers: Workers,
        cache_root: Path,
        runs_root: Path,
        scan_jobs: int = 1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.workers = workers
        self.cache_root = Path(cache_root)
        self.runs_root = Path(runs_root)
        self.scan_jobs = scan_jobs
        self._scan: Worker | None = None

        intro = QLabel(
            "Choose one or more folders of MIDI files. Labels are optional: a CSV "
            "(file + quadrant, or file + valence + arousal), one sub-folder per emotion "
            "(happy / tense / sad / calm or Q1..Q4), or EMOPIA-style names (Q1_...)."
        )
        intro.setWordWrap(True)
        self.folder_list = QListWidget()
        self.folder_list.setMaximumHeight(90)
        self.add_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.csv_button = QPushButton("Labels CSV…")
        self.csv_button.setToolTip(
            "Use this CSV for the labels instead of what is found in the folders"
        )
        self.clear_csv_button = QPushButton("No CSV")
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.csv_button, self.clear_csv_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.labels_label = QLabel("Labels: -")
        self.labels_label.setWordWrap(True)
        self.scan_progress = QProgressBar()
        self.scan_progress.setVisible(False)
        self.summary_label = QLabel("No folder scanned yet.")
        self.summary_label.setWordWrap(True)
        self.problem_list = QListWidget()
        self.problem_list.setToolTip("Rejected files and label problems, with the reason")
        found = QGroupBox("What the scan found")
        found_layout = QVBoxLayout(found)
        for w in (
            self.labels_label,
            self.scan_progress,
            self.summary_label,
            QLabel("Rejected files and label problems:"),
            self.problem_list,
        ):
            found_layout.addWidget(w)

        self.runs_combo = QComboBox()
        self.resume_button = QPushButton("Resume this run")
        resume_box = QGroupBox("Or continue an earlier run")
        resume_row = QHBoxLayout(resume_box)
        resume_row.addWidget(self.runs_combo, 1)
        resume_row.addWidget(self.resume_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.folder_list)
        layout.addLayout(buttons)
        layout.addWidget(found, 1)
        layout.addWidget(resume_box)

        self.add_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self._remove_folder)
        self.csv_button.clicked.connect(self._choose_csv)
        self.clear_csv_button.clicked.connect(lambda: self.set_csv(None))
        self.resume_button.clicked.connect(self._resume)
        self.refresh_runs()

    # ---- choices ---------------------------------------------------------------------------------
    def add_folders(self, folders) -> None:
        current = list(self.flow.folders)
        for folder in folders:
            folder = Path(folder)
            if folder not in current:
                current.append(folder)
        self._set(current, self.flow.csv_file)

    def set_csv(self, csv_file: Path | None) -> None:
        self._set(list(self.flow.folders), Path(csv_file) if csv_file else None)

    def _set(self, folders: list[Path], csv_file: Path | None) -> None:
        self.flow.set_folders(folders, csv_file)
        self.folder_list.clear()
        self.folder_list.addItems([str(f) for f in folders])
        self.clear_csv_button.setEnabled(csv_file is not None)
        self.csv_button.setText(f"Labels: {csv_file.name}" if csv_file else "Labels CSV…")
        self.start_scan()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of MIDI files")
        if folder:
            self.add_folders([folder])

    def _remove_folder(self) -> None:
        row = self.folder_list.currentRow()
        if row >= 0:
            folders = list(self.flow.folders)
            del folders[row]
            self._set(folders, self.flow.csv_file)

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the labels CSV", "", "CSV files (*.csv)"
        )
        if path:
            self.set_csv(Path(path))

    # ---- the scan --------------------------------------------------------------------------------
    def start_scan(self) -> None:
        if self._scan is not None:
            self._scan.cancel()
        self.problem_list.clear()
        self.labels_label.setText("Labels: -")
        if not self.flow.folders or any(not f.is_dir() for f in self.flow.folders):
            self.summary_label.setText(self.flow.data_blocker() or "")
            self.flow.scanning = False
            self.changed.emit()
            return
        self.flow.scanning = True
        self.summary_label.setText("Scanning…")
        self.scan_progress.setVisible(True)
        self.scan_progress.setRange(0, 0)
        folders, csv_file = list(self.flow.folders), self.flow.csv_file
        worker = self.workers.run(
            lambda cancel: scan(
                folders, self.cache_root, csv_file, cancel=cancel, jobs=self.scan_jobs
            ),
            "scan",
            on_progress=self._on_progress,
            on_error=self._on_error,
        )
        worker.result.connect(lambda result, w=worker: self._on_result(w, result))
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._scan = worker
        self.changed.emit()

    def _on_progress(self, event) -> None:
        if isinstance(event, LabelSet):
            self._show_labels(event)
        elif isinstance(event, Progress):
            self.scan_progress.setRange(0, max(1, event.total))
            self.scan_progress.setValue(event.done)
            self.scan_progress.setFormat(f"{STAGES.get(event.stage, event.stage)}: %v of %m")

    def _show_labels(self, labels: LabelSet) -> None:
        text = "; ".join(f.description for f in labels.folders)
        if labels.fatal:
            text += f"<br><span style='color:#ff6b6b'>{labels.fatal}</span>"
        self.labels_label.setText(f"Labels: {text}")
        for problem in labels.problems:
            self.problem_list.addItem(f"label: {problem}")

    def _on_result(self, worker: Worker, result: ScanResult | None) -> None:
        if worker is not self._scan or result is None:
            return
        self.flow.labels, self.flow.scan = result.labels, result.summary
        self.summary_label.setText("<br>".join(result.summary.lines()))
        for rejection in result.summary.rejected:
            self.problem_list.addItem(f"{rejection.path.name}: {rejection.reason}")

    def _on_error(self, message: str) -> None:
        self.flow.scan_error = message

    def _on_finished(self, worker: Worker) -> None:
        if worker is not self._scan:
            return
        self._scan = None
        self.flow.scanning = False
        self.scan_progress.setVisible(False)
        if self.flow.scan is None and self.flow.scan_error is None and self.flow.folders:
            self.summary_label.setText("Scan stopped.")
        self.changed.emit()

    @property
    def scanning(self) -> bool:
        return self._scan is not None

    # ---- earlier runs ------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.runs_combo.clear()
        for info in list_runs(self.runs_root):
            self.runs_combo.addItem(info.label, info)
        has_runs = self.runs_combo.count() > 0
        self.resume_button.setEnabled(has_runs)
        if not has_runs:
            self.runs_combo.addItem("no earlier runs")
        self.runs_combo.setEnabled(has_runs)

    def _resume(self) -> None:
        info = self.runs_combo.currentData()
        if isinstance(info, RunInfo):
            self.resume_requested.emit(info)
