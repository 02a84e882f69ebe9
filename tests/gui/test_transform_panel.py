"""The transform panel: values, enabling, requests."""

from PySide6.QtCore import Qt

from emostudio.gui.transform_panel import TransformPanel


def _panel(qtbot):
    panel = TransformPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.addWidget(panel.action_bar)  # the window places it below the (scrolling) settings
    panel.action_bar.show()
    return panel


def test_lambda_slider_by_keyboard_changes_the_strength(qtbot):
    panel = _panel(qtbot)
    assert panel.options().strength == 1.0
    panel.strength_slider.setFocus()
    with qtbot.waitSignal(panel.options_changed) as signal:
        qtbot.keyClick(panel.strength_slider, Qt.Key_PageDown)
    assert signal.args[0].strength == 0.9
    panel.set_strength(0.25)
    assert panel.options().strength == 0.25 and panel.strength_label.text() == "0.25"


def test_buttons_follow_model_input_and_dimensions(qtbot):
    panel = _panel(qtbot)
    assert not panel.generate_button.isEnabled() and not panel.transfer_button.isEnabled()
    assert "model" in panel.hint.text()
    panel.set_model_ready(True)
    assert panel.generate_button.isEnabled() and not panel.transfer_button.isEnabled()
    panel.set_has_input(True)
    assert panel.transfer_button.isEnabled()
    panel.arousal_box.setChecked(False)
    assert panel.options().dims == ("valence",)
    panel.valence_box.setChecked(False)
    assert not panel.transfer_button.isEnabled() and "arousal" in panel.hint.text()


def test_busy_shows_progress_and_cancel(qtbot):
    panel = _panel(qtbot)
    panel.set_model_ready(True)
    panel.set_busy(True, total=8)
    assert panel.cancel_button.isVisible() and not panel.generate_button.isEnabled()
    panel.set_progress(3, 8)
    assert panel.progress.text() == "3 / 8 bars"
    with qtbot.waitSignal(panel.cancel_requested):
        qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    panel.set_busy(False)
    assert not panel.cancel_button.isVisible() and panel.generate_button.isEnabled()


def test_seed_and_sampling_values(qtbot):
    panel = _panel(qtbot)
    assert panel.options().seed is None
    panel.seed_spin.setValue(42)
    panel.bars_spin.setValue(4)
    panel.temperature_spin.setValue(0.8)
    panel.cadence_spin.setValue(0.5)
    options = panel.options()
    assert (options.seed, options.bars, options.temperature) == (42, 4, 0.8)
    assert options.cadence == 0.5
    panel.cadence_spin.setValue(0.0)
    assert panel.cadence_spin.text() == "off" and panel.options().cadence == 0.0
    panel.bass_spin.setValue(1.5)
    assert panel.options().bass == 1.5
    panel.bass_spin.setValue(9.0)  # clamped to the setting's range
    assert panel.options().bass == 4.0
    panel.bass_spin.setValue(0.0)
    assert panel.bass_spin.text() == "off" and panel.options().bass == 0.0


def test_continue_needs_a_piece_and_a_free_model(qtbot):
    panel = _panel(qtbot)
    panel.set_model_ready(True)
    assert not panel.continue_button.isEnabled()
    panel.set_has_piece(True)
    assert panel.continue_button.isEnabled()
    panel.set_busy(True, total=4)
    assert not panel.continue_button.isEnabled()
    with qtbot.waitSignal(panel.continue_requested):
        panel.set_busy(False)
        qtbot.mouseClick(panel.continue_button, Qt.LeftButton)
