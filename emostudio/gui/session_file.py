"""A session saved as one file (File ▸ Save session): ``NAME.emostudio``, a zip holding
``session.json`` and the MIDI of the input, the donor and every finished take, so that the file
alone brings the work back (the input's and donor's own files may have moved since).

``session.json`` names the pieces' original paths, the takes in order (the entries crash
recovery keeps too: :func:`take_entry`, :func:`take_from`), which take was current, the pad's
target and its drawn curve. The MIDI files are written by the exporter's writer, so pedal, key
signatures and texts are kept. No code runs from the file: JSON and MIDI only.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from emostudio.atomic import atomic_path
from emostudio.emotion import Emotion
from emostudio.gui.document import Curve, Take
from emostudio.midi import MidiReadError, Song
from emostudio.midi.io import song_from_bytes, song_to_bytes

SUFFIX = ".emostudio"
FORMAT = "emostudio-session"
FORMAT_VERSION = 1
INDEX = "session.json"


class SessionFileError(Exception):
    """A file that cannot be opened as a session (one line, naming the file)."""


@dataclass
class SessionContents:
    """What a session file holds: the document's pieces, takes and target."""

    input_song: Song | None = None
    input_path: Path | None = None  # where the input came from (it may be gone)
    donor_song: Song | None = None
    donor_path: Path | None = None
    takes: list[Take] = field(default_factory=list)
    current: int | None = None  # index into takes
    target: Emotion = field(default_factory=lambda: Emotion(0.5, 0.5))
    curve: Curve | None = None
    unreadable: list[str] = field(default_factory=list)  # takes whose music could not be read


def take_entry(take: Take) -> dict:
    """A finished take as JSON (its music is stored beside it as ``take-N.mid``)."""
    target = take.target
    return {
        "number": take.number,
        "file": f"take-{take.number}.mid",
        "name": take.name,
        "kind": take.kind,
        "target": (
            [target.valence, target.arousal]
            if isinstance(target, Emotion)
            else [[e.valence, e.arousal] for e in target]
        ),
        "new_bars": list(take.new_bars) if take.new_bars is not None else None,
        "exported_to": [str(p) for p in take.exported_to],
        "details": take.details,
    }


def take_from(entry: dict, song: Song) -> Take:
    """The take of :func:`take_entry`'s ``entry`` with its music ``song``; KeyError, TypeError or
    ValueError for an entry that is not one."""
    raw = entry["target"]
    target: Emotion | list[Emotion] = (
        [Emotion(float(v), float(a)) for v, a in raw]
        if raw and isinstance(raw[0], list)
        else Emotion(float(raw[0]), float(raw[1]))
    )
    new_bars = entry.get("new_bars")
    return Take(
        number=int(entry["number"]),
        name=str(entry["name"]),
        kind=str(entry["kind"]),
        target=target,
        song=song,
        complete=True,
        new_bars=(int(new_bars[0]), int(new_bars[1])) if new_bars else None,
        exported_to=[Path(p) for p in entry.get("exported_to", [])],
        details=str(entry.get("details", "")),
    )


def write_session_file(path: Path, contents: SessionContents) -> Path:
    """Write ``contents`` to ``path`` (replaced whole or not at all); -> ``path``."""
    for _ in writing_session_file(path, contents):
        pass
    return path


def writing_session_file(path: Path, contents: SessionContents) -> Iterator[tuple[int, int]]:
    """:func:`write_session_file` one piece at a time: yields (pieces written, pieces) before
    each (a 1,500-note piece takes ~0.1 s); closed early, the file at ``path`` stays as it was."""
    index = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "input": _piece_entry("input", contents.input_song, contents.input_path),
        "donor": _piece_entry("donor", contents.donor_song, contents.donor_path),
        "takes": [take_entry(t) for t in contents.takes],
        "current": (
            contents.takes[contents.current].number if contents.current is not None else None
        ),  # a take's number
        "target": [contents.target.valence, contents.target.arousal],
        "curve": [list(p) for p in contents.curve] if contents.curve else None,
    }
    pieces = [
        (f"{role}.mid", song)
        for role, song in (("input", contents.input_song), ("donor", contents.donor_song))
        if song is not None
    ]
    for take in contents.takes:
        assert take.song is not None  # finished takes only
        pieces.append((f"take-{take.number}.mid", take.song))
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(INDEX, json.dumps(index, indent=1))
        for done, (member, song) in enumerate(pieces):
            yield done, len(pieces)
            archive.writestr(member, song_to_bytes(song))


def _piece_entry(role: str, song: Song | None, path: Path | None) -> dict | None:
    if song is None:
        return None
    return {"file": f"{role}.mid", "name": song.name, "path": str(path) if path else None}


def read_session_file(path: Path) -> SessionContents:
    """The session in ``path``; SessionFileError says why a file is not one (or why its input's or
    donor's music cannot be read). A take whose music cannot be read is left out and named in
    ``unreadable``."""
    name = Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                index = json.loads(archive.read(INDEX))
            except KeyError:
                raise SessionFileError(f"{name}: not an emostudio session (no {INDEX})") from None
            if not isinstance(index, dict) or index.get("format") != FORMAT:
                raise SessionFileError(f"{name}: not an emostudio session")
            version = index.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise SessionFileError(
                    f"{name}: saved by a newer emostudio (session format {version}); "
                    "update emostudio to open it"
                )
            return _contents(archive, index, name)
    except zipfile.BadZipFile:
        raise SessionFileError(f"{name}: not an emostudio session (not a zip archive)") from None
    except OSError as exc:
        raise SessionFileError(f"{name}: cannot read ({exc.strerror or exc})") from None
    except MidiReadError as exc:  # the input's or the donor's music ("work.emostudio:input.mid: …")
        raise SessionFileError(str(exc)) from None
    except (ValueError, KeyError, TypeError) as exc:  # a damaged index
        raise SessionFileError(f"{name}: the session's index is damaged ({exc})") from None


def _contents(archive: zipfile.ZipFile, index: dict, name: str) -> SessionContents:
    def song(file: str, label: str) -> Song:
        try:
            return song_from_bytes(archive.read(file), source=f"{name}:{file}", name=label)
        except KeyError:
            raise MidiReadError(f"{name}:{file}", "missing from the session") from None

    contents = SessionContents()
    for role in ("input", "donor"):
        entry = index.get(role)
        if entry:
            piece = song(str(entry["file"]), str(entry.get("name") or role))
            path = Path(entry["path"]) if entry.get("path") else None
            setattr(contents, f"{role}_song", piece)
            setattr(contents, f"{role}_path", path)
    for entry in index.get("takes") or []:
        try:
            music = song(str(entry["file"]), str(entry["name"]))
            take = take_from(entry, music)
        except (MidiReadError, KeyError, TypeError, ValueError):
            contents.unreadable.append(str(entry.get("name", "?")))
            continue
        if entry.get("number") == index.get("current"):
            contents.current = len(contents.takes)
        contents.takes.append(take)
    valence, arousal = index.get("target") or (0.5, 0.5)
    contents.target = Emotion(float(valence), float(arousal))
    curve = index.get("curve")
    contents.curve = [(float(v), float(a)) for v, a in curve] if curve else None
    return contents
