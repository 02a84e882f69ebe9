"""Setting a progress bar without repainting the window there and then.

``QProgressBar.setValue`` repaints at once (``repaint()``, not ``update()``) whenever the bar's
look changes, and a synchronous repaint paints every widget of the window waiting for one (the
pad, the roll): 13-20 ms at a job's start, on the GUI thread, while the job's worker competes for
the interpreter lock. With its updates off for the call the bar is painted with the rest of the
window in the next pass of the event loop.
"""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


def show_progress(bar: QProgressBar, done: int, total: int) -> None:
    """``done`` of ``total`` (at least 1) in ``bar``, painted in the event loop's next pass."""
    bar.setUpdatesEnabled(False)
    try:
        bar.setRange(0, max(1, total))
        bar.setValue(done)
    finally:
        bar.setUpdatesEnabled(True)  # schedules the bar's paint (an update(), not a repaint())
