"""The one progress event every long job yields: corpus preparation, evaluation, the GUI's jobs.

A job is a generator: it yields :class:`Progress` as it goes and ends with its own result type
(``corpus.Finished``, ``evaluation.EvaluationDone``, a job's return value). Training reports its
progress as typed events of its own (:mod:`emostudio.training.events`), one JSON line each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emostudio.midi.song import Song


@dataclass(frozen=True)
class Progress:
    """One step of a long job.

    ``stage`` names what is being done ("hash", "judge", "bars", ...); ``text`` says it for people;
    ``done`` of ``total`` items (``total`` 0: not counted); ``item`` the item just done (a file);
    ``song`` the piece so far, while generating or transferring."""

    stage: str
    text: str = ""
    done: int = 0
    total: int = 0
    item: str = ""
    song: Song | None = None
