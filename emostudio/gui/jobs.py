"""The window's long work as jobs for :class:`emostudio.gui.worker.Worker` (no Qt here).

A job is ``job(cancel) -> generator``: it yields progress events and returns its result. Each
``*_job`` function below takes the job's arguments and returns such a job. Engine and playback
modules are imported inside the jobs, on the worker thread, so the window appears before torch
or FluidSynth are loaded.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emostudio.decoding import LONG_PIECE_BARS, DecodingSettings, EngineError, check_piece
from emostudio.emotion import Emotion
from emostudio.midi import Song, read_midi, write_midi
from emostudio.piece_rules import first_bars, heard_part
from emostudio.progress import Progress
from emostudio.transform import Element

log = logging.getLogger(__name__)

# Pieces longer than LONG_PIECE_BARS (emostudio.decoding) load (and play, and draw), but a transfer
# takes their first bars (emostudio.piece_rules).
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")

Target = Emotion | Sequence[Emotion]


@dataclass(frozen=True)
class LoadedSong:
    song: Song
    path: Path
    note: str  # one line for the status bar (with a warning for a very long piece)


@dataclass(frozen=True)
class LoadedModel:
    engine: Any  # emostudio.generation.Engine
    cuda_available: bool


def load_song_job(path: str | Path):
    """Read a MIDI file; MidiReadError (one line) for anything unusable or empty."""
    from emostudio.midi import MidiReadError

    def job(cancel: threading.Event) -> Generator[Progress, None, LoadedSong]:
        p = Path(path)
        yield Progress("files", done=0, total=1, text=f"reading {p.name}…")
        song = read_midi(p)
        try:  # any length loads: a transfer takes the first LONG_PIECE_BARS bars
            check_piece(song, "the file", max_bars=None)
        except EngineError as exc:
            raise MidiReadError(str(p), str(exc)) from exc
        minutes, seconds = divmod(round(song.duration_seconds), 60)
        note = f"{p.name}: {song.n_bars} bars, {song.note_count:,} notes, {minutes}:{seconds:02d}"
        if song.n_bars > LONG_PIECE_BARS:
            note += f" (a long piece: a transfer works on its first {LONG_PIECE_BARS} bars)"
        return LoadedSong(song, p, note)

    return job


@contextmanager
def _no_collection_pauses() -> Iterator[None]:
    """No garbage collection while torch is imported and a model loaded (hundreds of thousands of
    new objects: full collections over them held the interpreter lock, so the window, drawn by the
    other thread, froze for up to a third of a second), then every object made so far moved out of
    the collector's sight (``gc.freeze``), so later full collections stay short."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


# torch's largest shared libraries, in load order, opened ahead of ``import torch``
TORCH_LIBRARIES = ("libc10.so", "libtorch_cpu.so")


def open_torch_libraries() -> bool:
    """Map torch's largest shared libraries into the process before ``import torch`` does.

    The import holds the interpreter lock while the dynamic linker maps libtorch_cpu and runs its
    static initialisers (~0.35 s), so the window, drawn by the other thread, froze for that long;
    libc's ``dlopen``, called as a ctypes foreign function, runs without the lock, and the import
    then finds them mapped. True when they were opened; False (and nothing done) where torch is
    imported already or its libraries are not where a Linux install keeps them (the import then
    loads them as always)."""
    if torch_imported():
        return False
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    paths = [lib / name for name in TORCH_LIBRARIES]
    if not all(path.is_file() for path in paths):
        return False
    # dlopen called as a foreign function, which ctypes calls without the lock (``ctypes.CDLL``
    # itself holds it through dlopen on Python 3.11)
    dlopen = ctypes.CDLL(None).dlopen
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, (ctypes.c_char_p, ctypes.c_int)
    for path in paths:  # never closed: the import uses them
        if not dlopen(bytes(path), ctypes.RTLD_GLOBAL | os.RTLD_NOW):
            log.debug("could not open %s ahead of the import", path)
            return False  # the import will say what is wrong, in its own words
    log.debug("opened torch's libraries from %s ahead of the import", lib)
    return True


def torch_imported() -> bool:
    return "torch" in sys.modules


def import_torch() -> None:
    """``import torch`` on a worker as the window needs it: its libraries opened without the
    interpreter lock first, and no garbage collection over the objects it makes."""
    open_torch_libraries()
    with _no_collection_pauses():
        import torch  # noqa: F401


def import_torch_job():
    """Import torch (for a window that needs it before any model is loaded: the training
    wizard); returns None."""

    def job(cancel: threading.Event) -> Generator[Progress, None, None]:
        yield Progress("models", done=0, total=1, text="loading torch…")
        import_torch()

    return job


def load_model_job(model_dir: str | Path | None, device: str):
    """Load an engine (None: the shipped default model); ModelLoadError says why a folder is unusable."""

    def job(cancel: threading.Event) -> Generator[Progress, None, LoadedModel]:
        yield Progress("models", done=0, total=1, text="loading model…")
        import_torch()
        with _no_collection_pauses():
            import torch

            from emostudio.generation import Engine

            engine = Engine.load(model_dir=Path(model_dir) if model_dir else None, device=device)
        return LoadedModel(engine, bool(torch.cuda.is_available()))

    return job


def generate_job(
    engine,
    target: Target,
    bars: int,
    settings: DecodingSettings,
    seed: int | None,
    form: str = "none",
):
    """New bars in the target emotion (a point, or one Emotion per bar); returns the last song."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Song | None]:
        events = engine.generate(
            _target(target), bars=bars, seed=seed, settings=settings, cancel=cancel, form=form
        )
        return (yield from _bar_progress(events))

    return job


def transfer_job(
    engine,
    song: Song,
    target: Target,
    strength: float,
    dims: Sequence[str],
    settings: DecodingSettings,
    seed: int | None,
    max_bars: int,
    method: str = "edit",
    keep: Sequence[str] = (),
):
    """The first ``max_bars`` bars of ``song`` moved toward ``target`` by ``strength`` (``method``
    "edit" or "rewrite"; ``keep``: the names of the elements that stay exactly)."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Song | None]:
        events = engine.transfer(
            first_bars(song, max_bars),
            _target(target),
            strength=strength,
            dims=tuple(dims),
            seed=seed,
            settings=settings,
            cancel=cancel,
            method=method,
            keep=frozenset(Element.parse(name) for name in keep),
        )
        return (yield from _bar_progress(events))

    return job


def element_job(
    engine,
    song: Song,
    donor: Song,
    element: str,
    settings: DecodingSettings,
    seed: int | None,
    max_bars: int,
):
    """The first ``max_bars`` bars of ``song`` with the ``donor``'s "rhythm" or "key" latents."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Song | None]:
        events = engine.transfer_element(
            first_bars(song, max_bars),
            first_bars(donor, max_bars),
            element,
            seed=seed,
            settings=settings,
            cancel=cancel,
        )
        return (yield from _bar_progress(events))

    return job


def variations_job(
    engine,
    target: Target,
    bars: int,
    settings: DecodingSettings,
    seed: int | None,
    form: str,
    variations: int,
):
    """``variations`` generations of the same target, decoded as one batch; returns the songs."""

    def job(cancel: threading.Event) -> Generator[Progress, None, list[Song]]:
        yield Progress("takes", done=0, total=variations, text=f"{variations} variations…")
        return engine.generate_many(
            [_target(target)] * variations, bars=bars, seed=seed, settings=settings, form=form
        )

    return job


def fill_job(
    engine,
    song: Song,
    first: int,
    last: int,
    settings: DecodingSettings,
    seed: int | None,
    variations: int,
):
    """``song`` with bars ``first``..``last`` (0-based) re-written, ``variations`` times in one
    batch (:meth:`Engine.fill`); returns the songs."""

    def job(cancel: threading.Event) -> Generator[Progress, None, list[Song]]:
        yield Progress(
            "takes", done=0, total=variations, text=f"filling bars {first + 1}-{last + 1}…"
        )
        return engine.fill(song, first, last, variations=variations, seed=seed, settings=settings)

    return job


def continue_job(
    engine,
    song: Song,
    bars: int,
    target: Emotion,
    settings: DecodingSettings,
    seed: int | None,
    variations: int,
):
    """``song`` followed by ``bars`` new bars moving towards ``target``, ``variations`` times in
    one batch (:meth:`Engine.continue_piece`); returns the songs."""

    def job(cancel: threading.Event) -> Generator[Progress, None, list[Song]]:
        yield Progress("takes", done=0, total=variations, text=f"continuing by {bars} bars…")
        return engine.continue_piece(
            song, bars, target, variations=variations, seed=seed, settings=settings
        )

    return job


def recognise_job(engine, song: Song):
    """The engine's Recognition of ``song`` (per-bar and overall arousal / valence); a long piece is
    heard on its first LONG_PIECE_BARS bars (the pad shows one point for the piece anyway)."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Any]:
        yield Progress("pieces", done=0, total=1, text="listening…")
        return engine.recognise(heard_part(song))

    return job


def export_midi_job(song: Song, path: str | Path):
    def job(cancel: threading.Event) -> Generator[Progress, None, Path]:
        yield Progress("files", done=0, total=1, text=f"writing {Path(path).name}…")
        write_midi(song, path)
        return Path(path)

    return job


def save_session_job(contents: Any, path: Path):
    """Write a session file (``session_file.SessionContents``) with a progress step per piece;
    returns its path (None when cancelled). A folder that cannot be written fails with the
    OSError's reason; cancelled or failed, any file at ``path`` stays as it was."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Path | None]:
        from emostudio.gui.session_file import writing_session_file

        steps = writing_session_file(path, contents)
        for done, total in steps:
            if cancel.is_set():
                steps.close()  # the file stays as it was
                return None
            yield Progress("files", done=done, total=total, text=f"saving {path.name}…")
        return path

    return job


def open_session_job(path: Path):
    """Read a session file; returns ``session_file.SessionContents`` (SessionFileError: why not)."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Any]:
        from emostudio.gui.session_file import read_session_file

        yield Progress("files", done=0, total=1, text=f"opening {path.name}…")
        return read_session_file(path)

    return job


def export_midi_files_job(files: list[tuple[Song, Path]]):
    """Write several songs (every take at once); returns the files written (all of them unless
    cancelled)."""

    def job(cancel: threading.Event) -> Generator[Progress, None, list[Path]]:
        written = []
        for i, (song, path) in enumerate(files):
            if cancel.is_set():
                break
            yield Progress("files", done=i, total=len(files), text=f"writing {path.name}…")
            write_midi(song, path)
            written.append(path)
        return written

    return job


def render_wav_job(song: Song, path: str | Path, soundfont: str | Path | None):
    """Render ``song`` to a WAV file; returns the RenderDone, or None when cancelled."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Any]:
        from emostudio.playback.render import RenderDone, iter_render_wav

        done = None
        for event in iter_render_wav(song, path, soundfont=soundfont or None, cancel=cancel):
            if isinstance(event, RenderDone):
                done = event
            else:
                yield Progress(
                    "seconds", done=int(event.seconds_done), total=int(max(1, event.seconds_total))
                )
        return done

    return job


def open_output_job(kind: str, port: str | None, soundfont: str | Path | None):
    """Open a playback sink: ``kind`` "fluidsynth" (live audio with ``soundfont``) or "midi" (``port``).

    Raises PlaybackError / SoundfontNotFound with a one-line reason (e.g. no sound card)."""

    def job(cancel: threading.Event) -> Generator[Progress, None, Any]:
        from emostudio.playback import PlaybackError
        from emostudio.playback.fluid import FluidSynthSink
        from emostudio.playback.sinks import MidiPortSink

        yield Progress("outputs", done=0, total=1, text="opening the sound output…")
        if kind == "fluidsynth":
            return FluidSynthSink(soundfont or None)
        if kind == "midi":
            return MidiPortSink(port)
        raise PlaybackError(f"unknown output kind {kind!r}")

    return job


def is_midi_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in MIDI_SUFFIXES


def _target(target: Target) -> Emotion | list[Emotion]:
    return target if isinstance(target, Emotion) else list(target)


def _bar_progress(events) -> Generator[Progress, None, Song | None]:
    """Each BarEvent as a Progress carrying the song so far; returns the last song (None if none)."""
    song = None
    for event in events:
        song = event.song
        yield Progress("bars", done=event.index + 1, total=event.total, song=song)
    return song
