"""Earlier wizard runs that can be resumed (or whose model can be used): the run folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emostudio.wizard.plan import WIZARD_JSON, RunPlan
from emostudio.wizard.runner import checkpoint_info


@dataclass(frozen=True)
class RunInfo:
    plan: RunPlan
    step: int  # steps saved in the last checkpoint (0: none yet)
    max_steps: int

    @property
    def run_dir(self) -> Path:
        return self.plan.run_dir

    @property
    def finished(self) -> bool:
        return self.max_steps > 0 and self.step >= self.max_steps

    @property
    def label(self) -> str:
        state = "finished" if self.finished else ("not started" if self.step == 0 else "stopped")
        folders = ", ".join(Path(f).name for f in self.plan.folders)
        return f"{self.run_dir.name} · {folders} · step {self.step} of {self.max_steps} · {state}"


def list_runs(runs_root: str | Path) -> list[RunInfo]:
    """The wizard runs under ``runs_root``, newest first (folders that are not runs are skipped)."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = []
    for folder in sorted((p for p in root.iterdir() if (p / WIZARD_JSON).is_file()), reverse=True):
        try:
            plan = RunPlan.load(folder)
        except ValueError:
            continue
        info = checkpoint_info(folder)
        runs.append(
            RunInfo(
                plan, info["step"] if info else 0, info["max_steps"] if info else plan.max_steps
            )
        )
    return runs
