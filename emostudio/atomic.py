"""Writing a file so that no reader ever sees it half-written: the one place that does it.

:func:`atomic_path` gives a temporary file beside the target (same folder, so the final rename
stays on one file system) and renames it over the target when the ``with`` block ends without an
error; on an error the temporary file is removed and the target is untouched.
:func:`atomic_write` does the same for bytes or text in hand. Temporary files are named
``.<target name>.tmp-<random><target suffix>`` (the suffix kept for writers such as ``np.savez``
that add their own), so a folder's leftovers from a killed process can be found by that pattern.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries to disk (best effort: not every system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path``.

    ``durable``: also flush the file and the folder to disk (for what a crash must not lose)."""
    target = Path(path)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.tmp-", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes it private; the target is not
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        if durable:
            fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(
    path: str | os.PathLike, data: bytes | str, durable: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` (text is encoded with ``encoding``) to ``path`` atomically; returns the path."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return Path(path)
