"""A file input that sends a small file to the server: used to load a saved scenario file.

Solara's own FileDrop takes dropped files only, which a keyboard cannot do; this is a plain
labelled ``<input type="file">``, on which a file can also be dropped.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import ipyvue
import traitlets


class FileUpload(ipyvue.VueTemplate):
    """``upload`` becomes ``{"name", "data" (base64), "count"}`` each time a file is chosen; only the
    first ``limit`` + 1 bytes are sent, so that a larger file can be refused as too large."""

    template_file = str(Path(__file__).with_name("upload.vue"))
    label = traitlets.Unicode("Choose a file").tag(sync=True)
    limit = traitlets.Int(1_000_000).tag(sync=True)
    count = traitlets.Int(0).tag(sync=True)
    upload = traitlets.Dict({}).tag(sync=True)


def uploaded(upload: dict, limit: int) -> tuple[str, bytes]:
    """The file's name and bytes (at most ``limit`` + 1 of them, as the page sends) from an ``upload``
    value; ValueError if it is not one. A larger message (crafted: the page sends no more) is refused
    before it is decoded."""
    try:
        data = upload["data"]
        if not isinstance(data, str) or len(data) > 4 * (limit + 1) // 3 + 4:
            raise ValueError("the upload was larger than the page sends")
        return str(upload["name"])[:200], base64.b64decode(data, validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise ValueError("the upload was not a file") from None
