"""What the app tells about itself: the loaded model's card (its data, licences, training and
measured quality), the keyboard shortcuts (read from the window's actions, so the list cannot go
stale) and About (versions, the code's licence, the model in use)."""

from __future__ import annotations

import html
import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from emostudio import __version__


def model_card_text(model_dir: Path) -> str:
    """The card of the model folder (Markdown); OSError when it has none."""
    from emostudio.model.store import CARD

    return (Path(model_dir) / CARD).read_text(encoding="utf-8")


def show_model_card(parent: QWidget, model_dir: Path) -> QDialog | None:
    """The model's card in a window of its own (not modal: it can stay open beside the work)."""
    try:
        text = model_card_text(model_dir)
    except OSError as exc:
        QMessageBox.information(
            parent,
            "Model card",
            f"The model folder {model_dir} has no model card ({exc.strerror or exc}).",
        )
        return None
    dialog = _text_dialog(parent, f"Model card: {Path(model_dir).name}", (900, 760))
    dialog.browser.setMarkdown(text)
    dialog.show()
    return dialog


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what, keys) for every action with a shortcut, in menu order, keys as this platform
    writes them."""
    rows = []
    for action in actions:
        keys = ", ".join(
            k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()
        )
        if keys:
            what = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
            rows.append((what.rstrip("…").strip(), keys))
    return rows


def show_shortcuts(parent: QWidget, actions: Iterable[QAction]) -> QDialog:
    rows = "".join(
        f"<tr><td style='padding:3px 18px 3px 0'>{html.escape(what)}</td>"
        f"<td style='padding:3px 0'><b>{html.escape(keys)}</b></td></tr>"
        for what, keys in shortcut_rows(actions)
    )
    extra = (
        "<p>On the pad: arrow keys move the target (Shift: further), Home centres it, Esc or "
        "Delete clears a drawn curve. On the piano roll: double-click a bar to select it (again: "
        "select none), drag the selection's edges to widen it; Play then starts there and Loop "
        "repeats it. In the takes list: Delete removes the take (Ctrl+Z "
        "brings it back), F2 or a double-click renames it.</p>"
    )
    dialog = _text_dialog(parent, "Keyboard shortcuts", (560, 620))
    dialog.browser.setHtml(f"<table>{rows}</table>{extra}")
    dialog.show()
    return dialog


def about_text(engine=None) -> str:
    """About emostudio, as rich text: versions, the code's licence, the model in use. Never
    imports torch (on the GUI thread that froze the window for seconds when no model was loaded
    yet): its version is read from the installed package's metadata."""
    if engine is None:
        model = "No model is loaded."
    else:
        name = html.escape(Path(engine.model_dir).name)
        model = (
            f"Model in use: <b>{name}</b> on {html.escape(str(engine.device))}. What it was trained "
            "on and the licences that come with that data are in Model ▸ Model card (the shipped "
            "model's data includes EMOPIA, CC BY-NC-SA 4.0: research and non-commercial use)."
        )
    return (
        f"<h3>emostudio {__version__}</h3>"
        "<p>Writes new MIDI music in a chosen emotion and moves the emotion of an existing "
        "piece, with a semi-supervised Transformer Gaussian-mixture VAE.</p>"
        f"<p>{model}</p>"
        "<p>The code is MIT-licensed.</p>"
        f"<p style='color:gray'>Python {platform.python_version()} · torch {torch_version()} · "
        f"PySide6 {PySide6.__version__}</p>"
    )


def show_about(parent: QWidget, engine=None) -> None:
    QMessageBox.about(parent, "About emostudio", about_text(engine))


class _TextDialog(QDialog):
    browser: QTextBrowser


def _text_dialog(parent: QWidget, title: str, size: tuple[int, int]) -> _TextDialog:
    dialog = _TextDialog(parent)
    dialog.setWindowTitle(title)
    dialog.browser = QTextBrowser()
    dialog.browser.setOpenExternalLinks(True)
    buttons = QDialogButtonBox(QDialogButtonBox.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(dialog.browser)
    layout.addWidget(buttons)
    dialog.resize(*size)
    return dialog


def torch_version() -> str:
    """torch's version without importing it: the loaded module's, else its installed metadata."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:  # a bundle without the metadata
        return "(not loaded yet)"
