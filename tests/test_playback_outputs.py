"""Where playback goes: MIDI output ports (listing, a recording mido port), FluidSynth live audio
into ALSA's null device, and the soundfont search. No sound card or ALSA sequencer is needed."""

import threading
import time

import mido
import pytest

from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.playback import (
    FluidSynthSink,
    MidiPortSink,
    PlaybackError,
    Player,
    PortListing,
    SoundfontNotFound,
    default_soundfont,
    find_soundfonts,
    fluidsynth_problem,
    list_output_ports,
    resolve_soundfont,
    song_to_events,
)
from emostudio.playback import soundfont as soundfont_module
from emostudio.playback.fluid import load_fluidsynth


def _load_problem() -> str | None:
    try:
        load_fluidsynth()
    except PlaybackError as exc:
        return str(exc)
    return None


LOAD_PROBLEM, RENDER_PROBLEM = _load_problem(), fluidsynth_problem()
needs_fluidsynth = pytest.mark.skipif(LOAD_PROBLEM is not None, reason=f"{LOAD_PROBLEM}")
needs_soundfont = pytest.mark.skipif(RENDER_PROBLEM is not None, reason=f"{RENDER_PROBLEM}")

SONG = Song(
    tracks=(
        Track(program=0, notes=tuple(Note(60 + i, i * 240, i * 240 + 200, 90) for i in range(4))),
    ),
    tempos=(TempoChange(0, 240.0),),  # 4 notes in 0.5 s
)


# ---- MIDI ports -------------------------------------------------------------------------------


class RecordingPort(mido.ports.BaseOutput):
    """An in-memory mido output port, as a fake MIDI device."""

    def _open(self, **kwargs):
        self.sent = []

    def _send(self, message):
        self.sent.append((time.monotonic(), message))


def test_listing_ports_never_raises_and_says_why_there_are_none():
    listing = list_output_ports()
    assert isinstance(listing, PortListing)
    if listing.names:  # a machine with an ALSA sequencer
        assert listing.error is None
    else:  # this machine: no sound hardware, rtmidi raises rtmidi.SystemError
        assert listing.error and "\n" not in listing.error
        assert listing.message.startswith("no MIDI ports: ")


def test_listing_reports_a_backend_error(monkeypatch):
    import rtmidi

    def broken():
        raise rtmidi.SystemError(
            "MidiOutAlsa::initialize: error creating ALSA sequencer client object."
        )

    monkeypatch.setattr(mido, "get_output_names", broken)
    listing = list_output_ports()
    assert listing.names == ()
    assert "ALSA sequencer" in listing.error
    monkeypatch.setattr(mido, "get_output_names", lambda: ["Synth A", "Synth B"])
    assert list_output_ports() == PortListing(("Synth A", "Synth B"), None)


def test_opening_a_missing_port_is_one_clear_error():
    with pytest.raises(PlaybackError, match="cannot open MIDI port 'No Such Port'") as info:
        MidiPortSink("No Such Port")
    assert "\n" not in str(info.value)
    with pytest.raises(PlaybackError, match="no MIDI output port"):
        MidiPortSink("")


def test_player_into_a_recording_midi_port():
    port = RecordingPort(name="recorder")
    sink = MidiPortSink(port=port)
    player = Player(sink)
    finished = threading.Event()
    player.on_finished(finished.set)
    player.set_song(SONG)
    started = time.monotonic()
    player.play()
    assert finished.wait(5.0)
    player.stop()
    player.close()
    expected = song_to_events(SONG)
    played = [m for _, m in port.sent if m.type != "control_change"]
    assert played == [e.message for e in expected]
    for (arrived, _), event in zip(port.sent, expected):
        assert -0.001 <= arrived - started - event.seconds <= 0.04
    panic = [m for _, m in port.sent if m.type == "control_change"]
    assert {m.channel for m in panic if m.control == 123} == set(range(16))  # all notes off
    sink.close()
    assert port.closed


# ---- FluidSynth -------------------------------------------------------------------------------


@needs_fluidsynth
def test_fluidsynth_without_an_audio_driver_is_a_clear_error():
    with pytest.raises(PlaybackError, match=r"^no sound output: .*nosuch") as info:
        FluidSynthSink(driver="nosuch")
    assert "\n" not in str(info.value)


@needs_fluidsynth
@needs_soundfont
def test_fluidsynth_plays_into_alsas_null_device():
    sink = FluidSynthSink(driver="alsa", device="null")
    try:
        player = Player(sink)
        errors = []
        player.on_error(errors.append)
        player.set_song(SONG)
        player.play()
        time.sleep(0.15)
        assert sink._synth.get_active_voice_count() > 0  # notes are sounding in the synth
        player.stop()
        player.close()
        assert errors == []
    finally:
        sink.close()


@needs_fluidsynth
def test_fluidsynth_refuses_a_file_that_is_not_a_soundfont(tmp_path):
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont")
    with pytest.raises(PlaybackError, match="cannot load soundfont"):
        FluidSynthSink(bad, driver="alsa", device="null")


# ---- soundfont search -------------------------------------------------------------------------


def _isolate_search(monkeypatch, tmp_path, folders):
    monkeypatch.delenv(soundfont_module.ENV_VAR, raising=False)
    monkeypatch.setattr(soundfont_module, "search_dirs", lambda: folders)


def test_soundfont_search_order_and_preferences(monkeypatch, tmp_path):
    user, system = tmp_path / "user", tmp_path / "system"
    user.mkdir(), system.mkdir()
    (system / "aaa_other.sf2").write_bytes(b"x")
    (system / "FluidR3_GM.sf2").write_bytes(b"x")
    (system / "readme.txt").write_text("not a soundfont")
    (user / "mine.sf3").write_bytes(b"x")
    (system / "link.sf2").symlink_to(system / "FluidR3_GM.sf2")  # like default-GM.sf2
    _isolate_search(monkeypatch, tmp_path, [user, system])
    names = [p.name for p in find_soundfonts()]
    assert names == ["mine.sf3", "FluidR3_GM.sf2", "aaa_other.sf2"]
    chosen = tmp_path / "chosen.sf2"
    chosen.write_bytes(b"x")
    monkeypatch.setenv(soundfont_module.ENV_VAR, str(chosen))
    assert default_soundfont() == chosen


def test_no_soundfont_names_the_package_to_install(monkeypatch, tmp_path):
    _isolate_search(monkeypatch, tmp_path, [tmp_path / "missing"])
    monkeypatch.setenv(soundfont_module.ENV_VAR, str(tmp_path / "gone.sf2"))  # ignored: not a file
    assert find_soundfonts() == []
    with pytest.raises(SoundfontNotFound, match="apt install fluid-soundfont-gm"):
        default_soundfont()
    with pytest.raises(SoundfontNotFound, match=r"gone\.sf2 not found"):
        resolve_soundfont(tmp_path / "gone.sf2")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(SoundfontNotFound, match="not a soundfont"):
        resolve_soundfont(text)
