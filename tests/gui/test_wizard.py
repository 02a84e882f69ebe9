"""The training wizard driven offscreen through its real widgets, with a real ``emostudio train``
child process: a whole run to a model that the main window loads and generates with; pause by
closing the window and resume from the run list; a killed child and its surviving checkpoint."""

import signal
import threading

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox
from shiboken6 import isValid

from emostudio.emotion import Emotion
from emostudio.midi import write_midi
from emostudio.model import load_model
from emostudio.training.synthetic import synthetic_song
from emostudio.wizard.flow import Page, RunState

pytestmark = pytest.mark.slow

WAIT_MS = 240_000
#: a model and batches small enough that a test run takes seconds on two cores
TEST_PRESET = {
    "d_model": 32,
    "n_heads": 2,
    "n_enc_layers": 1,
    "n_dec_layers": 1,
    "ff_mult": 2,
    "latent_r": 4,
    "latent_k": 4,
    "feature_hidden": 16,
    "bar_len": 64,
    "dropout": 0.0,
}
TRAIN_DEFAULTS = {"batch_size": 4, "bars_per_sample": 4, "threads": 1}
FOLDERS = {1: "happy", 2: "tense", 3: "sad", 4: "calm"}


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    """40 pieces of 4 bars in one sub-folder per emotion (10 each), plus one broken file."""
    root = tmp_path_factory.mktemp("music") / "my music"
    rng = np.random.default_rng(0)
    for q, name in FOLDERS.items():
        valence_high, arousal_high = q in (1, 4), q in (1, 2)
        (root / name).mkdir(parents=True)
        for i in range(10):
            write_midi(
                synthetic_song(rng, arousal_high, valence_high, 4), root / name / f"{name}{i}.mid"
            )
    (root / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06 not really")
    return root


@pytest.fixture
def make_wizard(qtbot, tmp_path, monkeypatch):
    """A wizard (from a main window when one is given) with the test's folders and tiny sizes."""
    from emostudio.gui.wizard.window import TrainingWizard, open_wizard

    made = []
    # the tests choose the models to fine-tune themselves: the shipped default is not one of them
    monkeypatch.setenv("EMOSTUDIO_MODEL_DIR", str(tmp_path / "no-shipped-model"))

    def make(main=None, **kwargs):
        options = {
            "runs_root": tmp_path / "runs",
            "cache_root": tmp_path / "caches",
            "presets": {"test": TEST_PRESET},
            "train_defaults": TRAIN_DEFAULTS,
            **kwargs,
        }
        if main is not None:
            wizard = open_wizard(main, **options)
        else:
            wizard = TrainingWizard(**options)
            qtbot.addWidget(wizard)
            wizard.show()
        made.append(wizard)
        return wizard

    yield make
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    for wizard in made:
        if isValid(wizard):  # one opened from a main window went with it
            wizard.close()


def scanned(qtbot, wizard, folder):
    wizard.data_page.add_folders([folder])
    qtbot.waitUntil(
        lambda: not wizard.data_page.scanning and wizard.flow.scan is not None, timeout=WAIT_MS
    )
    assert wizard.next_button.isEnabled(), wizard.blocker_label.text()


def to_train_page(qtbot, wizard, folder, epochs):
    scanned(qtbot, wizard, folder)
    wizard.next_button.click()
    assert wizard.flow.page is Page.MODEL
    wizard.model_page.epochs_spin.setValue(epochs)
    wizard.next_button.click()
    assert wizard.flow.page is Page.TRAIN


def wait_for_checkpoint(qtbot, page):
    qtbot.waitUntil(lambda: page.progress.checkpoint_step is not None, timeout=WAIT_MS)


def test_a_whole_run_to_a_model_the_main_window_generates_with(qtbot, make_wizard, music):
    from emostudio.gui.main_window import MainWindow
    from emostudio.settings import Settings

    main = MainWindow(settings=Settings())
    qtbot.addWidget(main)
    wizard = make_wizard(main)  # as the Model menu opens it, with the test's sizes
    assert wizard.finish_page.play_song is not None  # examples play through the window's player

    # Data: the scan shows the labels, the rejected file with its reason, and the counts
    assert not wizard.next_button.isEnabled()
    assert wizard.blocker_label.text() == "Choose at least one folder of MIDI files."
    scanned(qtbot, wizard, music)
    page = wizard.data_page
    assert "one sub-folder per emotion" in page.labels_label.text()
    assert "40 of 41 MIDI files accepted, 1 rejected" in page.summary_label.text()
    assert "Q1 happy 10" in page.summary_label.text()
    assert page.problem_list.item(0).text().startswith("broken.mid: file ends early (truncated)")

    # Model: from scratch is possible; the time per epoch is measured with real steps
    wizard.next_button.click()
    model_page = wizard.model_page
    assert model_page.scratch_radio.isChecked() and model_page.scratch_radio.isEnabled()
    assert not model_page.finetune_radio.isEnabled()  # no model to fine-tune was given
    qtbot.waitUntil(lambda: model_page.estimate is not None, timeout=WAIT_MS)
    assert model_page.estimate.seconds_per_step > 0
    assert "per epoch" in model_page.estimate_label.text()
    model_page.epochs_spin.setValue(2)
    assert "2 epochs" in model_page.estimate_label.text()

    # Train: the child runs to the end; curves and progress are live
    wizard.next_button.click()
    train = wizard.train_page
    assert not wizard.next_button.isEnabled() and wizard.back_button.isEnabled()
    train.start_button.click()
    assert train.running and not wizard.back_button.isEnabled()
    qtbot.waitUntil(lambda: not train.running, timeout=WAIT_MS)
    assert wizard.flow.run_state is RunState.FINISHED, (
        train.message_label.text() + train.log_view.toPlainText()
    )
    assert train.progress_bar.value() == train.progress_bar.maximum() == train.plan.max_steps
    xs, ys = train.train_loss_curve.getData()
    assert len(xs) >= 2 and np.all(np.isfinite(ys))
    assert len(train.accuracy_curves["arousal"].getData()[0]) == 2  # one validation per epoch
    assert "Training finished" in train.message_label.text()

    # Finish: the summary, a model folder with its card, examples, and "Use this model"
    wizard.next_button.click()
    finish = wizard.finish_page
    qtbot.waitUntil(lambda: not finish.busy, timeout=WAIT_MS)
    assert "labelled validation clips: arousal" in finish.summary_label.text()
    assert finish.example_list.count() == 4
    card = (finish.model_dir / "MODEL_CARD.md").read_text()
    assert str(music) in card and "one sub-folder per emotion" in card and "preset test" in card
    with qtbot.waitSignal(wizard.model_ready, timeout=WAIT_MS):
        finish.use_button.click()
    qtbot.waitUntil(lambda: main.model.engine is not None, timeout=WAIT_MS)
    assert main.model.engine.model_dir == finish.model_dir
    assert (
        main.model.engine.prior_kind == "fitted"
    )  # the wizard fitted the new model's generation prior
    song = None
    for event in main.model.engine.generate(Emotion.from_quadrant(3), bars=2, seed=1):
        song = event.song
    assert song is not None and song.note_count > 0
    main.workers.wait(WAIT_MS)


def test_closing_while_training_pauses_and_the_run_resumes_from_the_list(
    qtbot, make_wizard, music, monkeypatch
):
    wizard = make_wizard()
    to_train_page(qtbot, wizard, music, epochs=4)
    train = wizard.train_page
    train.start_button.click()
    wait_for_checkpoint(qtbot, train)
    run_dir = train.plan.run_dir

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    assert not wizard.close()  # "No": the window stays and training goes on
    assert train.running

    def no_question(*args, **kwargs):
        raise AssertionError("a signal's close asks nothing")

    monkeypatch.setattr(QMessageBox, "question", no_question)
    assert wizard.close_pausing()  # as SIGTERM's close of the app does ("Yes" without asking)
    assert (
        train.process.wait(0) == 0
    )  # the child saved its checkpoint and exited before close returned
    qtbot.waitUntil(lambda: not train.running, timeout=WAIT_MS)  # its last events reach the page
    assert wizard.flow.run_state is RunState.PAUSED, train.message_label.text()
    paused_at = train.outcome.checkpoint_step
    assert 0 < paused_at < train.plan.max_steps and "Paused at step" in train.outcome.message

    again = make_wizard()
    runs = again.data_page.runs_combo
    assert runs.count() == 1 and f"step {paused_at} of" in runs.itemText(0)
    again.data_page.resume_button.click()
    assert again.flow.page is Page.TRAIN and again.train_page.resume_button.isEnabled()
    resumed = again.train_page
    assert resumed.progress.steps  # the curves so far are back
    resumed.resume_button.click()
    qtbot.waitUntil(lambda: not resumed.running, timeout=WAIT_MS)
    assert again.flow.run_state is RunState.FINISHED, resumed.message_label.text()
    assert f"Resumed at step {paused_at}" in resumed.log_view.toPlainText()
    assert resumed.plan.run_dir == run_dir and again.next_button.isEnabled()


def test_a_killed_child_is_explained_and_its_checkpoint_survives(
    qtbot, make_wizard, music, monkeypatch
):
    wizard = make_wizard()
    to_train_page(qtbot, wizard, music, epochs=4)
    train = wizard.train_page
    train.start_button.click()
    wait_for_checkpoint(qtbot, train)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    train.cancel_button.click()  # asks; "No" leaves it running
    assert train.running and train.process.stop.value == "none"
    train.kill()
    qtbot.waitUntil(lambda: not train.running, timeout=WAIT_MS)
    outcome = train.outcome
    assert wizard.flow.run_state is RunState.FAILED and outcome.returncode == -signal.SIGKILL
    message = train.message_label.text()
    assert "killed (SIGKILL)" in message and "out of memory" in message
    assert f"checkpoint (step {outcome.checkpoint_step}) is kept" in message
    assert "end of the training log" in train.log_view.toPlainText()
    model, _ = load_model(train.plan.run_dir / "last")  # the checkpoint is a loadable model
    assert model.config.d_model == TEST_PRESET["d_model"]
    assert train.resume_button.isEnabled() and not wizard.next_button.isEnabled()
    assert "resume it" in wizard.blocker_label.text()

    # the checkpoint resumes; Cancel (asked, "Yes") stops again and keeps a checkpoint
    killed_at = outcome.checkpoint_step
    train.resume_button.click()
    qtbot.waitUntil(
        lambda: f"Resumed at step {killed_at}" in train.log_view.toPlainText(), timeout=WAIT_MS
    )
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    train.cancel_button.click()
    qtbot.waitUntil(lambda: not train.running, timeout=WAIT_MS)
    assert wizard.flow.run_state is RunState.FAILED and train.outcome.returncode == 0
    assert "Training cancelled at step" in train.message_label.text()
    assert train.outcome.checkpoint_step >= killed_at and train.resume_button.isEnabled()


def test_unlabelled_data_can_only_fine_tune_and_does(
    qtbot, make_wizard, music, tmp_path, tiny_model_dir
):
    plain = tmp_path / "plain"
    plain.mkdir()
    for i, path in enumerate(sorted(music.rglob("*.mid"))[:12]):
        path_bytes = path.read_bytes()
        (plain / f"piece{i}.mid").write_bytes(path_bytes)
    wizard = make_wizard(base_models=[tiny_model_dir])
    scanned(qtbot, wizard, plain)
    assert "no labels" in wizard.data_page.labels_label.text()
    wizard.next_button.click()
    model_page = wizard.model_page
    assert not model_page.scratch_radio.isEnabled() and model_page.finetune_radio.isChecked()
    assert "unlabelled" in model_page.scratch_reason.text()
    assert wizard.flow.base_model == tiny_model_dir and not model_page.preset_combo.isEnabled()
    model_page.epochs_spin.setValue(1)
    wizard.next_button.click()
    train = wizard.train_page
    train.start_button.click()
    qtbot.waitUntil(lambda: not train.running, timeout=WAIT_MS)
    assert wizard.flow.run_state is RunState.FINISHED, (
        train.message_label.text() + train.log_view.toPlainText()
    )
    assert f"--init-from {tiny_model_dir}" in train.log_view.toPlainText()
    assert "fine-tuned from" in train.settings_label.text()
    model, _ = load_model(train.plan.run_dir / "best")
    assert (
        model.config.d_model == 32 and model.config.bar_len == 48
    )  # the base model's size, not a preset's


def test_no_model_and_no_labels_blocks_the_data_page(qtbot, make_wizard, tmp_path, music):
    plain = tmp_path / "plain"
    plain.mkdir()
    for i, path in enumerate(sorted(music.rglob("*.mid"))[:12]):
        (plain / f"piece{i}.mid").write_bytes(path.read_bytes())
    wizard = make_wizard()
    wizard.data_page.add_folders([plain])
    qtbot.waitUntil(lambda: not wizard.data_page.scanning, timeout=WAIT_MS)
    assert not wizard.next_button.isEnabled()
    assert "no model to fine-tune" in wizard.blocker_label.text()


def test_the_model_menu_opens_the_wizard_and_closing_the_window_asks(qtbot, tmp_path, monkeypatch):
    from emostudio.gui.main_window import MainWindow
    from emostudio.gui.wizard.window import TrainingWizard
    from emostudio.settings import Settings

    monkeypatch.setenv("EMOSTUDIO_WIZARD_DIR", str(tmp_path / "wizard"))
    main = MainWindow(settings=Settings())
    qtbot.addWidget(main)
    main.show()
    [action] = [a for a in main.menus.model_menu.actions() if "Train a model" in a.text()]
    action.trigger()
    [wizard] = main.findChildren(TrainingWizard)
    assert wizard.isVisible() and wizard.runs_root == tmp_path / "wizard" / "runs"
    wizard.train_page._worker = object()  # as if a run were in progress
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    assert not main.close() and wizard.isVisible()  # the wizard asked, the answer was No
    wizard.train_page._worker = None
    assert wizard.close()


def test_before_torch_is_imported_the_wizard_opens_after_a_worker_imports_it(
    qtbot, tmp_path, monkeypatch
):
    from emostudio.gui import main_window
    from emostudio.gui.wizard.window import TrainingWizard
    from emostudio.settings import Settings

    monkeypatch.setenv("EMOSTUDIO_WIZARD_DIR", str(tmp_path / "wizard"))
    monkeypatch.setattr(main_window.jobs, "torch_imported", lambda: False)  # no model yet
    imported_on = []
    real_import = main_window.jobs.import_torch
    monkeypatch.setattr(
        main_window.jobs,
        "import_torch",
        lambda: imported_on.append(threading.current_thread()) or real_import(),
    )
    main = main_window.MainWindow(settings=Settings())
    qtbot.addWidget(main)
    main.show()
    main.open_training_wizard()
    assert main.findChildren(TrainingWizard) == []  # not on this thread: a worker imports first
    assert "opening the training wizard" in main.status.message()
    qtbot.waitUntil(lambda: bool(main.findChildren(TrainingWizard)), timeout=20_000)
    [wizard] = main.findChildren(TrainingWizard)
    assert wizard.isVisible() and imported_on and imported_on[0] is not threading.main_thread()
    assert wizard.close()


def test_the_curves_draw_only_whole_points_while_the_runner_appends(qtbot, make_wizard):
    """The runner's thread appends a validation's step before its values; the window may draw
    in between (it did, under load: an IndexError in the event loop). It draws the whole points."""
    train = make_wizard().train_page
    p = train.progress
    p.steps += [10, 20, 30]
    p.token_losses += [2.0, 1.9]  # step 30's loss not appended yet
    p.val_steps += [10, 20]
    p.val_token_loss.append(1.5)  # step 20's values not appended yet
    p.val_token_accuracy.append(0.4)
    p.val_arousal.append(float("nan"))  # no labelled validation clips: not drawn
    p.val_valence.append(0.6)
    train._show_progress()
    assert train.train_loss_curve.getData()[0].tolist() == [10, 20]
    assert train.val_loss_curve.getData()[0].tolist() == [10]
    assert train.accuracy_curves["valence"].getData()[1].tolist() == [0.6]
    unmeasured = train.accuracy_curves["arousal"].getData()[0]
    assert unmeasured is None or len(unmeasured) == 0
