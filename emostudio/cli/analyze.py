"""``emostudio analyze IN.mid [--json]``: tempo, bars, key per bar, global key, polyphony, note density.

:func:`analyse_song` builds the analysis as a plain dict (what ``--json`` prints);
:func:`format_analysis` turns it into lines for people. Further analyses (e.g. the recognised
emotion) extend the dict in :func:`analyse_file` and add their lines in :func:`format_analysis`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emostudio.cli.main import CommandError

HELP = "print tempo, bars, key per bar, global key, mean polyphony and note density of a MIDI file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN.mid", help="MIDI file to analyse")
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model folder for the recognised emotion (default: the shipped model, if present)",
    )


def analyse_song(song) -> dict:
    """The analysis of a :class:`~emostudio.midi.Song` as JSON-ready values (bars on the model's grid)."""
    import numpy as np

    from emostudio.midi.pedal import sustain_use
    from emostudio.midi.song import SUSTAIN, TICKS_PER_BAR
    from emostudio.tokens.features import bar_keys, global_key, key_name, polyphony

    n_bars = song.n_bars  # the one bar count (emostudio.piece_rules): the engine's and the app's
    poly = polyphony(song, n_bars)
    keys = bar_keys(song, n_bars).tolist()
    bpms = [t.bpm for t in song.tempos]
    pitched = sum(len(t.notes) for t in song.tracks if not t.is_drum)
    first_sig = song.time_signatures[0] if song.time_signatures else None
    return {
        "name": song.name,
        "seconds": round(song.duration_seconds, 3),
        "tempo_bpm": round(song.initial_bpm, 2),
        "tempo_changes": len(song.tempos) - 1,
        "tempo_range_bpm": [round(min(bpms), 2), round(max(bpms), 2)] if bpms else None,
        "time_signature": f"{first_sig.numerator}/{first_sig.denominator}" if first_sig else None,
        "bars": n_bars,
        "tracks": [
            {
                "name": t.name,
                "program": t.program,
                "drums": t.is_drum,
                "family": t.family.label,
                "notes": len(t.notes),
                # share of the piece with the sustain pedal down (None: the track has no pedal)
                "pedal_down": round(sustain_use(t.controls, n_bars * TICKS_PER_BAR)[0], 3)
                if any(c.control == SUSTAIN for c in t.controls)
                else None,
            }
            for t in song.tracks
        ],
        "notes": song.note_count,
        "pitched_notes": pitched,
        "note_density": round(song.note_count / n_bars, 3) if n_bars else 0.0,
        "mean_polyphony": round(float(np.mean(poly)), 3) if n_bars else 0.0,
        "global_key": key_name(global_key(song)) if pitched else None,
        # the key signatures the file states (what a notation program shows), (bar, key)
        "key_signatures": [[k.tick // TICKS_PER_BAR + 1, k.label] for k in song.key_signatures],
        # the texts the file carries beside the music (copyright, credits, markers)
        "texts": [
            {"bar": e.tick // TICKS_PER_BAR + 1, "kind": e.kind, "text": e.text} for e in song.texts
        ],
        "bar_keys": [key_name(k) for k in keys] if pitched else [],
    }


def analyse_file(path: str, model_dir: str | None = None) -> dict:
    """Read a MIDI file and analyse it; ``CommandError`` (one line) if it cannot be read."""
    from emostudio.midi import MidiReadError, read_midi

    try:
        song = read_midi(path)
    except MidiReadError as exc:
        raise CommandError(str(exc)) from None
    return {
        "file": str(path),
        **analyse_song(song),
        "emotion": recognised_emotion(song, model_dir, name=Path(path).name),
    }


def recognised_emotion(song, model_dir: str | None = None, name: str = "") -> dict | None:
    """The model's recognised emotion (overall and per bar), or ``None`` when there is nothing to
    recognise (no notes) or no model (no ``model_dir`` and no shipped default model).

    A long piece is heard on its first bars and an unpitched one gets no valence, with a note
    (:mod:`emostudio.piece_rules`, as in the app); ``name`` (the file's) is used in messages."""
    from emostudio.generation import Engine, EngineError, default_model_dir
    from emostudio.model.store import ModelLoadError
    from emostudio.piece_rules import (
        UNPITCHED_NOTE,
        heard_part,
        is_unpitched,
        long_piece_note,
        meter_note,
    )

    if song.note_count == 0 or (model_dir is None and not default_model_dir().exists()):
        return None
    heard = heard_part(song)
    try:
        engine = Engine.load(model_dir)
        rec = engine.recognise(heard)
    except (ModelLoadError, EngineError) as exc:
        raise CommandError(f"{name}: {exc}" if name else str(exc)) from None
    notes = [n for n in (long_piece_note(name or "the piece", song.n_bars),) if n]
    unpitched = is_unpitched(song)
    if unpitched:
        notes.append(UNPITCHED_NOTE)
    meter = meter_note(song)
    if meter is not None:
        notes.append(meter)
    return {
        "model": str(engine.model_dir),
        "heard_bars": heard.n_bars,
        "quadrant": None if unpitched else rec.quadrant,
        "name": None if unpitched else rec.emotion.name,
        "valence": None if unpitched else round(rec.emotion.valence, 3),
        "arousal": round(rec.emotion.arousal, 3),
        "p_high_arousal": round(rec.overall_arousal, 3),
        "p_high_valence": None if unpitched else round(rec.overall_valence, 3),
        "bar_p_high_arousal": [round(float(p), 3) for p in rec.arousal],
        "bar_p_high_valence": [] if unpitched else [round(float(p), 3) for p in rec.valence],
        "notes": notes,
    }


def key_segments(bar_keys: list[str]) -> list[tuple[int, int, str]]:
    """Runs of equal keys as (first bar, last bar, key), bars counted from 1."""
    runs: list[tuple[int, int, str]] = []
    for i, key in enumerate(bar_keys, start=1):
        if runs and runs[-1][2] == key:
            runs[-1] = (runs[-1][0], i, key)
        else:
            runs.append((i, i, key))
    return runs


def format_analysis(analysis: dict) -> list[str]:
    lo, hi = analysis["tempo_range_bpm"] or (analysis["tempo_bpm"],) * 2
    tempo = f"{analysis['tempo_bpm']:g} BPM"
    if analysis["tempo_changes"]:
        tempo += f" ({analysis['tempo_changes']} changes, {lo:g}-{hi:g} BPM)"
    lines = [
        f"file:          {analysis['file']}",
        f"length:        {analysis['seconds']:.1f} s, {analysis['bars']} bars of 16 sub-beats "
        f"(time signature {analysis['time_signature']})",
        f"tempo:         {tempo}",
        "tracks:        "
        + ", ".join(
            f"{t['name'] or t['family']} ({t['family']}, {t['notes']} notes"
            + (f", pedal down {t['pedal_down']:.0%}" if t.get("pedal_down") is not None else "")
            + ")"
            for t in analysis["tracks"]
        ),
        f"global key:    {analysis['global_key'] or 'none (no pitched notes)'}",
        "key signature: "
        + (
            ", ".join(f"{key} (bar {bar})" for bar, key in analysis["key_signatures"])
            or "none stated"
        ),
        *(
            f"{e['kind'].replace('_', ' ') + ':':14} {e['text'].strip()}"
            + (f" (bar {e['bar']})" if e["kind"] in ("marker", "cue_marker") else "")
            for e in analysis.get("texts", ())
        ),
        f"mean polyphony: {analysis['mean_polyphony']:.2f} notes sounding per sub-beat",
        f"note density:  {analysis['note_density']:.1f} notes per bar",
    ]
    emotion = analysis.get("emotion")
    if emotion is not None and emotion["quadrant"] is None:
        lines.append(
            f"emotion:       P(high arousal) {emotion['p_high_arousal']:.2f}, valence not "
            f"judged (model {emotion['model']})"
        )
    elif emotion is not None:
        lines.append(
            f"emotion:       Q{emotion['quadrant']} {emotion['name']} (P(high arousal) "
            f"{emotion['p_high_arousal']:.2f}, P(high valence) {emotion['p_high_valence']:.2f}; "
            f"model {emotion['model']})"
        )
    else:
        lines.append("emotion:       not recognised (no notes, or no model: pass --model DIR)")
    for note in (emotion or {}).get("notes", []):
        lines.append(f"note:          {note}")
    lines.append("key per bar:")
    for first, last, key in key_segments(analysis["bar_keys"]):
        bars = f"bar {first}" if first == last else f"bars {first}-{last}"
        lines.append(f"  {bars}: {key}")
    return lines


def run(args: argparse.Namespace) -> int:
    analysis = analyse_file(args.input, args.model)
    if args.json:
        print(json.dumps(analysis, indent=2))
    else:
        print("\n".join(format_analysis(analysis)))
    return 0
