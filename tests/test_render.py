"""Offline WAV rendering with FluidSynth and the ``emostudio render`` command.

Needs libfluidsynth3 and a General MIDI soundfont (scripts/install.sh installs both); skipped
with the reason otherwise, except the checks that need neither."""

import argparse
import threading
import wave

import numpy as np
import pytest

from emostudio.cli import main as cli_main
from emostudio.cli import render as render_command
from emostudio.midi import Note, Song, TempoChange, Track, write_midi
from emostudio.playback import (
    PlaybackError,
    RenderDone,
    RenderProgress,
    iter_render_wav,
    render_wav,
)
from emostudio.playback import soundfont as soundfont_module
from emostudio.playback.fluid import fluidsynth_problem
from emostudio.playback.render import SILENCE_PEAK, TAIL_SECONDS, TARGET_PEAK

RENDER_PROBLEM = fluidsynth_problem()  # None, or why (no libfluidsynth3, no soundfont)
needs_soundfont = pytest.mark.skipif(RENDER_PROBLEM is not None, reason=f"{RENDER_PROBLEM}")

# 120 bpm: silence for the first 2 beats (1.0 s), then a C major arpeggio and a bass note to 3.0 s
SONG = Song(
    tracks=(
        Track(
            program=0,
            notes=tuple(
                Note(p, 960 + k * 240, 960 + k * 240 + 480, 100)
                for k, p in enumerate((60, 64, 67, 72))
            ),
        ),
        Track(program=33, notes=(Note(36, 960, 2880, 90),)),
    ),
    tempos=(TempoChange(0, 120.0),),
    name="arpeggio",
)


def _read_wav(path):
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (2, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        return wav.getframerate(), frames


def _rms(samples) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


@needs_soundfont
def test_render_wav_writes_normalised_audio_of_the_right_length(tmp_path):
    out = tmp_path / "song.wav"
    events: list[RenderProgress] = []
    done = render_wav(SONG, out, sample_rate=22050, progress=events.append)
    assert isinstance(done, RenderDone) and done.path == out
    rate, frames = _read_wav(out)
    assert rate == 22050
    expected_seconds = SONG.duration_seconds + TAIL_SECONDS
    assert frames.shape[0] == pytest.approx(expected_seconds * rate, abs=1)
    assert done.audio_seconds == pytest.approx(expected_seconds)
    peak = int(np.abs(frames.astype(np.int32)).max())
    assert peak == pytest.approx(TARGET_PEAK * 32767, abs=2)  # peak-normalised to -1 dBFS
    # silent until the first note at 1.0 s, sounding after it
    assert _rms(frames[: int(0.95 * rate)]) < 5
    assert _rms(frames[int(1.0 * rate) : int(3.0 * rate)]) > 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]  # no temporary file left
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0 < done.load_seconds < done.elapsed_seconds  # speed: benchmarks/render_speed.py


@needs_soundfont
def test_cancelled_render_writes_nothing(tmp_path):
    out = tmp_path / "song.wav"
    cancel = threading.Event()
    steps = iter_render_wav(SONG, out, sample_rate=22050, cancel=cancel)
    first = next(steps)
    assert isinstance(first, RenderProgress)
    cancel.set()
    assert list(steps) == []
    assert list(tmp_path.iterdir()) == []
    cancel_now = threading.Event()
    cancel_now.set()
    assert render_wav(SONG, out, sample_rate=22050, cancel=cancel_now) is None
    assert not out.exists()


@needs_soundfont
def test_an_empty_song_renders_the_tail_as_silence(tmp_path):
    out = tmp_path / "empty.wav"
    done = render_wav(Song(), out, sample_rate=8000)
    rate, frames = _read_wav(out)
    assert frames.shape[0] == pytest.approx(TAIL_SECONDS * rate, abs=1)
    assert not frames.any() and done.peak < SILENCE_PEAK  # numeric noise is not amplified


def test_render_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PlaybackError, match="does not exist"):
        render_wav(SONG, tmp_path / "nope" / "x.wav")


# ---- the command ------------------------------------------------------------------------------


def _run_render(argv, monkeypatch):
    """``emostudio render ...`` through the real entry point (only this command registered)."""
    monkeypatch.setattr(cli_main, "COMMANDS", {"render": "render"})
    return cli_main.main(["render", *argv])


def test_render_is_registered():
    assert cli_main.COMMANDS["render"] == "render"
    parser = argparse.ArgumentParser()
    render_command.add_arguments(parser)
    args = parser.parse_args(["in.mid", "--out", "x.wav", "--soundfont", "a.sf2"])
    assert (str(args.input), str(args.out), str(args.soundfont)) == ("in.mid", "x.wav", "a.sf2")


@needs_soundfont
def test_render_command_writes_a_wav(tmp_path, monkeypatch, capsys):
    midi = tmp_path / "in.mid"
    write_midi(SONG, midi)
    out = tmp_path / "out.wav"
    assert _run_render([str(midi), "--out", str(out), "--sample-rate", "16000"], monkeypatch) == 0
    rate, frames = _read_wav(out)
    assert rate == 16000 and frames.shape[0] == pytest.approx(
        (SONG.duration_seconds + TAIL_SECONDS) * rate, abs=1
    )
    assert f"wrote {out}" in capsys.readouterr().out


def test_render_command_refuses_an_unreadable_midi_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"this is not MIDI")
    assert _run_render([str(bad), "--out", str(tmp_path / "x.wav")], monkeypatch) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.mid" in err and "not a MIDI file" in err
    assert not (tmp_path / "x.wav").exists()


def test_render_command_without_a_soundfont_names_the_package(tmp_path, monkeypatch, capsys):
    midi = tmp_path / "in.mid"
    write_midi(SONG, midi)
    monkeypatch.delenv(soundfont_module.ENV_VAR, raising=False)
    monkeypatch.setattr(soundfont_module, "search_dirs", lambda: [tmp_path / "no-soundfonts"])
    assert _run_render([str(midi)], monkeypatch) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "apt install fluid-soundfont-gm" in err
    assert not (tmp_path / "in.wav").exists()
