"""Writing files so that a failed write never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import (setting it is the only way to read it)


def write_atomically(path: Path, write: Callable[[str], None], private: bool = False, durable: bool = False) -> None:
    """Call ``write(temporary_path)`` on a file beside ``path``, then move it into place; ``private``
    keeps it readable by its owner only (a file holding secrets); ``durable`` flushes it to the disk
    before it replaces the old one (it survives a power cut, not only a killed process).

    An error while writing (OSError, or any other) leaves ``path`` as it was and removes the
    temporary file.
    """
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    if not private:  # mkstemp makes it owner-only; results are shared as other files are
        os.fchmod(handle, 0o666 & ~UMASK)
    os.close(handle)
    try:
        write(temporary)
        if durable:
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
