"""libasound's error messages routed to the log instead of the terminal.

Without a sound card (or without the ALSA sequencer), listing MIDI ports or starting an audio
driver makes libasound write a screenful to stderr. :func:`route_alsa_errors_to_log` installs an
error handler that only queues each message; :func:`log_alsa_messages` logs the queue at debug
level, and is called after each call into ALSA has returned. The handler must not do more than
queue: anything that writes from inside it (a log record, even a bare ``os.write`` to stderr)
crashed the process when python-rtmidi's ALSA client failed to open (``emostudio -v app`` on a
machine without a sequencer: a segmentation fault in ``rtmidi.MidiOut``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections import deque

log = logging.getLogger(__name__)

# void (*)(const char *file, int line, const char *function, int err, const char *fmt, ...);
# the variadic arguments are not read: the format names the problem
_HANDLER_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_handler = None  # kept alive for as long as ALSA may call it
_messages: deque[tuple[bytes, int, bytes, bytes]] = deque(maxlen=200)


def route_alsa_errors_to_log() -> bool:
    """Queue libasound's messages for the log (process-wide, once); False when there is no
    libasound (not Linux) or it cannot be hooked."""
    global _handler
    if _handler is not None:
        return True
    name = ctypes.util.find_library("asound")
    if name is None:
        return False
    try:
        lib = ctypes.CDLL(name)

        def handler(file, line, function, err, fmt):  # queue only: see the module docstring
            _messages.append((file or b"", line, function or b"", fmt or b""))

        _handler = _HANDLER_TYPE(handler)
        lib.snd_lib_error_set_handler(_handler)
    except (OSError, AttributeError):
        return False
    return True


def log_alsa_messages() -> int:
    """Log (debug) what libasound said since the last call; -> how many messages."""
    count = 0
    while _messages:
        file, line, function, fmt = _messages.popleft()
        log.debug(
            "ALSA %s:%d (%s): %s",
            file.decode(errors="replace"),
            line,
            function.decode(errors="replace"),
            fmt.decode(errors="replace"),
        )
        count += 1
    return count
