"""Where the player's messages go: the :class:`Sink` protocol, MIDI output ports, a recorder.

FluidSynth (live audio) is the third sink, in :mod:`emostudio.playback.fluid`. Opening a sink is
the only thing that touches a device; importing this module opens nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import mido

from emostudio.playback.alsa import log_alsa_messages
from emostudio.playback.events import panic_messages

log = logging.getLogger(__name__)


class PlaybackError(RuntimeError):
    """Playback cannot happen (no sound output, no such MIDI port, ...); ``str()`` is one line."""


@runtime_checkable
class Sink(Protocol):
    """A destination for MIDI messages. Called from the player's thread, one call at a time."""

    def send(self, message: mido.Message) -> None: ...

    def panic(self) -> None:
        """Silence everything now (all notes off and sustain up on every channel)."""

    def close(self) -> None: ...


# ---- MIDI output ports ------------------------------------------------------------------------


@dataclass(frozen=True)
class PortListing:
    """The MIDI output ports found, or why none could be listed (``error`` is one line or None)."""

    names: tuple[str, ...]
    error: str | None = None

    @property
    def message(self) -> str:
        """What to tell the user: ports found, or "no MIDI ports: <reason>"."""
        if self.names:
            return f"{len(self.names)} MIDI output port(s)"
        return f"no MIDI ports: {self.error or 'none found'}"


def list_output_ports() -> PortListing:
    """The MIDI output ports of the mido backend (python-rtmidi unless ``$MIDO_BACKEND`` says other).

    Never raises: with no ALSA sequencer (a machine without sound hardware) rtmidi raises
    ``rtmidi.SystemError``; that, or a missing backend, comes back as ``error``."""
    try:
        names = mido.get_output_names()
    except Exception as exc:  # rtmidi.SystemError (an OSError), ImportError of the backend, ...
        reason = _first_line(str(exc)) or type(exc).__name__
        log.info("cannot list MIDI output ports: %s", reason)
        return PortListing((), reason)
    finally:
        log_alsa_messages()
    return PortListing(tuple(str(name) for name in names), None)


class MidiPortSink:
    """Sends to a MIDI output port, opened by name through mido (python-rtmidi), or to a given
    already-open mido output port (``port=``; a ``mido.ports.BaseOutput`` subclass in tests)."""

    def __init__(self, port_name: str | None = None, *, port: mido.ports.BaseOutput | None = None):
        if port is None:
            if not port_name:
                raise PlaybackError("no MIDI output port chosen")
            try:
                port = mido.open_output(port_name)
            except Exception as exc:
                reason = _first_line(str(exc)) or type(exc).__name__
                raise PlaybackError(f"cannot open MIDI port {port_name!r}: {reason}") from exc
            finally:
                log_alsa_messages()
        self._port = port
        self.name = port_name or getattr(port, "name", None) or "MIDI port"

    def send(self, message: mido.Message) -> None:
        self._port.send(message)

    def panic(self) -> None:
        for message in panic_messages():
            self._port.send(message)

    def close(self) -> None:
        if not self._port.closed:
            self._port.close()


# ---- a recorder for tests and benchmarks --------------------------------------------------------


class RecordingSink:
    """Keeps every message with the clock time it arrived: ``messages`` is a list of
    ``(seconds, message)``, ``panics`` the times :meth:`panic` was called."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self.messages: list[tuple[float, mido.Message]] = []
        self.panics: list[float] = []
        self.closed = False

    def send(self, message: mido.Message) -> None:
        with self._changed:
            self.messages.append((self._clock(), message))
            self._changed.notify_all()

    def panic(self) -> None:
        with self._changed:
            self.panics.append(self._clock())
            self._changed.notify_all()

    def close(self) -> None:
        self.closed = True

    def notes_on(self) -> list[tuple[float, mido.Message]]:
        with self._changed:
            return [(t, m) for t, m in self.messages if m.type == "note_on" and m.velocity > 0]

    def wait_for(self, predicate: Callable[[RecordingSink], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` is true (checked on every message); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
