"""A piece's controller changes (the sustain pedal, volume, ...) and pitch-wheel moves kept from the file it was read
from, through cuts, edits, continue, fill and rewrite, to the file written and what is played."""

from __future__ import annotations

import threading
from dataclasses import replace

import mido
import pytest
import songs
import torch
from tiny_models import save_tiny_model

from emostudio.decoding import DecodingSettings, DecodingSettingsError
from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.generation.splice import pedal_on
from emostudio.midi import (
    TICKS_PER_BAR,
    TICKS_PER_SUBBEAT,
    ControlChange,
    Family,
    Note,
    PitchBend,
    Song,
    TempoChange,
    Track,
    song_from_bytes,
    song_to_bytes,
)
from emostudio.midi.pedal import pedal_changes
from emostudio.playback import Player, RecordingSink
from emostudio.playback.events import (
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PITCH,
    PITCH_CENTRE,
    controls_at,
    song_schedule,
)
from emostudio.playback.render import _apply

BAR = TICKS_PER_BAR
HAPPY = Emotion.from_quadrant(1)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=control, value=value)


def pedalled_piano(n_bars: int = 6) -> Song:
    """A piano part, a chord each half bar, the sustain pedal changed every bar (lifted at the
    bar's start, pressed a sub-beat later) and the volume set to 90."""
    notes = []
    for bar in range(n_bars):
        for half in (0, BAR // 2):
            for pitch in (48, 55, 64):
                start = bar * BAR + half
                notes.append(Note(pitch + (bar % 3), start, start + BAR // 4, 80))
    controls = [ControlChange(0, 7, 90)]
    for bar in range(n_bars):
        controls += [
            ControlChange(bar * BAR, 64, 0),
            ControlChange(bar * BAR + TICKS_PER_SUBBEAT, 64, 127),
        ]
    controls.append(ControlChange(n_bars * BAR - 10, 64, 0))
    track = Track(program=0, name="piano").with_notes(notes)
    return Song(tracks=(replace(track, controls=tuple(controls)),), tempos=(TempoChange(0, 100),))


# ---- files ------------------------------------------------------------------------------------
def test_controller_changes_are_read_with_their_tracks_and_written_back():
    data = songs.midi_bytes(
        [
            songs.RawTrack(
                notes=[(60, 0, 480, 90), (64, 960, 1440, 90)],
                channel=0,
                meta=[(0, cc(7, 100)), (10, cc(64, 127)), (900, cc(64, 0)), (0, cc(0, 1))],
            ),
            songs.RawTrack(
                notes=[(40, 0, 1920, 90)], channel=1, program=33, meta=[(5, cc(10, 20, channel=1))]
            ),
            # a controller track of its own: no notes, the sustain pedal of channel 0
            songs.RawTrack(channel=0, program=None, meta=[(1000, cc(64, 100)), (1500, cc(123, 0))]),
        ]
    )
    song = song_from_bytes(data)
    piano, bass = song.tracks
    # bank select (0) and channel-mode messages (123: all notes off) are not kept
    assert piano.controls == (
        ControlChange(0, 7, 100),
        ControlChange(10, 64, 127),
        ControlChange(900, 64, 0),
        ControlChange(1000, 64, 100),
    )
    assert bass.controls == (ControlChange(5, 10, 20),)
    again = song_from_bytes(song_to_bytes(song))
    assert [t.controls for t in again.tracks] == [t.controls for t in song.tracks]
    assert [t.notes for t in again.tracks] == [t.notes for t in song.tracks]


def test_at_one_instant_a_file_releases_then_changes_controllers_then_strikes():
    track = replace(
        Track(program=0).with_notes([Note(60, 0, 480, 90), Note(62, 480, 960, 90)]),
        controls=(ControlChange(480, 64, 127),),
    )
    midi = mido.MidiFile(file=__import__("io").BytesIO(song_to_bytes(Song(tracks=(track,)))))
    kinds = [m.type for m in midi.tracks[1] if not m.is_meta and m.type != "program_change"]
    assert kinds == ["note_on", "note_off", "control_change", "note_on", "note_off"]


# ---- cuts ---------------------------------------------------------------------------------------
def test_a_cut_starts_from_the_controllers_values_and_lifts_a_held_pedal_at_its_end():
    song = pedalled_piano(6)
    cut = song.slice_bars(2, 2).tracks[0].controls
    assert cut[:2] == (ControlChange(0, 7, 90), ControlChange(0, 64, 127))
    assert ControlChange(BAR + TICKS_PER_SUBBEAT, 64, 127) in cut
    assert cut[-1] == ControlChange(2 * BAR, 64, 0)  # held at the cut: lifted there
    assert all(0 <= c.tick <= 2 * BAR for c in cut)


# ---- what is played -----------------------------------------------------------------------------
def test_the_schedule_plays_controller_changes_between_releases_and_strikes():
    song = pedalled_piano(2)
    schedule = song_schedule(song)
    controls = schedule.select(schedule.kind == CONTROL)
    assert len(controls) == len(song.tracks[0].controls)
    assert controls.message(0) == mido.Message("control_change", control=7, value=90)
    # at one instant: the old note released, the pedal pressed, the new note struck
    legato = replace(
        Track(program=0).with_notes([Note(60, 0, BAR, 90), Note(62, BAR, 2 * BAR, 90)]),
        controls=(ControlChange(BAR, 64, 127),),
    )
    at_bar = song_schedule(Song(tracks=(legato,))).kind[2:5].tolist()
    assert at_bar == [NOTE_OFF, CONTROL, NOTE_ON]


def test_playing_from_the_middle_first_sends_the_pedal_and_volume_held_there():
    song = pedalled_piano(4)
    schedule = song_schedule(song)
    index = int((schedule.seconds < song.tick_to_seconds(BAR + BAR // 2)).sum())
    state = {(m.control, m.value) for m in controls_at(schedule, index)}
    assert state == {(7, 90), (64, 127)}
    # before any change: the General MIDI reset values of the controllers the piece uses
    assert {(m.control, m.value) for m in controls_at(schedule, 0)} == {(7, 100), (64, 0)}
    sink = RecordingSink()
    player = Player(sink)
    finished = threading.Event()
    player.on_finished(finished.set)
    try:
        player.set_song(song.slice_bars(0, 2))
        player.play(start_seconds=song.tick_to_seconds(BAR + BAR // 2))
        assert finished.wait(5.0)
    finally:
        player.close()
    sent = [m for _, m in sink.messages if m.type == "control_change"]
    assert (sent[0].control, sent[0].value) in {(7, 90), (64, 127)}
    assert {(m.control, m.value) for m in sent[:2]} == {(7, 90), (64, 127)}


def test_a_rendered_controller_change_reaches_the_synthesizer():
    calls = []

    class Synth:
        def cc(self, *args):
            calls.append(("cc", *args))

        def noteon(self, *args):
            calls.append(("on", *args))

    _apply(Synth(), CONTROL, 3, 64, 127)
    _apply(Synth(), NOTE_ON, 3, 60, 90)
    assert calls == [("cc", 3, 64, 127), ("on", 3, 60, 90)]


# ---- continue: a pedalled piece's new bars are pedalled --------------------------------------------
def test_new_bars_after_a_pedalled_piece_change_the_pedal_every_bar_and_lift_it_at_the_end():
    song = pedalled_piano(4)
    more = pedal_on(song, 4, 2).tracks[0].controls
    assert [c for c in more if c.tick < 4 * BAR] == [
        c for c in song.tracks[0].controls if c.tick < 4 * BAR
    ]
    new = [c for c in more if c.tick >= 4 * BAR]
    assert new == [
        ControlChange(4 * BAR, 64, 0),
        ControlChange(4 * BAR + TICKS_PER_SUBBEAT, 64, 127),
        ControlChange(5 * BAR, 64, 0),
        ControlChange(5 * BAR + TICKS_PER_SUBBEAT, 64, 127),
        ControlChange(6 * BAR, 64, 0),
    ]


def test_the_pedal_changes_at_every_bar_and_at_a_new_bass_note_two_beats_on():
    beat = 4 * TICKS_PER_SUBBEAT
    notes = [
        Note(70, 0, beat, 80),  # bar 1: no bass note
        Note(40, BAR + beat, BAR + 2 * beat, 80),  # bass one beat into bar 2: too soon
        Note(41, BAR + 2 * beat, BAR + 3 * beat, 80),  # bass at half bar: a change
        Note(60, BAR + 3 * beat, BAR + 4 * beat, 80),  # not bass
        Note(38, 2 * BAR + 3 * beat, 3 * BAR, 80),  # bass, 3 beats after bar 3's change
        Note(36, 5 * BAR, 5 * BAR + beat, 80),  # outside [0, 3 bars)
    ]
    changes = pedal_changes(notes, 0, 3 * BAR)
    lifts = [c.tick for c in changes if c.value == 0]
    assert lifts == [0, BAR, BAR + 2 * beat, 2 * BAR, 2 * BAR + 3 * beat, 3 * BAR]
    presses = [c.tick for c in changes if c.value == 127]
    assert presses == [t + TICKS_PER_SUBBEAT for t in lifts[:-1]]


def test_new_bars_after_an_unpedalled_piece_stay_unpedalled():
    song = pedalled_piano(4)
    once = (ControlChange(0, 64, 127), ControlChange(BAR // 4, 64, 0), ControlChange(0, 7, 80))
    track = replace(song.tracks[0], controls=once)
    assert pedal_on(song.with_tracks([track]), 4, 3).tracks[0].controls == once
    plain = song.with_tracks([replace(song.tracks[0], controls=())])
    assert pedal_on(plain, 4, 3) == plain


def test_a_pedal_held_at_the_join_is_lifted_there_when_the_new_bars_are_not_pedalled():
    song = pedalled_piano(4).slice_bars(0, 2)  # cut: the pedal, down, is lifted at the cut
    assert song.tracks[0].controls[-1] == ControlChange(2 * BAR, 64, 0)
    dry = pedal_on(song, 2, 3, pedal=False).tracks[0].controls
    assert dry[-1] == ControlChange(2 * BAR, 64, 0)
    assert all(c.tick <= 2 * BAR for c in dry)
    wet = pedal_on(song, 2, 3).tracks[0].controls
    assert next(c for c in wet if c.tick >= 2 * BAR) == ControlChange(2 * BAR, 64, 0)
    assert wet[-1] == ControlChange(5 * BAR, 64, 0)


# ---- the engine's results -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    torch.set_num_threads(1)
    return Engine.load(save_tiny_model(tmp_path_factory.mktemp("models") / "tiny"), device="cpu")


def test_an_edit_keeps_the_pieces_pedalling(engine):
    song = pedalled_piano(4)
    (edited,) = engine.transfer_many([song], [HAPPY], seed=0, method="edit")
    assert edited.tracks[0].notes != song.tracks[0].notes
    assert edited.tracks[0].controls == song.tracks[0].controls


def test_a_rewrite_keeps_the_pieces_pedalling_up_to_its_end(engine):
    song = pedalled_piano(4)
    (rewritten,) = engine.transfer_many([song], [HAPPY], seed=0, method="rewrite")
    piano = [t for t in rewritten.tracks if t.family == song.tracks[0].family]
    assert piano and piano[0].controls == song.slice_bars(0, rewritten.n_bars).tracks[0].controls


def test_continue_and_fill_keep_the_pieces_pedalling_and_continue_pedals_the_new_bars(engine):
    song = pedalled_piano(4)
    (continued,) = engine.continue_piece(song, 2, seed=0)
    controls = continued.tracks[0].controls
    assert [c for c in controls if c.tick < 4 * BAR] == [
        c for c in song.tracks[0].controls if c.tick < 4 * BAR
    ]
    assert ControlChange(5 * BAR + TICKS_PER_SUBBEAT, 64, 127) in controls
    (filled,) = engine.fill(song, 2, 3, seed=0)
    assert filled.tracks[0].controls == song.tracks[0].controls


def test_generated_piano_is_pedalled_unless_asked_not_to_and_the_notes_are_the_same(engine):
    (pedalled,) = engine.generate_many([HAPPY], bars=4, seed=3)
    (plain,) = engine.generate_many([HAPPY], bars=4, seed=3, settings=DecodingSettings(pedal=False))
    assert [t.notes for t in pedalled.tracks] == [t.notes for t in plain.tracks]
    assert all(t.controls == () for t in plain.tracks)
    for track in pedalled.tracks:
        if track.family is Family.PIANO:
            assert track.controls == tuple(pedal_changes(track.notes, 0, 4 * BAR))
        else:
            assert track.controls == ()
    assert any(t.family is Family.PIANO for t in pedalled.tracks)


def test_pedal_is_a_checked_setting():
    assert DecodingSettings().pedal is True
    assert DecodingSettings().replace(pedal=0.0).pedal is False
    with pytest.raises(DecodingSettingsError, match="pedal"):
        DecodingSettings(pedal=0.5)  # type: ignore[arg-type]


# ---- the pitch wheel ------------------------------------------------------------------------------
def bent_lead() -> Song:
    """A lead note bent up a semitone and back, then a note bent down and left there."""
    track = replace(
        Track(program=81).with_notes([Note(72, 0, 960, 90), Note(74, 1920, 2880, 90)]),
        bends=(
            PitchBend(240, 4096),
            PitchBend(720, 0),
            PitchBend(2000, -2048),
        ),
    )
    return Song(tracks=(track,))


def test_pitch_wheel_moves_are_read_and_written_back():
    data = songs.midi_bytes(
        [
            songs.RawTrack(
                notes=[(60, 0, 960, 90)],
                meta=[(100, mido.Message("pitchwheel", channel=0, pitch=-3000))],
            )
        ]
    )
    song = song_from_bytes(data)
    assert song.tracks[0].bends == (PitchBend(100, -3000),)
    assert (
        song_from_bytes(song_to_bytes(bent_lead())).tracks[0].bends == bent_lead().tracks[0].bends
    )


def test_a_cut_starts_at_the_wheels_position_and_centres_it_at_its_end():
    song = bent_lead()
    assert song.slice_bars(0, 1).tracks[0].bends == song.tracks[0].bends[:2]
    later = replace(song.tracks[0], bends=(PitchBend(500, 1000),))
    cut = song.with_tracks([later]).slice_bars(0, 1).tracks[0].bends
    assert cut == (PitchBend(500, 1000), PitchBend(BAR, 0))
    assert song.with_tracks([later]).slice_bars(1, 1).tracks[0].bends == (
        PitchBend(0, 1000),
        PitchBend(BAR, 0),
    )


def test_the_wheel_is_played_rendered_and_chased():
    song = bent_lead()
    schedule = song_schedule(song)
    pitch = schedule.select(schedule.kind == PITCH)
    assert [pitch.message(i).pitch for i in range(len(pitch))] == [4096, 0, -2048]
    assert pitch.message(0).type == "pitchwheel"
    # from the middle of the first bend: the wheel is up there; from the start: centred
    index = int((schedule.seconds < song.tick_to_seconds(480)).sum())
    assert [(m.type, m.pitch) for m in controls_at(schedule, index)] == [("pitchwheel", 4096)]
    assert [(m.type, m.pitch) for m in controls_at(schedule, 0)] == [("pitchwheel", 0)]
    calls = []

    class Synth:
        def pitch_bend(self, *args):
            calls.append(args)

    _apply(Synth(), PITCH, 2, PITCH_CENTRE - 2048, 0)
    assert calls == [(2, -2048)]


def test_a_continuation_starts_with_the_wheel_centred():
    song = bent_lead()  # two bars, the wheel left bent down
    moved = pedal_on(song, 2, 2).tracks[0].bends
    assert moved == (*song.tracks[0].bends, PitchBend(2 * BAR, 0))
