"""Playback benchmarks: offline WAV render speed and the live player's timing jitter.

    .venv/bin/python benchmarks/render_speed.py [--repeats 5] [--seconds 30] [--jitter-runs 3]

1. Render: a generated piece of ``--seconds`` (piano chords, a bass line and drums; 120 bpm) is
   rendered to WAV with :func:`emostudio.playback.render_wav` ``--repeats`` times; the median wall
   time is compared with real time and with the baseline measured in the same run,
   ``pretty_midi.PrettyMIDI.fluidsynth()`` (the same soundfont, 44.1 kHz, audio kept in memory,
   no WAV written).
2. Jitter: a dense 10 s piece (16th notes, ~17 messages a second per voice) is played by
   :class:`emostudio.playback.Player` into a :class:`RecordingSink`; each message's lateness is
   its arrival time minus its scheduled time. Baseline, same run: mido's own
   ``MidiFile.play()`` (a plain loop sleeping until each message; merged track built before the
   clock starts) on the same song. ``--jitter-runs`` alternating runs each, lateness pooled. Both
   are measured idle and with a busy pure-Python thread in the process (GIL contention).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.io import song_to_bytes, song_to_midifile
from emostudio.playback import Player, RecordingSink, default_soundfont, render_wav, song_to_events


def make_piece(seconds: float, bpm: float = 120.0, subdivision: int = 2) -> Song:
    """Chords on each beat, a bass note per half bar, a drum hit per ``subdivision`` of a beat."""
    beat = 480
    beats = int(seconds * bpm / 60)
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
    piano, bass, drums = [], [], []
    for b in range(beats):
        chord = chords[(b // 4) % 4]
        for pitch in chord:
            piano.append(Note(pitch, b * beat, b * beat + beat - 20, 80))
        if b % 2 == 0:
            bass.append(Note(chord[0] - 24, b * beat, b * beat + 2 * beat - 20, 95))
        for k in range(subdivision):
            start = b * beat + k * beat // subdivision
            drums.append(Note(42 if k else 36, start, start + 60, 100))
    tracks = (
        Track(program=0, name="piano", notes=tuple(piano)),
        Track(program=33, name="bass", notes=tuple(bass)),
        Track(is_drum=True, name="drums", notes=tuple(drums)),
    )
    return Song(tracks=tracks, tempos=(TempoChange(0, bpm),), name="bench")


def bench_render(song: Song, repeats: int) -> None:
    import pretty_midi

    soundfont = default_soundfont()
    ours, loads, baseline = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        midi_path = Path(folder) / "piece.mid"
        midi_path.write_bytes(song_to_bytes(song))
        for _ in range(repeats):
            done = render_wav(song, Path(folder) / "piece.wav", soundfont=soundfont)
            ours.append(done.elapsed_seconds)
            loads.append(done.load_seconds)
            started = time.perf_counter()
            pretty_midi.PrettyMIDI(str(midi_path)).fluidsynth(fs=44100, synthesizer=str(soundfont))
            baseline.append(time.perf_counter() - started)
    audio = song.duration_seconds
    ours_m, load_m, base_m = (statistics.median(x) for x in (ours, loads, baseline))
    print(f"render: {audio:.1f} s piece, soundfont {soundfont.name}, {repeats} runs, medians")
    print(f"  render_wav (WAV written):         {ours_m:.3f} s = {audio / ours_m:.0f}x real time")
    print(
        f"    of which soundfont load:        {load_m:.3f} s; synthesis + WAV {ours_m - load_m:.3f} s "
        f"= {audio / (ours_m - load_m):.0f}x real time"
    )
    print(f"  baseline pretty_midi.fluidsynth:  {base_m:.3f} s = {audio / base_m:.0f}x real time")
    print(f"  ratio render_wav / baseline:      {ours_m / base_m:.2f}")


def _lateness_ms(arrivals: list[float], expected: list[float], started: float) -> list[float]:
    return [1000.0 * ((a - started) - e) for a, e in zip(arrivals, expected)]


def play_with_player(song: Song) -> list[float]:
    sink = RecordingSink()
    player = Player(sink)
    finished = threading.Event()
    player.on_finished(finished.set)
    player.set_song(song)
    expected = [e.seconds for e in song_to_events(song)]
    started = time.monotonic()
    player.play()
    finished.wait(song.duration_seconds + 10)
    player.close()
    return _lateness_ms([t for t, _ in sink.messages], expected, started)


def play_with_mido(song: Song) -> list[float]:
    expected = [e.seconds for e in song_to_events(song)]
    midi = song_to_midifile(song)
    _ = midi.merged_track  # built (and cached) before the clock starts, to time playback alone
    arrivals = []
    started = time.monotonic()
    for _message in midi.play(now=time.monotonic):
        arrivals.append(time.monotonic())
    # mido plays note messages in merged-track order; match them by count (same schedule times)
    return _lateness_ms(arrivals, expected, started)


def _summary(name: str, late: list[float]) -> tuple[float, float]:
    late_sorted = sorted(late)
    p95 = late_sorted[int(0.95 * (len(late_sorted) - 1))]
    median = statistics.median(late)
    print(
        f"  {name:34s} median {median:6.2f} ms  p95 {p95:6.2f} ms  max {max(late):6.2f} ms  "
        f"min {min(late):6.2f} ms  ({len(late)} messages)"
    )
    return median, p95


def bench_jitter(runs: int) -> None:
    song = make_piece(10.0, bpm=120.0, subdivision=4)
    print(
        f"jitter: {song.note_count} notes, {len(song_to_events(song))} messages over "
        f"{song.duration_seconds:.1f} s, {runs} runs each, pooled; lateness = arrival - scheduled"
    )
    for condition in ("idle", "busy Python thread"):
        stop = threading.Event()
        if condition != "idle":

            def spin(stop=stop):
                x = 0
                while not stop.is_set():
                    x += 1

            threading.Thread(target=spin, daemon=True).start()
        print(f" {condition}:")
        ours, base = [], []
        for _ in range(runs):  # alternate, so both see the same background load
            ours += play_with_player(song)
            base += play_with_mido(song)
        _, ours_p95 = _summary("Player -> RecordingSink", ours)
        _, base_p95 = _summary("baseline mido MidiFile.play()", base)
        print(f"  ratio of p95 lateness Player / baseline: {ours_p95 / base_p95:.2f}")
        stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--jitter-runs", type=int, default=3)
    args = parser.parse_args()
    bench_render(make_piece(args.seconds), args.repeats)
    bench_jitter(args.jitter_runs)


if __name__ == "__main__":
    main()
