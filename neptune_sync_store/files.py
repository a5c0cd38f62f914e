"""How the store names and labels file content it serves (downloads and inline previews).

Content is user data: it is served with ``X-Content-Type-Options: nosniff`` and a
``Content-Security-Policy: sandbox`` so that HTML (or SVG) opened from the store runs in an
opaque origin without scripts and can never read the app's session. Only an inline request gets
a type guessed from the file name; a download is always ``application/octet-stream``.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import quote

OCTET = "application/octet-stream"
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def file_name(path: str, ref: dict[str, Any]) -> str:
    """The uploaded name, else the field's last path segment plus the extension."""
    if ref.get("name"):
        return str(ref["name"])
    base = path.rsplit("/", 1)[-1]
    return f"{base}.{ref['extension']}" if ref.get("extension") else base


def content_type(name: str) -> str:
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:  # e.g. .tar.gz: the bytes are not the guessed type
        return OCTET
    return guessed


def content_headers(name: str, inline: bool) -> dict[str, str]:
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Type": content_type(name) if inline else OCTET,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        **SAFE_HEADERS,
    }
