"""Uploads kept between the two steps of an import that needs a column mapping.

The upload's bytes stay on the server, under ``<instance>/pending-uploads/<sha256>`` (or the folder in
``RELIEF_PENDING_UPLOADS``), while a person maps its columns; the mapping form carries only the digest.
Why not send the file back with the form: a browser cannot refill a file input, and a hidden base64 copy
would make a big export travel twice and be trusted from the client.  Safety: the digest is checked
against ``[0-9a-f]{64}`` before it names a file (never a path from the client), the bytes are checked
against their digest when read back, a file above ``RELIEF_PENDING_UPLOAD_MAX_BYTES`` is not kept, and
files older than :data:`KEEP_SECONDS` are deleted whenever a new one is kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from flask import current_app

#: Largest upload kept for the mapping step (bytes), unless the app configures another.
MAX_BYTES = 64 * 1024 * 1024
#: How long a kept upload waits for its mapping (seconds).
KEEP_SECONDS = 24 * 3600
DIGEST = re.compile(r"[0-9a-f]{64}")


class PendingUploadError(ValueError):
    """An upload that cannot be kept for the mapping step (bilingual message)."""


def _folder() -> Path:
    folder = Path(current_app.config.get("RELIEF_PENDING_UPLOADS")
                  or Path(current_app.instance_path) / "pending-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        if DIGEST.fullmatch(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def keep(data: bytes) -> str:
    """Keep ``data`` for the mapping step; returns its sha256 (hex), the only name the form carries."""
    limit = int(current_app.config.get("RELIEF_PENDING_UPLOAD_MAX_BYTES", MAX_BYTES))
    if len(data) > limit:
        raise PendingUploadError(f"文件超过 {limit // (1024 * 1024)} MB，无法在网页上映射列；请用 relief import --mapping / "
                                 f"the file is over {limit // (1024 * 1024)} MB, too big to map on the page; use "
                                 f"relief import --mapping")
    folder = _folder()
    _prune(folder)
    digest = hashlib.sha256(data).hexdigest()
    partial = folder / f"{digest}.part-{os.getpid()}"
    partial.write_bytes(data)
    partial.replace(folder / digest)
    return digest


def load(digest: str) -> bytes | None:
    """The kept bytes of ``digest``; None when the name is not a digest, the file is gone or altered."""
    if not DIGEST.fullmatch(digest or ""):
        return None
    path = _folder() / digest
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data if hashlib.sha256(data).hexdigest() == digest else None


def discard(digest: str) -> None:
    if DIGEST.fullmatch(digest or ""):
        (_folder() / digest).unlink(missing_ok=True)
