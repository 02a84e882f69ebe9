"""The window's jobs, run directly (no Qt): each yields progress and returns its result."""

import threading

import pytest
from gui_songs import make_song
from songs import drain

from emostudio.gui import jobs
from emostudio.midi import MidiReadError, Song, TempoChange, TimeSignature, read_midi, write_midi


def run(job):
    return drain(job(threading.Event()))


def test_export_keeps_a_tempo_change_after_the_time_signature(tmp_path):
    # a generated take has a tempo per bar; the file must interleave tempo and metre by tick
    song = make_song(2)
    song = Song(
        tracks=song.tracks,
        tempos=(TempoChange(0, 120.0), TempoChange(1920, 64.0)),
        time_signatures=(TimeSignature(0, 4, 4),),
    )
    events, path = run(jobs.export_midi_job(song, tmp_path / "take.mid"))
    back = read_midi(path)
    assert [round(t.bpm) for t in back.tempos] == [120, 64] and back.tempos[1].tick == 1920
    assert back.note_count == song.note_count and events


def test_load_song_refuses_a_file_without_notes(tmp_path):
    path = tmp_path / "empty.mid"
    write_midi(Song(), path)
    with pytest.raises(MidiReadError, match="no notes"):
        run(jobs.load_song_job(path))


def test_load_song_describes_the_piece(tmp_path):
    path = tmp_path / "a.mid"
    write_midi(make_song(4), path)
    _, loaded = run(jobs.load_song_job(path))
    assert loaded.note == "a.mid: 4 bars, 20 notes, 0:08"


def test_transfer_job_takes_the_first_bars_of_a_long_piece(tiny_model_dir):
    from emostudio.decoding import DecodingSettings
    from emostudio.emotion import Emotion
    from emostudio.generation import Engine

    engine = Engine.load(tiny_model_dir, device="cpu")
    settings = DecodingSettings(temperature=1.0)
    events, song = run(
        jobs.transfer_job(
            engine, make_song(12), Emotion(-0.5, 0.5), 1.0, ("valence",), settings, 5, max_bars=3
        )
    )
    assert [e.done for e in events] == [1, 2, 3] and all(e.total == 3 for e in events)
    assert song is events[-1].song and song.n_bars <= 3


def test_midi_suffixes():
    assert (
        jobs.is_midi_path("a.MID")
        and jobs.is_midi_path("b.midi")
        and not jobs.is_midi_path("c.wav")
    )


def test_a_long_piece_is_heard_on_its_first_bars(tiny_model_dir):
    from emostudio.generation import Engine

    engine = Engine.load(tiny_model_dir, device="cpu")
    _, recognition = run(jobs.recognise_job(engine, make_song(jobs.LONG_PIECE_BARS + 40)))
    assert len(recognition.arousal) == jobs.LONG_PIECE_BARS


def test_loading_a_model_collects_no_garbage_meanwhile_and_freezes_what_it_made(tiny_model_dir):
    import gc

    pauses = []

    def during(phase, info):
        if phase == "start":
            pauses.append(info["generation"])

    gc.unfreeze()
    gc.callbacks.append(during)
    try:
        _, loaded = run(jobs.load_model_job(tiny_model_dir, "cpu"))
    finally:
        gc.callbacks.remove(during)
    assert loaded.engine.model_dir == tiny_model_dir
    assert pauses == []  # no collection ran while torch and the model came in
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.unfreeze()


# a fresh interpreter opens torch's libraries on a thread while the main thread counts its own
# turns: with the interpreter lock held through dlopen (as ``ctypes.CDLL`` holds it) it gets none
_OPEN_WHILE_COUNTING = """
import sys, threading, time
from emostudio.gui.jobs import open_torch_libraries
started, finished, opened = threading.Event(), threading.Event(), []
def opener():
    started.set()
    opened.append(open_torch_libraries())
    finished.set()
threading.Thread(target=opener).start()
started.wait()
turns = 0
while not finished.is_set():
    turns += 1
    time.sleep(0.001)
import torch
assert 'torch' in sys.modules and torch.ones(2).sum().item() == 2.0
print(opened[0], turns, open_torch_libraries())
"""


def test_torch_libraries_open_without_holding_the_interpreter_lock():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _OPEN_WHILE_COUNTING], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    opened, turns, again = done.stdout.split()
    assert opened == "True"  # this install keeps them where a Linux install does
    assert int(turns) >= 5  # the other thread ran while libtorch_cpu was mapped and initialised
    assert again == "False"  # once torch is imported there is nothing to open
