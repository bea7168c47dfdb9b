"""Uploads kept between the two steps of an import that needs a column mapping.

The upload's bytes stay on the server, under ``<instance>/pending-uploads/<sha256>`` (or the folder in
``RELIEF_PENDING_UPLOADS``), while a person maps its columns; the mapping form carries only the digest.
Why not send the file back with the form: a browser cannot refill a file input, and a hidden base64 copy
would make a big export travel twice and be trusted from the client.  Safety: the digest is checked
against ``[0-9a-f]{64}`` before it names a file (never a path from the client), the bytes are checked
against their digest when read back, a file above ``RELIEF_PENDING_UPLOAD_MAX_BYTES`` is not kept, and
files older than :data:`KEEP_SECONDS` are deleted whenever a new one is kept.

Bounded uploads: ``MAX_CONTENT_LENGTH`` (``RELIEF_MAX_UPLOAD_MB``, default 100) is checked against the
``Content-Length`` header by the app's first ``before_request`` hook (:func:`init_app`), so an over-limit
body is answered 413 — problem details for the API, the error page for a browser — before anything reads
it, signed in or not; a chunked body without a length is cut off at the limit while Werkzeug streams it.
Waitress buffers a whole body before calling the app, so ``relief serve`` gives it a hard cap of
:func:`server_body_limit` (twice the limit): a bigger body is refused by the server before it is read,
one in between is spooled to disk (never memory) and answered 413 by the app.  A file part of the form is
spooled to disk by Werkzeug; :func:`saved` copies it to a named temporary file in 1 MB pieces and the
import reads that path (:func:`claims.lifecycle.mapping_profiles.import_mapped`), never ``upload.read()``.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

#: Largest upload kept for the mapping step (bytes), unless the app configures another.
MAX_BYTES = 64 * 1024 * 1024
#: How long a kept upload waits for its mapping (seconds).
KEEP_SECONDS = 24 * 3600
DIGEST = re.compile(r"[0-9a-f]{64}")


class PendingUploadError(ValueError):
    """An upload that cannot be kept for the mapping step (bilingual message)."""


#: Pieces in which uploads are copied and hashed (bytes).
PIECE = 1 << 20


def too_large_message(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return (f"请求超过上传上限 {mb:,.0f} MB，未读取；请拆分文件或请管理员调整 RELIEF_MAX_UPLOAD_MB / the request is over "
            f"the upload limit of {mb:,.0f} MB and was not read; split the file or ask the administrator to raise "
            f"RELIEF_MAX_UPLOAD_MB")


def refuse_oversized() -> None:
    """The first ``before_request`` hook: a declared body over ``MAX_CONTENT_LENGTH`` → 413, unread."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(too_large_message(limit))


def init_app(app: Flask) -> None:
    """Install :func:`refuse_oversized` ahead of every other ``before_request`` hook (login, CSRF)."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized)


def server_body_limit(config: Any) -> int:
    """The server's hard cap on a request body (waitress ``max_request_body_size``): twice the app's limit,
    so that a body a little over the limit still gets the app's readable 413 and a huge one is never read."""
    limit = config.get("MAX_CONTENT_LENGTH")
    return 2 * int(limit) if limit else 1 << 30


@contextmanager
def saved(upload: FileStorage) -> Iterator[Path]:
    """The uploaded file as a named temporary file (copied from Werkzeug's spooled stream in 1 MB pieces),
    deleted afterwards."""
    handle, name = tempfile.mkstemp(prefix="relief-upload-", dir=_folder())
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(upload.stream, out, PIECE)
        yield path
    finally:
        path.unlink(missing_ok=True)


def hand_to_job(path: Path) -> Path:
    """A file :func:`saved` holds, renamed out of its reach for a background import (the job deletes it once
    read; one whose job never ran is pruned with the other leftovers after :data:`KEEP_SECONDS`)."""
    held = path.with_name(f"relief-upload-job-{secrets.token_hex(8)}")
    path.replace(held)
    return held


def _folder() -> Path:
    folder = Path(current_app.config.get("RELIEF_PENDING_UPLOADS")
                  or Path(current_app.instance_path) / "pending-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():  # kept uploads, and copies a killed process left behind
        if (DIGEST.fullmatch(path.name) or path.name.startswith(("relief-upload-", "upload.part-"))) \
                and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def keep(source: bytes | Path) -> str:
    """Keep ``source`` (bytes, or a file copied in 1 MB pieces) for the mapping step; returns its sha256 (hex),
    the only name the form carries."""
    limit = int(current_app.config.get("RELIEF_PENDING_UPLOAD_MAX_BYTES", MAX_BYTES))
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > limit:
        raise PendingUploadError(f"文件超过 {limit // (1024 * 1024)} MB，无法在网页上映射列；请用 relief import --mapping / "
                                 f"the file is over {limit // (1024 * 1024)} MB, too big to map on the page; use "
                                 f"relief import --mapping")
    folder = _folder()
    _prune(folder)
    partial = folder / f"upload.part-{os.getpid()}-{time.monotonic_ns()}"
    sha = hashlib.sha256()
    with open(partial, "wb") as out:
        if isinstance(source, bytes):
            sha.update(source)
            out.write(source)
        else:
            with open(source, "rb") as inp:
                while piece := inp.read(PIECE):
                    sha.update(piece)
                    out.write(piece)
    digest = sha.hexdigest()
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
