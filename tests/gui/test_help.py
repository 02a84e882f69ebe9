"""Help ▸ Keyboard shortcuts and About, Model ▸ Model card: what the app tells about itself."""

import shutil

import test_main_window
from PySide6.QtWidgets import QApplication, QMessageBox

from emostudio import __version__
from emostudio.gui import help_dialogs
from emostudio.gui.help_dialogs import about_text, shortcut_rows
from emostudio.shipped import default_model_path

window = test_main_window.window
ready_window = test_main_window.ready_window


def test_the_shortcuts_list_is_read_from_the_window(qtbot, window):
    rows = dict(shortcut_rows(window.actions()))
    assert rows["Undo"] == "Ctrl+Z" and rows["Generate"] == "Ctrl+G"
    assert rows["Open MIDI"] == "Ctrl+O" and rows["Play / Stop"] == "Space"
    assert "Ctrl+Shift+Z" in rows["Redo"]
    window.menus.shortcuts_action.trigger()
    dialog = next(
        w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Keyboard shortcuts"
    )
    text = dialog.browser.toPlainText()
    assert "Transfer" in text and "Ctrl+T" in text and "double-click a bar" in text
    dialog.close()


def test_about_names_the_version_and_the_model_in_use(qtbot, ready_window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    ready_window.menus.about_action.trigger()
    assert __version__ in shown[0] and "MIT" in shown[0]
    assert ready_window.model.engine.model_dir.name in shown[0]
    assert "No model is loaded" in about_text(None)


def test_the_model_card_shows_the_loaded_models(qtbot, window, tiny_model_dir, tmp_path):
    menu = window.menus.model_menu
    window.model.load(tiny_model_dir)  # saved without a card
    qtbot.waitUntil(lambda: window.model.engine is not None, timeout=20_000)
    assert not menu.card_action.isEnabled() and "no model card" in menu.card_action.toolTip()
    carded = tmp_path / "carded"
    shutil.copytree(tiny_model_dir, carded)
    (carded / "MODEL_CARD.md").write_text("# A tiny model\n\nTrained on *nothing*: noise.\n")
    window.model.load(carded)
    qtbot.waitUntil(lambda: menu.card_action.isEnabled(), timeout=20_000)
    before = set(QApplication.topLevelWidgets())
    menu.card_action.trigger()
    (dialog,) = [w for w in QApplication.topLevelWidgets() if w not in before]
    assert dialog.windowTitle() == "Model card: carded"
    assert dialog.browser.toPlainText().startswith("A tiny model\nTrained on nothing: noise.")
    dialog.close()


def test_a_folder_without_a_card_says_so(qtbot, window, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a: said.append(a[2]))
    assert help_dialogs.show_model_card(window, tmp_path) is None
    assert "has no model card" in said[0]


def test_the_shipped_models_card_names_its_licences():
    card = help_dialogs.model_card_text(default_model_path())
    assert "CC BY-NC-SA 4.0" in card and "POP909" in card and "VGMIDI" in card


def test_about_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from emostudio.gui.help_dialogs import about_text\n"
        "text = about_text(None)\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "assert 'torch ' + torch.__version__ in text, text\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # the About text was written without importing torch
